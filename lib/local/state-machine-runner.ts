/**
 * Runs a synthesized state machine definition in-process with aws-local-stepfunctions. Every Task
 * state is served by the local stand-in of the service its `Resource` names — a Lambda step by
 * its handler (the real one), `apigateway:invoke` by a poster, DynamoDB and SQS tasks by the
 * local table and queues — found by walking the definition, Map item processors included.
 * Failures are raised the way the AWS services raise them, so the definition's own Retry and
 * Catch decide what happens:
 * - a handler error becomes the error named by its `name` (Lambda's `errorType`), with Lambda's
 *   JSON cause;
 * - a non-2xx answer becomes `ApiGateway.<status>` with the response body as the cause;
 * - a DynamoDB or SQS refusal becomes `DynamoDB.<Exception>` / `SQS.<Exception>`.
 */
import { randomUUID } from 'node:crypto';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';

export interface PostRequest {
  /** Channel name, from the task's `/channels/<name>[/messages/<id>]` path. */
  readonly channel: string;
  readonly path: string;
  readonly method: string;
  readonly body: unknown;
}

export interface PostResponse {
  readonly status: number;
  readonly body: unknown;
  /** Response headers, as the task returns them: each name to its values. */
  readonly headers?: Record<string, string[]>;
}

/** A local AWS service: called with the task's action (`putItem`, `sendMessage`…) and its evaluated Parameters. */
export type LocalService = (action: string, parameters: Record<string, unknown>) => Promise<unknown>;

export interface LocalServices {
  /** Lambda steps' handlers, by state name. */
  readonly lambdas?: Readonly<Record<string, (input: any) => unknown>>;
  readonly post?: (request: PostRequest) => Promise<PostResponse> | PostResponse;
  readonly dynamodb?: LocalService;
  readonly sqs?: LocalService;
  /** Replaces every Retry pause (milliseconds). @default - the definition's own backoff */
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

type StateDefinition = { Type: string; Resource?: string; Retry?: unknown; ItemProcessor?: Definition; Iterator?: Definition; Branches?: Definition[] };
type Definition = { States: Record<string, StateDefinition> };

const API_GATEWAY_INVOKE = /:states:::apigateway:invoke(\.waitForTaskToken)?$/;
const LAMBDA = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:|:states:::lambda:invoke$/;
const DYNAMODB = /:states:::dynamodb:(getItem|putItem|updateItem|deleteItem)$/;
const SQS = /:states:::(?:aws-sdk:)?sqs:(sendMessage|sendMessageBatch)$/;

/*
 * aws-local-stepfunctions 3.0.0 deletes every backslash from an intrinsic function's string
 * result (`result.replaceAll("\\", "")`), values included, where Step Functions only unescapes the
 * format string's own literals. Escaped user text (`\*\*`) would lose its escapes, and the `\"`
 * that `States.JsonToString` writes for a quote (in a name, or in a template's literal text) would
 * leave broken JSON. So backslashes and double quotes cross into the emulator as private-use
 * characters and are restored on the way out; a text's own private-use characters of that range
 * are escaped first, so every string comes back exactly as it went in. A string that is JSON text
 * written as `JSON.stringify` writes it (an SQS body, an error cause) is shielded inside — its
 * decoded values — so `States.StringToJson` still reads it. Other text is shielded whole, JSON or
 * not (a name like `{"a": 1}` must survive `States.JsonToString`); the one thing that cannot run
 * locally is `States.StringToJson` over JSON text not written as `JSON.stringify` writes it, which
 * the relay never produces.
 */
const SHIELD = '\uE000';
const SHIELD_QUOTE = '\uE001';
/** Before U+E003-E005: the text's own U+E000-E002. */
const SHIELD_ESCAPE = '\uE002';
const escapeOwn = (s: string) => s.replace(/[\uE000-\uE002]/g, (c) => SHIELD_ESCAPE + String.fromCharCode(c.charCodeAt(0) + 3));
const restoreOwn = (s: string) => s.replace(/\uE002([\uE003-\uE005])/g, (_, c: string) => String.fromCharCode(c.charCodeAt(0) - 3));

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}

/**
 * Applies `f` to a plain string, or to every string inside a JSON object or array text written
 * as `JSON.stringify` writes it (what the workflows' own SQS bodies and causes are). Any other
 * text, JSON or not, is mapped as a whole: a signed payload (`{"a": 1}`, `\u00e9` escapes, a
 * lone surrogate) must come out byte for byte as it went in.
 */
function acrossJsonText(f: (s: string) => string): (s: string) => string {
  const g = (s: string): string => {
    if (s.startsWith('{') || s.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(s);
        if (JSON.stringify(parsed) === s) return JSON.stringify(mapStrings(parsed, g));
      } catch {
        // not JSON: plain text
      }
    }
    return f(s);
  };
  return g;
}
const shield = (value: unknown) => mapStrings(value, acrossJsonText((s) => escapeOwn(s).replaceAll('\\', SHIELD).replaceAll('"', SHIELD_QUOTE)));
/**
 * The engine cannot start on `null` ("Path expression '$' does not point to a value"); AWS can.
 * A string stands in for it, and becomes `null` again wherever it reaches a handler or the output whole.
 */
