/**
 * State names of the relay state machine: what the console shows, what the construct creates, and
 * what local runs and tests address states by. Here, not in the construct, so local mode and the
 * tests need not load aws-cdk-lib to name a state.
 */
export const StateName = {
  Verify: 'Verify',
  Route: 'Route',
  Ignored: 'Ignored',
  Delivered: 'Delivered',
  DescribeDeliveryFailure: 'Describe delivery failure',
  format: (event: string) => `Format ${event}`,
  post: (channel: string) => `Post to ${channel}`,
} as const;

