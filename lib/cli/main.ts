/** `relay`: the dispatcher. One module per command; this file only routes and maps errors to exit codes. */
import { KeyFileError } from '../client/keys';
import { RelayClientError } from '../client/relay-client';
import { version } from '../../package.json';
import { closest } from './args';
import { ConfigError, ExitCode, RejectedError, UnavailableError, UsageError } from './errors';
import { COMMANDS, HELP, commandHelp, type CommandName } from './help';

type Command = (argv: string[], out: (line: string) => void) => number | Promise<number>;

// Loaded on demand, so `relay send` does not load the CDK app or the gateway client.
const COMMAND_MODULES: Record<CommandName, () => Promise<Command>> = {
  local: async () => (await import('./local')).local,
  forward: async () => (await import('./forward')).forward,
  keygen: async () => (await import('./keygen')).keygen,
  send: async () => (await import('./send')).send,
  doctor: async () => (await import('./doctor')).doctor,
  commands: async () => (await import('./commands')).commands,
  interact: async () => (await import('./interact')).interact,
};

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h' || arg === 'help';

function exitCodeFor(error: unknown, err: (line: string) => void): number {
  const e = error as Error & { code?: string };
  if (error instanceof UsageError) {
    err(`relay: ${e.message}\nRun \`relay ${error.command ? `${error.command} ` : ''}--help\` for usage.`);
    return ExitCode.Usage;
  }
  if (error instanceof ConfigError || error instanceof KeyFileError) {
    err(`relay: ${e.message}`);
    return ExitCode.Config;
  }
  if (error instanceof UnavailableError) {
    err(`relay: ${e.message}`);
    return ExitCode.Unavailable;
  }
  if (error instanceof RejectedError) {
    err(`relay: ${e.message}`);
    return ExitCode.Rejected;
  }
  if (error instanceof RelayClientError) {
    err(`relay: ${e.message}`);
    const codes = { invalid: ExitCode.Config, forbidden: ExitCode.Forbidden, rejected: ExitCode.Rejected, unavailable: ExitCode.Unavailable };
    return codes[error.kind];
  }
  if (e.name === 'CredentialsProviderError') {
    err(`relay: no AWS credentials found (${e.message}). Configure them (aws configure, AWS_PROFILE, or environment variables).`);
    return ExitCode.Config;
  }
  err(`relay: unexpected error: ${e.stack ?? e.message}`);
  return ExitCode.Unexpected;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || isHelp(command)) {
      const topic = rest[0];
      if (command === 'help' && topic !== undefined && (COMMANDS as string[]).includes(topic)) out(commandHelp(topic as CommandName));
      else out(HELP);
      return command === undefined ? ExitCode.Usage : ExitCode.Ok;
    }
    if (command === '--version' || command === '-v' || command === 'version') {
      out(version);
      return ExitCode.Ok;
    }
    if (!(COMMANDS as string[]).includes(command)) {
      const guess = closest(command.replace(/^-+/, ''), [...COMMANDS, 'help', 'version']);
      const suggestion = guess && (command.startsWith('-') && (guess === 'help' || guess === 'version') ? `--${guess}` : guess);
      throw new UsageError(`unknown command "${command}"${suggestion ? `: did you mean "${suggestion}"?` : '.'} Commands: ${COMMANDS.join(', ')}.`);
    }
    if (rest.some((a) => a === '--help' || a === '-h')) {
      out(commandHelp(command as CommandName));
      return ExitCode.Ok;
    }
    const run = await COMMAND_MODULES[command as CommandName]();
    return await run(rest, out);
  } catch (error) {
    return exitCodeFor(error, err);
  }
}
