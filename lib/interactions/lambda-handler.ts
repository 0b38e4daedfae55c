/**
 * The Interactions function as Lambda runs it (lambda/interactions is a thin file over this):
 * settings from the environment the stack sets, the guild settings table and the status facts
 * over the minimal JSON client, Lambda's credentials read per call.
 */
import { publicKeyFromHex } from '../contracts/envelope';
import { InteractionsEnv } from '../contracts/env';
import { awsJsonClient, credentialsFromEnv, Services } from './aws-json';
import { awsFactsReader } from './aws-status';
import { GuildSettingsStore } from './guild-settings';
import { createInteractionsHandler, type InteractionRequest, type InteractionResponse } from './handler';

export function createLambdaHandler(env: NodeJS.ProcessEnv): (request: InteractionRequest) => Promise<InteractionResponse> {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const region = need('AWS_REGION');
  const credentials = () => credentialsFromEnv(env);
  const client = (service: (typeof Services)[keyof typeof Services]) => awsJsonClient(service, region, credentials);
  return createInteractionsHandler({
    publicKey: publicKeyFromHex(need(InteractionsEnv.PublicKey)),
    allowedGuildIds: new Set(need(InteractionsEnv.AllowedGuildIds).split(',')),
    settings: new GuildSettingsStore(client(Services.DynamoDB), need(InteractionsEnv.SettingsTable)),
    facts: awsFactsReader({
      sqs: client(Services.Sqs), cloudWatch: client(Services.CloudWatch), heartbeatTable: need(InteractionsEnv.HeartbeatTable),
      laneQueueUrl: env[InteractionsEnv.LaneQueueUrl], deadLetterQueueUrl: env[InteractionsEnv.DeadLetterQueueUrl], deliveryStateMachineArn: env[InteractionsEnv.DeliveryStateMachineArn],
    }),
    now: Date.now,
  });
}
