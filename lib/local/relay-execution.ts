/**
 * Runs the relay's synthesized state machine definition in-process with aws-local-stepfunctions:
 * the Verify task runs a given handler (the real one, in tests and local mode), and every
 * `apigateway:invoke` task calls a given poster. Failures are raised the way the AWS services
 * raise them, so the definition's own Retry and Catch decide what happens:
 * - a handler error becomes the error named by its `name` (Lambda's `errorType`), with Lambda's
 *   JSON cause;
 * - a non-2xx answer becomes `ApiGateway.<status>` with the response body as the cause.
 */
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { StateName } from '../contracts/state-names';

export interface PostRequest {
  /** Channel name, from the task's `/channels/<name>` path. */
  readonly channel: string;
  readonly path: string;
  readonly method: string;
  readonly body: unknown;
}

export interface PostResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface LocalRelayOptions {
  readonly verify: (input: unknown) => Promise<unknown> | unknown;
  readonly post: (request: PostRequest) => Promise<PostResponse> | PostResponse;
  /** Replaces every Retry pause of the Post tasks (milliseconds). @default - the definition's own backoff */
  readonly retryPauseMs?: number;
}

export type ExecutionOutcome =
  | { readonly status: 'SUCCEEDED'; readonly output: unknown }
  | { readonly status: 'FAILED'; readonly error: string; readonly cause: string };

/** An error as a service integration raises it: `name` is the Step Functions error. */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

const API_GATEWAY_INVOKE = /:states:::apigateway:invoke(\.waitForTaskToken)?$/;

/*
 * aws-local-stepfunctions 3.0.0 deletes every backslash from an intrinsic function's result
 * (`result.replaceAll("\\", "")`), values included, where Step Functions only unescapes the
 * format string's own literals. Escaped user text (`\*\*`) would lose its escapes. So backslashes
 * cross into the emulator as a private-use character and are restored on the way out.
 */
const SHIELD = '\uE000';

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}
const shield = (value: unknown) => mapStrings(value, (s) => s.replaceAll('\\', SHIELD));
const unshield = (value: unknown) => mapStrings(value, (s) => s.replaceAll(SHIELD, '\\'));

export class LocalRelay {
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, (input: any) => Promise<any>>;
  private readonly retryOverrides: Record<string, number>;
  /** Names of the Post tasks found in the definition. */
  public readonly postStates: readonly string[];

  constructor(definition: Record<string, unknown>, options: LocalRelayOptions) {
    this.machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    const states = definition.States as Record<string, { Type: string; Resource?: string }>;
    if (!states[StateName.Verify]) throw new Error(`the definition has no "${StateName.Verify}" state`);
    this.postStates = Object.entries(states)
      .filter(([, s]) => s.Type === 'Task' && API_GATEWAY_INVOKE.test(s.Resource ?? ''))
      .map(([name]) => name);

    const verify = async (input: unknown) => {
      try {
        return shield(await options.verify(unshield(input)));
      } catch (error) {
        const e = error as Error;
        throw new TaskFailure(e.name, shield(JSON.stringify({ errorType: e.name, errorMessage: e.message })) as string);
      }
    };
    const post = async (input: { Path: string; Method: string; RequestBody?: unknown }) => {
      const channel = /^\/channels\/([^/]+)$/.exec(input.Path)?.[1];
      if (!channel) throw new TaskFailure('ApiGateway.404', JSON.stringify({ message: 'Not Found' }));
      const response = await options.post({ channel, path: input.Path, method: input.Method, body: unshield(input.RequestBody) });
      if (response.status < 200 || response.status > 299) {
        const cause = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
        throw new TaskFailure(`ApiGateway.${response.status}`, shield(cause) as string);
      }
      return shield({ StatusCode: response.status, StatusText: String(response.status), Headers: response.headers ?? {}, ResponseBody: response.body });
    };
    this.handlers = { [StateName.Verify]: verify, ...Object.fromEntries(this.postStates.map((name) => [name, post])) };
    this.retryOverrides = options.retryPauseMs === undefined ? {} : Object.fromEntries(this.postStates.map((n) => [n, options.retryPauseMs!]));
  }

  async run(input: unknown): Promise<ExecutionOutcome> {
    const execution = this.machine.run(shield(input) as never, {
      overrides: { taskResourceLocalHandlers: this.handlers, retryIntervalOverrides: this.retryOverrides },
    });
    try {
      return { status: 'SUCCEEDED', output: unshield(await execution.result) };
    } catch (error) {
      if (error instanceof ExecutionError) {
        const cause = (error as Error & { cause?: Error }).cause;
        return { status: 'FAILED', error: cause?.name ?? 'States.Runtime', cause: unshield(cause?.message ?? error.message) as string };
      }
      throw error;
    }
  }
}
