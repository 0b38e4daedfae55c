/**
 * `/relay` registered by the deploy: a custom resource whose function overwrites the Discord
 * application's commands on create and update, and removes them on delete. The function may read
 * the bot token's secret and write its own log group, nothing else.
 */
import { createHash } from 'node:crypto';
import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { COMMAND_SCOPES, DEFAULT_COMMAND_SCOPE, relayCommandDefinitions, type CommandScope } from '../contracts/interactions';
import { SNOWFLAKE_PATTERN } from '../contracts/events';
import { RegisterProperty } from '../interactions/register-resource';
import { lambdaEntry } from '../project-files';
import { RelayFunction } from './relay-function';

export interface DiscordCommandsProps {
  /** The Discord application's id (a snowflake). */
  readonly applicationId: string;
  /** Holds the application's bot token as plain text. */
  readonly botTokenSecret: secretsmanager.ISecret;
  /** @default DEFAULT_COMMAND_SCOPE ('guild') */
  readonly scope?: CommandScope;
  /** Where the commands are registered (scope `guild`; at least one). */
  readonly guildIds: readonly string[];
  /** @default - RelayFunction's */
  readonly logRetention?: logs.RetentionDays;
}

/** A hash of the definitions: a change of them changes the resource's properties, so the deploy registers them again. */
export function commandsHash(): string {
  return createHash('sha256').update(JSON.stringify(relayCommandDefinitions())).digest('hex');
}

export class DiscordCommands extends Construct {
  public readonly function: RelayFunction;
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DiscordCommandsProps) {
    super(scope, id);
    const commandScope = props.scope ?? DEFAULT_COMMAND_SCOPE;
    this.node.addValidation({
      validate: () => {
        const problems: string[] = [];
        if (!SNOWFLAKE_PATTERN.test(props.applicationId)) problems.push(`applicationId "${props.applicationId}" is not an application id: copy "Application ID" from the Developer Portal (17-20 digits)`);
        if (!(COMMAND_SCOPES as readonly string[]).includes(commandScope)) problems.push(`scope "${commandScope}" is not one of ${COMMAND_SCOPES.join(', ')}`);
        if (commandScope === 'guild' && props.guildIds.length === 0) problems.push('scope "guild" needs at least one guild id in guildIds (or use scope "global")');
        const bad = props.guildIds.filter((g) => !SNOWFLAKE_PATTERN.test(g));
        if (bad.length) problems.push(`guildIds ${bad.map((g) => `"${g}"`).join(', ')} ${bad.length === 1 ? 'is not a guild id' : 'are not guild ids'} (17-20 digits)`);
        return problems;
      },
    });

    this.function = new RelayFunction(this, 'RegisterFunction', {
      entry: lambdaEntry('register-commands'),
      description: 'Registers the /relay commands with Discord on deploy, removes them on delete',
      // Several guilds, one after the other, each possibly waiting out a 429.
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
    });
    props.botTokenSecret.grantRead(this.function);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::DiscordCommands',
      properties: {
        [RegisterProperty.ApplicationId]: props.applicationId,
        [RegisterProperty.Scope]: commandScope,
        // Global commands do not depend on the guild list: changing it must not re-register them.
        [RegisterProperty.GuildIds]: commandScope === 'guild' ? [...props.guildIds] : [],
        // The full ARN when the secret is known by one (GetSecretValue takes a name or a full ARN, not a partial one).
        [RegisterProperty.SecretId]: props.botTokenSecret.secretFullArn ?? props.botTokenSecret.secretName,
        [RegisterProperty.CommandsHash]: commandsHash(),
      },
    });
  }
}
