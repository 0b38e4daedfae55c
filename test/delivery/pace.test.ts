/** The Pace step: Discord's retry_after and rate-limit headers, rounded up to whole seconds for Wait. */
import { MAX_WAIT_SECONDS, paceAfter } from '../../lib/delivery/pace';
import { handler } from '../../lambda/pace/index';

const rateLimited = (body: unknown) => ({ Error: 'ApiGateway.429', Cause: typeof body === 'string' ? body : JSON.stringify(body) });

it.each([
  [1.7, 2],
  [0.2, 1],
  [3, 3],
  [2.0001, 3],
])('429 with retry_after %p → waits %p s (never less than Discord asked)', (retryAfter, seconds) => {
  const decision = paceAfter(rateLimited({ message: 'You are being rate limited.', retry_after: retryAfter, global: false }));
  expect(decision.waitSeconds).toBe(seconds);
  expect(decision.waitSeconds).toBeGreaterThanOrEqual(retryAfter);
});

it('429 without a usable retry_after → 1 s', () => {
  expect(paceAfter(rateLimited('<html>cloudflare</html>')).waitSeconds).toBe(1);
  expect(paceAfter(rateLimited({ retry_after: -4 })).waitSeconds).toBe(1);
});

it('Slack\'s 429 (body rate_limited) waits its Retry-After header when the answer carries it, else 1 s', () => {
  expect(paceAfter({ ...rateLimited('rate_limited'), headers: { 'Retry-After': ['3'] } })).toMatchObject({ waitSeconds: 3, reason: '429: retry_after 3' });
  expect(paceAfter({ ...rateLimited('rate_limited'), headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' } }).waitSeconds).toBe(1);
  expect(paceAfter(rateLimited('rate_limited')).waitSeconds).toBe(1);
  // Discord's body wins over a header.
  expect(paceAfter({ ...rateLimited({ retry_after: 2.5 }), headers: { 'retry-after': ['9'] } }).waitSeconds).toBe(3);
});

it('a retry_after beyond what one execution can wait is capped', () => {
  expect(paceAfter(rateLimited({ retry_after: 3600 })).waitSeconds).toBe(MAX_WAIT_SECONDS);
});

it('success that emptied the bucket → waits X-RateLimit-Reset-After, whatever the header case', () => {
  expect(paceAfter({ status: 200, headers: { 'x-ratelimit-remaining': ['0'], 'x-ratelimit-reset-after': ['1.234'] } }).waitSeconds).toBe(2);
  expect(paceAfter({ status: 200, headers: { 'X-RateLimit-Remaining': ['0'], 'X-RateLimit-Reset-After': ['0.5'] } }).waitSeconds).toBe(1);
});

it('success with room left, or without headers → no wait', async () => {
  expect(paceAfter({ status: 200, headers: { 'x-ratelimit-remaining': ['3'], 'x-ratelimit-reset-after': ['1.9'] } }).waitSeconds).toBe(0);
  expect(paceAfter({ status: 204 }).waitSeconds).toBe(0);
  await expect(handler({ answer: { status: 200, headers: {} } })).resolves.toMatchObject({ waitSeconds: 0 });
});
