/** The Slack incoming webhook stand-in (lib/local/slack-sink.ts) against Slack's documented answers. */
import { DiscordSink } from '../../lib/local/discord-sink';
import { SLACK_WEBHOOK_RATE_LIMIT, SlackSink } from '../../lib/local/slack-sink';

function sinks(now: () => number) {
  const store = new DiscordSink(['general'], false, now);
  return { store, slack: new SlackSink(['team'], store, SLACK_WEBHOOK_RATE_LIMIT, now) };
}

it('answers 200 ok as plain text and keeps the message, kind slack, in the one list', () => {
  const { store, slack } = sinks(() => Date.parse('2026-12-02T08:00:00Z'));
  expect(slack.post('team', JSON.stringify({ text: 'hi' }))).toEqual({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'ok' });
  expect(store.messages).toEqual([expect.objectContaining({ channel: 'team', kind: 'slack', body: { text: 'hi' } })]);
  expect(slack.stats).toEqual({ accepted: 1, rateLimited: 0, invalid: 0, unknownWebhook: 0 });
});

it.each([
  ['not JSON', 'text=hi', 'invalid_payload'],
  ['a JSON array', '[]', 'invalid_payload'],
  ['no text', '{}', 'no_text'],
  ['blank text', '{"text":"  "}', 'no_text'],
])('refuses %s with 400 %s and keeps nothing', (_, body, code) => {
  const { store, slack } = sinks(() => 0);
  expect(slack.post('team', body)).toMatchObject({ status: 400, body: code });
  expect(store.messages).toEqual([]);
});

it('takes one message a second per webhook: the next within it gets 429 with Retry-After in seconds', () => {
  let t = 10_000;
  const { slack } = sinks(() => t);
  expect(slack.post('team', '{"text":"a"}').status).toBe(200);
  t += 400;
  expect(slack.post('team', '{"text":"b"}')).toMatchObject({ status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } });
  t += 600;
  expect(slack.post('team', '{"text":"b"}').status).toBe(200);
  expect(slack.stats.rateLimited).toBe(1);
});

it('a removed webhook answers 404 no_service until restored; channels of the config only', () => {
  const { slack } = sinks(() => 0);
  expect(slack.deleteWebhook('team')).toBe(true);
  expect(slack.post('team', '{"text":"a"}')).toMatchObject({ status: 404, body: 'no_service' });
  expect(slack.restoreWebhook('team')).toBe(true);
  expect(slack.post('team', '{"text":"a"}').status).toBe(200);
  expect(slack.deleteWebhook('general')).toBe(false);
  expect(slack.post('nowhere', '{"text":"a"}')).toMatchObject({ status: 404, body: 'no_service' });
});
