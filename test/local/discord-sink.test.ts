import { DiscordSink, validateWebhookMessage } from '../../lib/local/discord-sink';

describe('DiscordSink', () => {
  it('records a valid message and answers like Discord with wait=true (200 message) and without (204)', () => {
    const sink = new DiscordSink(['general'], false, () => Date.parse('2026-11-21T08:00:00Z'));
    const answer = sink.execute('general', true, JSON.stringify({ content: 'hi', allowed_mentions: { parse: [] } }));
    expect(answer).toMatchObject({ status: 200, body: { content: 'hi', channel_id: 'general', type: 0, author: { bot: true } } });
    expect(sink.execute('general', false, JSON.stringify({ content: 'again' }))).toMatchObject({ status: 204 });
    expect(sink.messages).toEqual([
      { id: answer.body && (answer.body as { id: string }).id, channel: 'general', body: { content: 'hi', allowed_mentions: { parse: [] } }, kind: 'discord', receivedAt: '2026-11-21T08:00:00.000Z', edits: 0 },
      { id: expect.stringMatching(/^\d+$/), channel: 'general', body: { content: 'again' }, kind: 'discord', receivedAt: '2026-11-21T08:00:00.000Z', edits: 0 },
    ]);
    expect(sink.messages[0].id).not.toBe(sink.messages[1].id);
  });

  describe('Edit Webhook Message', () => {
    const at = Date.parse('2026-11-21T08:00:00Z');
    const posted = () => {
      const sink = new DiscordSink(['general', 'other'], false, () => at);
      const { body } = sink.execute('general', true, JSON.stringify({ content: '🔊 live', allowed_mentions: { parse: [] } }));
      return { sink, id: (body as { id: string }).id };
    };

    it('replaces the fields sent, keeps the rest and the id, and answers the message with edited_timestamp', () => {
      const { sink, id } = posted();
      const answer = sink.edit('general', id, JSON.stringify({ content: '🔊 ended' }));
      expect(answer).toMatchObject({ status: 200, body: { id, content: '🔊 ended', edited_timestamp: '2026-11-21T08:00:00.000Z' } });
      expect(sink.messages).toEqual([expect.objectContaining({ id, body: { content: '🔊 ended', allowed_mentions: { parse: [] } }, edits: 1, editedAt: '2026-11-21T08:00:00.000Z' })]);
      expect(sink.stats).toMatchObject({ accepted: 1, edited: 1 });
    });

    it('answers 404 Unknown Message (10008) for a message it does not hold, or one of another webhook', () => {
      const { sink, id } = posted();
      expect(sink.edit('general', '1234', '{"content":"x"}')).toMatchObject({ status: 404, body: { message: 'Unknown Message', code: 10008 } });
      expect(sink.edit('other', id, '{"content":"x"}')).toMatchObject({ status: 404, body: { code: 10008 } });
      expect(sink.stats).toMatchObject({ edited: 0, unknownMessage: 2 });
    });

    it('validates and rate-limits an edit like a post, and a deleted webhook answers 10015', () => {
      const { sink, id } = posted();
      expect(sink.edit('general', id, JSON.stringify({ content: 'x'.repeat(2001) }))).toMatchObject({ status: 400, body: { code: 50035 } });
      sink.deleteWebhook('general');
      expect(sink.edit('general', id, '{"content":"x"}')).toMatchObject({ status: 404, body: { code: 10015 } });
      const limited = new DiscordSink(['general'], { limit: 2, windowMs: 2000 }, () => at);
      const first = (limited.execute('general', true, '{"content":"a"}').body as { id: string }).id;
      expect(limited.edit('general', first, '{"content":"b"}').status).toBe(200);
      expect(limited.edit('general', first, '{"content":"c"}')).toMatchObject({ status: 429, body: { retry_after: 2 } });
    });
  });

  it('answers 404 Unknown Webhook for an unknown or deleted webhook', () => {
    const sink = new DiscordSink(['general'], false);
    expect(sink.execute('other', true, '{"content":"x"}')).toEqual({ status: 404, headers: {}, body: { message: 'Unknown Webhook', code: 10015 } });
    sink.deleteWebhook('general');
    expect(sink.execute('general', true, '{"content":"x"}').status).toBe(404);
    sink.restoreWebhook('general');
    expect(sink.execute('general', true, '{"content":"x"}').status).toBe(200);
    expect(sink.messages).toHaveLength(1);
  });

  it('deletes and restores only the config\'s webhooks: restoring an unknown one does not make one up', () => {
    const sink = new DiscordSink(['general'], false);
    expect(sink.restoreWebhook('other')).toBe(false);
    expect(sink.execute('other', true, '{"content":"x"}').status).toBe(404);
    expect(sink.deleteWebhook('other')).toBe(false);
    expect(sink.deleteWebhook('general')).toBe(true);
  });

  it.each([
    ['content over 2000', { content: 'x'.repeat(2001) }, { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } }],
    ['11 embeds', { embeds: Array(11).fill({ title: 't' }) }, { embeds: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 10 or fewer in length.' }] } }],
    ['a 257-character title', { embeds: [{ title: 'x'.repeat(257) }] }, { embeds: { 0: { title: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 256 or fewer in length.' }] } } } }],
    ['a 1025-character field value', { embeds: [{ fields: [{ name: 'n', value: 'x'.repeat(1025) }] }] }, { embeds: { 0: { fields: { 0: { value: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 1024 or fewer in length.' }] } } } } } }],
    ['embeds over 6000 characters in total', { embeds: [{ description: 'x'.repeat(4000) }, { description: 'y'.repeat(2001) }] }, { embeds: { _errors: [{ code: 'MAX_EMBED_SIZE_EXCEEDED', message: 'Embed size exceeds maximum size of 6000' }] } }],
  ])('refuses %s with 400 Invalid Form Body (50035) and records nothing', (_, body, errors) => {
    const sink = new DiscordSink(['general'], false);
    expect(sink.execute('general', true, JSON.stringify(body))).toMatchObject({ status: 400, body: { code: 50035, message: 'Invalid Form Body', errors } });
    expect(sink.messages).toHaveLength(0);
  });

  it('refuses an empty message (50006) and invalid JSON (50109)', () => {
    const sink = new DiscordSink(['general'], false);
    expect(sink.execute('general', true, '{"content":"  "}')).toMatchObject({ status: 400, body: { code: 50006 } });
    expect(sink.execute('general', true, '{"content":')).toMatchObject({ status: 400, body: { code: 50109 } });
    expect(sink.stats).toEqual({ accepted: 0, edited: 0, unknownMessage: 0, rateLimited: 0, invalid: 2, unknownWebhook: 0 });
  });

  it('rate-limits each webhook: 429 with retry_after and X-RateLimit headers, then resets after the window', () => {
    let now = 1_763_712_000_000;
    const sink = new DiscordSink(['general', 'audit'], { limit: 2, windowMs: 2000 }, () => now);
    const first = sink.execute('general', true, '{"content":"1"}');
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset-after': '2.000', 'x-ratelimit-bucket': 'sink-general' });
    expect(sink.execute('general', true, '{"content":"2"}').status).toBe(200);
    now += 500;
    const limited = sink.execute('general', true, '{"content":"3"}');
    expect(limited).toEqual({
      status: 429,
      headers: expect.objectContaining({ 'retry-after': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': '1.500', 'x-ratelimit-scope': 'shared' }),
      body: { message: 'You are being rate limited.', retry_after: 1.5, global: false },
    });
    expect(sink.execute('audit', true, '{"content":"other webhook"}').status).toBe(200);
    now += 1500;
    expect(sink.execute('general', true, '{"content":"4"}').status).toBe(200);
    expect(sink.messages.map((m) => (m.body as { content: string }).content)).toEqual(['1', '2', 'other webhook', '4']);
    expect(sink.stats).toMatchObject({ accepted: 4, rateLimited: 1 });
  });
});

describe('validateWebhookMessage', () => {
  it('accepts content at the limit and embeds within it', () => {
    expect(validateWebhookMessage({ content: 'x'.repeat(2000), embeds: [{ title: 'x'.repeat(256), description: 'y'.repeat(4096) }] })).toEqual({});
  });
});

it('keeps only the newest messages and request headers, so a long-running relay stays bounded', () => {
  const sink = new DiscordSink(['general'], false, Date.now, { messages: 3, requestHeaders: 2 });
  for (let i = 1; i <= 10; i++) sink.execute('general', true, JSON.stringify({ content: `m${i}` }));
  expect(sink.messages.map((m) => (m.body as { content: string }).content)).toEqual(['m8', 'm9', 'm10']);
  expect(sink.requestHeaders).toHaveLength(2);
  expect(sink.stats.accepted).toBe(10);
});
