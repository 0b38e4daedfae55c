/**
 * An HTTP API → Step Functions integration whose invoke role only this API can assume.
 * aws-cdk-lib's `HttpStepFunctionsIntegration` builds the same integration, but its role trusts
 * `apigateway.amazonaws.com` with no condition (any API Gateway API could be configured to use
 * it: the confused-deputy problem) and cannot be given another role.
 */
import { Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

export interface ConfinedStepFunctionsIntegrationProps {
  readonly stateMachine: sfn.IStateMachine;
  /** `STEPFUNCTIONS_START_EXECUTION` or `STEPFUNCTIONS_START_SYNC_EXECUTION`. */
  readonly subtype: apigwv2.HttpIntegrationSubtype;
  readonly parameterMapping: apigwv2.ParameterMapping;
}

export class ConfinedStepFunctionsIntegration extends apigwv2.HttpRouteIntegration {
  constructor(id: string, private readonly props: ConfinedStepFunctionsIntegrationProps) {
    super(id);
  }

  public bind(options: apigwv2.HttpRouteIntegrationBindOptions): apigwv2.HttpRouteIntegrationConfig {
    const stack = Stack.of(options.scope);
    const role = new iam.Role(options.scope, 'InvokeRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'execute-api', resource: options.route.httpApi.apiId, resourceName: '*' }) },
        },
      }),
    });
    if (this.props.subtype === apigwv2.HttpIntegrationSubtype.STEPFUNCTIONS_START_SYNC_EXECUTION) this.props.stateMachine.grantStartSyncExecution(role);
    else this.props.stateMachine.grantStartExecution(role);
    return {
      type: apigwv2.HttpIntegrationType.AWS_PROXY,
      subtype: this.props.subtype,
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_1_0,
      credentials: apigwv2.IntegrationCredentials.fromRole(role),
      connectionType: apigwv2.HttpConnectionType.INTERNET,
      parameterMapping: this.props.parameterMapping,
    };
  }
}
