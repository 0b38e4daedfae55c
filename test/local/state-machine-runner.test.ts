/**
 * The local runner's shield around aws-local-stepfunctions, which deletes every backslash from an
 * intrinsic function's result: what Step Functions would produce must come out, for any text.
 */
import { LocalStateMachine } from '../../lib/local/state-machine-runner';

const machine = (states: Record<string, unknown>, lambdas: Record<string, (input: any) => unknown> = {}) => {
  const names = Object.keys(states);
  const chained = Object.fromEntries(names.map((name, i) => [name, { ...(states[name] as object), ...(i + 1 < names.length ? { Next: names[i + 1] } : { End: true }) }]));
  return new LocalStateMachine({ StartAt: names[0], States: chained }, { lambdas });
};

it('States.JsonToString over text with quotes and backslashes, from the input and from a template literal, is JSON that reads back as written', async () => {
  const run = await machine({
    Format: { Type: 'Pass', Parameters: { 'line.$': "States.Format('Say \"hi\" to {} \\{ok\\}', $.name)" } },
    Stringify: { Type: 'Pass', Parameters: { 'body.$': 'States.JsonToString($)' } },
  }).run({ name: 'Ann "Q" O\\Brien' });
  expect(run.status).toBe('SUCCEEDED');
  const body = (run as { output: { body: string } }).output.body;
  expect(JSON.parse(body)).toEqual({ line: 'Say "hi" to Ann "Q" O\\Brien {ok}' });
});

it('a text holding the shield\'s own private-use characters comes back exactly, through a handler too', async () => {
  const text = 'a\uE000b\uE001c\uE002d\uE003e\uE002\uE003f"\\';
  const seen: unknown[] = [];
  const run = await machine({
    Keep: { Type: 'Pass', Parameters: { 'text.$': '$.text', 'joined.$': "States.Format('{}|{}', $.text, $.text)" } },
    Handler: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:echo' },
  }, { Handler: (input) => { seen.push(input); return input; } }).run({ text });
  expect(seen).toEqual([{ text, joined: `${text}|${text}` }]);
  expect(run).toEqual({ status: 'SUCCEEDED', output: { text, joined: `${text}|${text}` } });
});

it('a name that is JSON text not written as JSON.stringify writes it survives States.JsonToString; a payload comes out byte for byte', async () => {
  const name = '{"a": "x", "b": [1, 2]}';
  const payload = '{"type":  "X",\n "n": "\\u00e9"}';
  const run = await machine({ Stringify: { Type: 'Pass', Parameters: { 'body.$': 'States.JsonToString($.lane)', 'payload.$': '$.payload' } } }).run({ lane: { name }, payload });
  expect(run.status).toBe('SUCCEEDED');
  const out = (run as { output: { body: string; payload: string } }).output;
  expect(JSON.parse(out.body)).toEqual({ name });
  expect(out.payload).toBe(payload);
});

it('a state whose output passes Step Functions\' 256 KiB fails the execution with States.DataLimitExceeded, and nothing after it runs', async () => {
  const after: unknown[] = [];
  const grow = (copies: number) => machine({
    Grow: { Type: 'Pass', Parameters: { 'copies.$': `States.Array(${Array(copies).fill('$.text').join(', ')})` } },
    After: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:after' },
  }, { After: (input) => { after.push(input); return {}; } });
  const text = 'x'.repeat(64 * 1024);
  expect(await grow(3).run({ text })).toMatchObject({ status: 'SUCCEEDED' });
  expect(after).toHaveLength(1);
  expect(await grow(5).run({ text })).toEqual({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: expect.stringMatching(/'(Grow|After)'.* exceed.* the maximum number of bytes service limit/) });
  expect(after).toHaveLength(1);
});
