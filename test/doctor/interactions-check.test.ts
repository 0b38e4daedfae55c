/** relay doctor's interactions check: what each answer to an unsigned and a wrongly signed PING means. */
import type { HttpAnswer } from '../../lib/client/http';
import { interactionsFinding } from '../../lib/doctor/checks-interactions';

const URL_ = 'https://abc.execute-api.eu-west-1.amazonaws.com/interactions';
const answering = (...statuses: number[]) => {
  const seen: Array<Record<string, string>> = [];
  const post = async (_url: URL, o: { headers: Record<string, string> }): Promise<HttpAnswer> => {
    seen.push(o.headers);
    return { status: statuses[seen.length - 1], headers: {}, text: '{"message":"x"}' };
  };
  return { post, seen };
};

it('passes when both are refused with 401, having sent one without and one with a (wrong) signature', async () => {
  const { post, seen } = answering(401, 401);
  expect(await interactionsFinding(URL_, Date.now, post)).toMatchObject({ status: 'pass' });
  expect(seen[0]['x-signature-ed25519']).toBeUndefined();
  expect(seen[1]['x-signature-ed25519']).toMatch(/^0{128}$/);
});

it.each([
  [[200], 'does not check Discord\'s signature', 'interaction signature'],
  [[401, 200], 'does not check Discord\'s signature', 'interaction signature'],
  [[403], 'requires IAM', 'interaction signature'],
  [[502], 'the interactions function fails', 'payload 2.0'],
  [[404], 'not the relay\'s interactions endpoint', 'payload 2.0'],
])('fails on %j, naming the cause', async (statuses, cause, register) => {
  expect(await interactionsFinding(URL_, Date.now, answering(...statuses).post)).toMatchObject({ status: 'fail', cause: expect.stringContaining(cause), register });
});

it('fails naming the URL when it does not answer, and is skipped for a relay without the app', async () => {
  const down = async () => { throw new Error('connect ECONNREFUSED'); };
  expect(await interactionsFinding(URL_, Date.now, down)).toMatchObject({ status: 'fail', detail: expect.stringContaining('ECONNREFUSED') });
  expect(await interactionsFinding(undefined, Date.now, down)).toMatchObject({ status: 'skip' });
});