const NULL_STAND_IN = '\u0000null\u0000';
const unshield = (value: unknown) => (value === NULL_STAND_IN ? null : mapStrings(value, acrossJsonText((s) => restoreOwn(s.replaceAll(SHIELD, '\\').replaceAll(SHIELD_QUOTE, '"')))));

/**
 * The definition as the engine gets it: the double quotes (and own shield characters) inside the
 * string literals of intrinsic functions (`States.Format('Say "hi" {}', …)`) shielded like input,
 * so that `States.JsonToString` over their result writes no backslash for the engine to delete.
 */
function shieldIntrinsicLiterals(definition: unknown): unknown {
  const literals = (expression: string) => expression.replace(/'((?:[^'\\]|\\.)*)'/g, (_, text: string) => `'${escapeOwn(text).replaceAll('"', SHIELD_QUOTE)}'`);
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k.endsWith('.$') && typeof v === 'string' && v.startsWith('States.') ? literals(v) : walk(v)]));
  };
  return walk(definition);
}

/** Every Task state of a definition, nested ones (Map, Parallel) included: name → state. */
export function taskStates(definition: Definition): Map<string, StateDefinition> {
  const found = new Map<string, StateDefinition>();
  const walk = (d: Definition | undefined) => {
    for (const [name, state] of Object.entries(d?.States ?? {})) {
      if (state.Type === 'Task') found.set(name, state);
      walk(state.ItemProcessor ?? state.Iterator);
      for (const branch of state.Branches ?? []) walk(branch);
    }
  };
  walk(definition);
  return found;
}

function needs<T>(service: T | undefined, what: string, state: string): T {
  if (!service) throw new Error(`state "${state}" needs ${what}, which this local run was not given`);
  return service;
}

/** Definitions already validated in this process: validating one costs ~130 ms, and tests build many runners of one definition. */
const VALIDATED = new Set<string>();

export class LocalStateMachine {
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, (input: any) => Promise<unknown>> = {};
  private readonly retryOverrides: Record<string, number> = {};
  private readonly running = new Set<{ abort: () => void }>();
  /** Names of the `apigateway:invoke` tasks found in the definition. */
  public readonly postStates: readonly string[];

  constructor(definition: Record<string, unknown>, services: LocalServices) {
    const shielded = shieldIntrinsicLiterals(definition);
    const text = JSON.stringify(shielded);
    this.machine = new StateMachine(shielded as never, { validationOptions: VALIDATED.has(text) ? { noValidate: true } : { checkArn: false } });
    VALIDATED.add(text);
    const posts: string[] = [];
    for (const [name, state] of taskStates(definition as Definition)) {
      const resource = state.Resource ?? '';
      if (LAMBDA.test(resource)) this.handlers[name] = lambdaStep(needs(services.lambdas?.[name], `a Lambda handler`, name));
      else if (API_GATEWAY_INVOKE.test(resource)) {
        this.handlers[name] = postStep(needs(services.post, 'a poster', name));
        posts.push(name);
      } else if (DYNAMODB.test(resource)) this.handlers[name] = serviceStep(needs(services.dynamodb, 'DynamoDB', name), DYNAMODB.exec(resource)![1]);
      else if (SQS.test(resource)) this.handlers[name] = serviceStep(needs(services.sqs, 'SQS', name), SQS.exec(resource)![1]);
      else throw new Error(`state "${name}": no local stand-in for ${resource}`);
      if (state.Retry && services.retryPauseMs !== undefined) this.retryOverrides[name] = services.retryPauseMs;
    }
    this.postStates = posts;
  }

  async run(input: unknown): Promise<ExecutionOutcome> {
    try {
      return await this.execute(input);
    } catch (error) {
      // Recursion in the emulator (or here) on input nested thousands deep: a failed run, never a crash.
      if (error instanceof RangeError) return { status: 'FAILED', error: 'States.Runtime', cause: 'the input is nested too deeply for the local engine' };
      throw error;
    }
  }

