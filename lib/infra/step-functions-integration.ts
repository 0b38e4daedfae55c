/**
 * An HTTP API → Step Functions integration with a role of its own, allowed to start that one
 * state machine and nothing else. aws-cdk-lib's `HttpStepFunctionsIntegration` builds the same
 * integration but cannot be given a role, and shares nothing of how it is confined.
 *
 * The role trusts `apigateway.amazonaws.com` with no condition, on purpose: API Gateway does not
 * populate `aws:SourceAccount` when it assumes an integration's credentials role, and a trust
 * that requires it makes every request answer 500 (docs/architecture.md §4a, register row
 * "ingest trust"). What confines the role instead: it can only start its own state machine; an
 * API can use it only if whoever configures that API may `iam:PassRole` it; and a role cannot be
 * passed to an API of another account (SECURITY.md).
 */
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
    const sync = this.props.subtype === apigwv2.HttpIntegrationSubtype.STEPFUNCTIONS_START_SYNC_EXECUTION;
    const role = new iam.Role(options.scope, 'InvokeRole', {
      description: `Discord Event Relay: lets one ingest route ${sync ? 'run' : 'start'} the relay workflow, nothing else`,
      // No aws:SourceAccount / aws:SourceArn condition: API Gateway does not send them here (see above).
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    });
    if (sync) this.props.stateMachine.grantStartSyncExecution(role);
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
