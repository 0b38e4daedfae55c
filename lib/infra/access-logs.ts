import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as logs from 'aws-cdk-lib/aws-logs';

/**
 * Access log settings shared by the relay's HTTP APIs: one JSON line per request with the caller
 * identity and outcome, and no request bodies or headers (they can carry user text).
 */
export function createAccessLogSettings(destination: logs.ILogGroup): apigwv2.IAccessLogSettings {
  return {
    destination: new apigwv2.LogGroupLogDestination(destination),
    format: AccessLogFormat.custom(
      JSON.stringify({
        requestId: '$context.requestId',
        time: '$context.requestTime',
        routeKey: '$context.routeKey',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
        integrationStatus: '$context.integrationStatus',
        integrationError: '$context.integration.error',
        callerArn: '$context.identity.userArn',
        sourceIp: '$context.identity.sourceIp',
        authError: '$context.authorizer.error',
      }),
    ),
  };
}