  private async execute(input: unknown): Promise<ExecutionOutcome> {
    const oversized: { cause?: string } = {};
    // A task never runs on an input over the limit: the execution stops there, as AWS's would have.
    const guarded = Object.fromEntries(Object.entries(this.handlers).map(([name, handler]) => [name, (taskInput: unknown) => {
      const bytes = stateBytes(taskInput);
      if (bytes <= MAX_STATE_BYTES) return handler(taskInput);
      oversized.cause ??= `The input of task '${name}' exceeds the maximum number of bytes service limit (${bytes} bytes; ${MAX_STATE_BYTES} allowed): the state before it returned too much.`;
      execution.abort();
      // Rejected, not left pending: a pending task keeps the engine's task timer (and the process) alive.
      return Promise.reject(new TaskFailure('States.DataLimitExceeded', oversized.cause));
    }]));
    const execution = this.machine.run((input === null ? NULL_STAND_IN : shield(input)) as never, {
      overrides: { taskResourceLocalHandlers: guarded as never, retryIntervalOverrides: this.retryOverrides },
      // Step Functions gives every execution a unique id ($$.Execution.Id); the engine leaves it to us.
      context: executionContext() as never,
    });
    this.running.add(execution);
    watchStateSizes(execution, oversized);
    try {
      return { status: 'SUCCEEDED', output: unshield(await execution.result) };
    } catch (error) {
      if (oversized.cause) return { status: 'FAILED', error: 'States.DataLimitExceeded', cause: oversized.cause };
      if (this.aborted.has(execution)) return { status: 'FAILED', error: 'States.Aborted', cause: 'the local relay stopped while the execution ran' };
      if (error instanceof ExecutionError) {
        const cause = (error as Error & { cause?: Error }).cause;
        return { status: 'FAILED', error: cause?.name ?? 'States.Runtime', cause: unshield(cause?.message ?? error.message) as string };
      }
      throw error;
    } finally {
      this.running.delete(execution);
    }
  }

  /** Stops every running execution where it is, as a killed process would (nothing after it runs). */
  abortAll(): void {
    for (const execution of this.running) {
      this.aborted.add(execution);
      execution.abort();
    }
  }

  private readonly aborted = new WeakSet<object>();
}

/**
 * Step Functions' quota: "The maximum input or output size for a task, state, or execution is 256
 * KiB of data as a UTF-8 encoded string", past which the execution fails with
 * States.DataLimitExceeded (no Catch takes it). The engine has no such limit, so each task's input
 * is measured before it runs (a task never acts on an input over the limit), and each state's
 * output as the engine reports it, after the fact: an oversized state the execution leaves before
 * the report arrives, or one a later state trims before a task, may go unseen. Sizes are of the
 * JSON text as AWS would hold it (the shield undone).
 */
export const MAX_STATE_BYTES = 256 * 1024;

/**
 * A state's size as AWS counts it: its JSON text, UTF-8, with the shield's stand-ins undone. The
 * shielded text is at least three quarters of that (a stand-in is 3 bytes where the real text has
 * at most 4), so most states are measured without undoing the shield, a copy of every string.
 */
function stateBytes(value: unknown): number {
  const shielded = Buffer.byteLength(JSON.stringify(value ?? null) ?? 'null');
  if (shielded * 4 <= MAX_STATE_BYTES * 3) return shielded;
  return Buffer.byteLength(JSON.stringify(unshield(value ?? null)) ?? 'null');
}

/** Every state's output measured as the engine reports it (see MAX_STATE_BYTES for what that misses). */
function watchStateSizes(execution: { eventLogs: AsyncGenerator<{ type: string; state?: { name: string; output?: unknown } }>; abort: () => void }, found: { cause?: string }): void {
  void (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type !== 'StateExited' || !event.state) continue;
      const bytes = stateBytes(event.state.output);
      if (bytes <= MAX_STATE_BYTES) continue;
      found.cause ??= `The state/task '${event.state.name}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} bytes; ${MAX_STATE_BYTES} allowed).`;
      execution.abort();
      return;
    }
  })().catch(() => undefined);
}

/** What the engine leaves out of the context object: the execution's unique id and name. */
function executionContext(): { Execution: { Id: string; Name: string } } {
  const name = randomUUID();
  return { Execution: { Id: `arn:aws:states:local:000000000000:express:relay:${name}:${name}`, Name: name } };
}

function lambdaStep(handler: (input: unknown) => unknown): (input: unknown) => Promise<unknown> {
  return async (input) => {
    try {
      return shield(await handler(unshield(input)));
    } catch (error) {
      const e = error as Error;
      throw new TaskFailure(e.name, shield(JSON.stringify({ errorType: e.name, errorMessage: e.message })) as string);
    }
  };
}

function postStep(post: NonNullable<LocalServices['post']>): (input: { Path: string; Method: string; RequestBody?: unknown }) => Promise<unknown> {
  return async (input) => {
    const channel = /^\/channels\/([^/]+)(?:\/messages\/[^/]+)?$/.exec(input.Path)?.[1];
    if (!channel) throw new TaskFailure('ApiGateway.404', JSON.stringify({ message: 'Not Found' }));
    const response = await post({ channel, path: input.Path, method: input.Method, body: unshield(input.RequestBody) });
    if (response.status < 200 || response.status > 299) {
      const cause = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
      throw new TaskFailure(`ApiGateway.${response.status}`, shield(cause) as string);
    }
    return shield({ StatusCode: response.status, StatusText: String(response.status), Headers: response.headers ?? {}, ResponseBody: response.body });
  };
}

function serviceStep(service: LocalService, action: string): (input: Record<string, unknown>) => Promise<unknown> {
  return async (input) => shield(await service(action, unshield(input) as Record<string, unknown>));
}
