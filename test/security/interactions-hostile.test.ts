/**
 * The hostile interactions matrix: each named request goes to the Interactions handler in process
 * (an in-memory store that records every call, every log line captured) and the marked ones also
 * to the local relay's `POST /interactions`. Each gets its named status and reply, the store is
 * touched only by what may write it, no reply can ping or echo user text, and no log line holds
 * the interaction's token.
 */
// The module object itself (not a namespace copy), so a spy on its verify sees the handler's call.
import crypto, { type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPrivateKeyFile } from '../../lib/client/keys';
import { EPHEMERAL, InteractionHeader, MAX_INTERACTION_BYTES, RELAY_SUBCOMMANDS, type RelaySubcommand } from '../../lib/contracts/interactions';
import { DISCORD_CONTENT_LIMIT } from '../../lib/contracts/template';
import { OptOutLimitError } from '../../lib/interactions/guild-settings';
import type { InteractionRequest, InteractionResponse } from '../../lib/interactions/handler';
import { commandInteraction, pingInteraction } from '../../lib/interactions/simulate';
import { LocalRelayServer } from '../../lib/local/local-relay-server';
import { signedRequest, testHandler, WORST_CASE_FACTS, type SignOptions, type TestHandler } from '../support/interactions';

const GUILD = '123456789012345678'; // the example config's guild, allowed by the local relay too
const OTHER_GUILD = '999999999999999999';
const APP = '1111111111111111111';
const KIB = 1024;
const inProcessKey = crypto.generateKeyPairSync('ed25519');

let server: LocalRelayServer;
let localKey: KeyObject;

beforeAll(async () => {
  server = await LocalRelayServer.start({ port: 0, stateDir: mkdtempSync(join(tmpdir(), 'relay-interactions-')), configPath: 'test/fixtures/discord-app-config.ts', retryPauseMs: 100, sinkRateLimit: false, log: () => undefined, env: {} });
  localKey = readPrivateKeyFile(server.settings.interactions!.privateKeyFile);
});
afterAll(() => server.stop());

/** An interaction body: a `/relay` command from a member of GUILD (no Manage Server unless told), changed by `edit`. */
function command(subcommand: string, o: { manage?: boolean; minutes?: unknown; edit?: (i: Record<string, any>) => void } = {}): Record<string, any> {
  const known = (RELAY_SUBCOMMANDS as readonly string[]).includes(subcommand);
  const i = commandInteraction({ subcommand: (known ? subcommand : 'optout') as RelaySubcommand, guildId: GUILD, applicationId: APP, manage: o.manage });
  if (!known) i.data = { ...(i.data as object), options: [{ type: 1, name: subcommand }] };
  if ('minutes' in o) (i.data as any).options[0].options = o.minutes === undefined ? [] : [{ type: 4, name: 'minutes', value: o.minutes }];
  o.edit?.(i);
  return i;
}

/** Makes a request signed by `key` at the clock: the body is a value (sent as JSON) or exact text or bytes. */
type Make = (key: KeyObject) => InteractionRequest;
const signed = (body: unknown, o: SignOptions = {}): Make => (key) =>
  signedRequest(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), key, Date.now(), o);
/** Signed by a key nobody configured. */
const unsigned = (body: unknown, o: SignOptions = {}): Make => () => signed(body, o)(crypto.generateKeyPairSync('ed25519').privateKey);
/** A PING padded to exactly `bytes` bytes of UTF-8. */
const pingOf = (bytes: number, pad = 'p') => {
  const base = JSON.stringify({ ...pingInteraction(APP), pad: '' });
  return base.replace('"pad":""', `"pad":"${pad.repeat(Math.ceil((bytes - Buffer.byteLength(base)) / Buffer.byteLength(pad)))}"`);
};

interface Row {
  name: string;
  request: Make;
  status: number;
  /** The reply's content (a 200) or its message (otherwise). */
  says?: string | RegExp;
  /** What of the store (and the facts) the request may use, in order. */
  touches?: string[];
  /** Set before the request: the store throws this. */
  fails?: (body: Record<string, any>) => Error;
  /** Also through the local relay (its own key, its own dynalite). */
  local?: true;
  /** Refused before the signature is checked: node:crypto's verify must not run. */
  beforeVerify?: true;
}

const NOT_JSON = 'the body is not JSON';
const NOT_INTERACTION = 'the body is not an interaction';
const UNANSWERED_TYPE = 'this endpoint answers PING and application commands only';
const TOO_LARGE = 'Payload Too Large';
const MEDIA = 'Unsupported Media Type';
const BAD_SIGNATURE = 'invalid request signature';
const MANAGERS_ONLY = /^`\/relay (pause|resume|status)` is for members with the \*\*Manage Server\*\* permission\.$/;
const USAGE = '`/relay pause` needs `minutes`: a whole number from 1 to 1440.';
const UNKNOWN = /^Unknown command\. The relay knows/;
const NOT_SERVED = /does not serve this server/;
const NOT_IN_DM = '`/relay` works in a server, not in direct messages.';
const WHO = /needs to know who asked/;
const GENERIC_FAILURE = /^The relay could not do that just now/;
const WRITES: Record<RelaySubcommand, string[]> = { optout: ['optOut'], optin: ['optIn'], pause: ['setPause'], resume: ['setPause'], status: ['read', 'facts'] };
const REPLIES: Record<RelaySubcommand, RegExp> = { optout: /^Done: the relay no longer announces you/, optin: /^You were not opted out/, pause: /^Paused until <t:\d+:t>/, resume: /^Voice notices were not paused/, status: /^\*\*Discord Event Relay — status\*\*/ };

const FORGED_PERMISSIONS: Array<[string, unknown]> = [
  ['"0"', '0'], ['"abc"', 'abc'], ['"-1"', '-1'], ['"1e5"', '1e5'], ['a 30-digit string', '9'.repeat(30)], ['the number 32 (not a string)', 32],
  ['" 32" (a space)', ' 32'], ['"0x20"', '0x20'], ['"32.0"', '32.0'], ['null', null], ['an array', ['32']], ['missing', undefined],
];
const permissions = (value: unknown) => (i: Record<string, any>) => {
  if (value === undefined) delete i.member.permissions;
  else i.member.permissions = value;
};

const ROWS: Row[] = [
  // Size: refused on the length, before a byte is verified (the signature is of a small PING, so reaching the check would be a 401).
  { name: 'a 1 MiB body', request: signed('x'.repeat(1024 * KIB), { signedBody: Buffer.from('{"type":1}') }), status: 413, says: TOO_LARGE, beforeVerify: true, local: true },
  { name: 'a 1 MiB body, base64', request: signed('x'.repeat(1024 * KIB), { base64: true, signedBody: Buffer.from('{"type":1}') }), status: 413, says: TOO_LARGE, beforeVerify: true },
  { name: 'a 33 KiB body', request: signed('x'.repeat(33 * KIB), { signedBody: Buffer.from('{"type":1}') }), status: 413, says: TOO_LARGE, beforeVerify: true, local: true },
  { name: 'a 33 KiB body, base64', request: signed('x'.repeat(33 * KIB), { base64: true, signedBody: Buffer.from('{"type":1}') }), status: 413, says: TOO_LARGE, beforeVerify: true },
  { name: 'a 33 KiB body of 2-byte characters in 16.5 Ki characters', request: signed('é'.repeat(33 * KIB / 2), { signedBody: Buffer.from('{"type":1}') }), status: 413, says: TOO_LARGE, beforeVerify: true },
  { name: `a signed PING of exactly ${MAX_INTERACTION_BYTES} bytes`, request: signed(pingOf(MAX_INTERACTION_BYTES)), status: 200, local: true },
  { name: `a signed PING of ${MAX_INTERACTION_BYTES + 1} bytes`, request: signed(pingOf(MAX_INTERACTION_BYTES + 1)), status: 413, says: TOO_LARGE, beforeVerify: true, local: true },
  // Content type: checked after the signature (an unsigned request learns nothing but 401).
  { name: 'signed, as text/plain', request: signed({ type: 1 }, { contentType: 'text/plain' }), status: 415, says: MEDIA, local: true },
  { name: 'signed, without a content type', request: signed({ type: 1 }, { contentType: null }), status: 415, says: MEDIA, local: true },
  { name: 'signed, as multipart/form-data', request: signed({ type: 1 }, { contentType: 'multipart/form-data; boundary=x' }), status: 415, says: MEDIA },
  { name: 'signed, as application/x-www-form-urlencoded', request: signed({ type: 1 }, { contentType: 'application/x-www-form-urlencoded' }), status: 415, says: MEDIA },
  { name: 'signed, as application/json; charset=utf-8', request: signed({ type: 1 }, { contentType: 'application/json; charset=utf-8' }), status: 200 },
  { name: 'signed, as APPLICATION/JSON', request: signed({ type: 1 }, { contentType: 'APPLICATION/JSON' }), status: 200 },
  { name: 'unsigned, as text/plain', request: unsigned({ type: 1 }, { contentType: 'text/plain' }), status: 401, says: BAD_SIGNATURE, local: true },
  { name: 'unsigned, without a content type', request: unsigned({ type: 1 }, { contentType: null }), status: 401, says: BAD_SIGNATURE },
  { name: 'unsigned, a command that would write', request: unsigned(command('pause', { manage: true, minutes: 30 })), status: 401, says: BAD_SIGNATURE, local: true },
  // Not an interaction, signed.
  { name: 'invalid JSON', request: signed('{"type":1'), status: 400, says: NOT_JSON, local: true },
  { name: 'an empty body', request: signed(''), status: 400, says: NOT_JSON },
  { name: 'JSON followed by garbage', request: signed('{"type":1}x'), status: 400, says: NOT_JSON },
  { name: 'JSON behind a byte-order mark', request: signed('\uFEFF{"type":1}'), status: 400, says: NOT_JSON },
  { name: 'JSON null', request: signed('null'), status: 400, says: NOT_INTERACTION },
  { name: 'a JSON number', request: signed('2'), status: 400, says: NOT_INTERACTION },
  { name: 'a JSON string', request: signed('"ping"'), status: 400, says: NOT_INTERACTION },
  { name: 'JSON true', request: signed('true'), status: 400, says: NOT_INTERACTION },
  { name: 'a JSON array', request: signed('[]'), status: 400, says: UNANSWERED_TYPE },
  { name: 'an array holding a valid command', request: signed([command('optout')]), status: 400, says: UNANSWERED_TYPE },
  // Interaction types this endpoint does not answer (3, 4, 5 are Discord's components, autocomplete and modals).
  ...([3, 4, 5, 99, '2', '1', null, true] as unknown[]).map((type): Row => ({ name: `type ${JSON.stringify(type)}`, request: signed({ ...command('optout'), type }), status: 400, says: UNANSWERED_TYPE })),
  { name: 'no type', request: signed((() => { const { type: _, ...rest } = command('optout'); return rest; })()), status: 400, says: UNANSWERED_TYPE },
  // Where the command comes from.
  { name: 'a command from a guild outside allowedGuildIds', request: signed(command('optout', { edit: (i) => { i.guild_id = OTHER_GUILD; } })), status: 200, says: NOT_SERVED, local: true },
  { name: 'a DM: no guild, a user instead of a member', request: signed(command('optout', { edit: (i) => { delete i.guild_id; i.user = i.member.user; delete i.member; } })), status: 200, says: NOT_IN_DM },
  { name: 'in a guild but a user instead of a member', request: signed(command('optout', { edit: (i) => { i.user = i.member.user; delete i.member; } })), status: 200, says: WHO },
  { name: 'member null', request: signed(command('optout', { edit: (i) => { i.member = null; } })), status: 200, says: WHO },
  { name: 'a member whose user id is not a snowflake', request: signed(command('optout', { edit: (i) => { i.member.user.id = '1 OR 1=1'; } })), status: 200, says: WHO },
  ...([['an injection', '1 OR 1=1'], ['a number', 123456789012345678], ['too short', '12345'], ['empty', ''], ['an array', [GUILD]], ['the allowed id with a newline', `${GUILD}\n`]] as Array<[string, unknown]>)
    .map(([what, guildId]): Row => ({ name: `a guild_id that is not a snowflake: ${what}`, request: signed(command('optout', { edit: (i) => { i.guild_id = guildId; } })), status: 200, says: NOT_IN_DM })),
  // Permissions in a signed body are Discord's word; Manage Server is "32" (or Administrator, "8"), nothing else grants it.
  ...(['pause', 'resume', 'status'] as const).flatMap((sub) => [
    { name: `${sub} with permissions "32" (Manage Server)`, request: signed(command(sub, { manage: true, minutes: sub === 'pause' ? 30 : undefined })), status: 200, says: REPLIES[sub], touches: WRITES[sub], local: sub === 'status' ? true : undefined } as Row,
    { name: `${sub} with permissions "8" (Administrator)`, request: signed(command(sub, { minutes: sub === 'pause' ? 30 : undefined, edit: permissions('8') })), status: 200, says: REPLIES[sub], touches: WRITES[sub] } as Row,
    ...FORGED_PERMISSIONS.map(([what, value]): Row => ({ name: `${sub} with permissions ${what}`, request: signed(command(sub, { minutes: sub === 'pause' ? 30 : undefined, edit: permissions(value) })), status: 200, says: MANAGERS_ONLY, local: sub === 'pause' && value === '0' ? true : undefined })),
  ]),
  ...(['optout', 'optin'] as const).flatMap((sub) => FORGED_PERMISSIONS.map(([what, value]): Row => ({ name: `${sub} with permissions ${what} works for everyone`, request: signed(command(sub, { edit: permissions(value) })), status: 200, says: REPLIES[sub], touches: WRITES[sub] }))),
  // Pause's minutes: a whole number 1–1440, a JSON number.
  { name: 'pause minutes 1', request: signed(command('pause', { manage: true, minutes: 1 })), status: 200, says: REPLIES.pause, touches: ['setPause'] },
  { name: 'pause minutes 1440', request: signed(command('pause', { manage: true, minutes: 1440 })), status: 200, says: REPLIES.pause, touches: ['setPause'] },
  ...([['0', 0], ['1441', 1441], ['1.5', 1.5], ['"30" (a string)', '30'], ['-5', -5], ['1e9', 1e9], ['null', null], ['missing', undefined]] as Array<[string, unknown]>)
    .map(([what, minutes]): Row => ({ name: `pause minutes ${what}`, request: signed(command('pause', { manage: true, minutes })), status: 200, says: USAGE })),
  { name: 'pause with no options at all', request: signed(command('pause', { manage: true, edit: (i) => { delete i.data.options[0].options; } })), status: 200, says: USAGE },
  { name: 'pause with its minutes under another name', request: signed(command('pause', { manage: true, edit: (i) => { i.data.options[0].options = [{ type: 4, name: 'hours', value: 30 }]; } })), status: 200, says: USAGE },
  // A forged option list from a signed body must not write anything (what the reply says is not pinned here).
  { name: 'pause with options [null]', request: signed(command('pause', { manage: true, edit: (i) => { i.data.options[0].options = [null]; } })), status: 200 },
  // Unknown commands.
  ...['admin', '__proto__', 'constructor', 'OPTOUT', ''].map((sub): Row => ({ name: `an unknown subcommand ${JSON.stringify(sub)}`, request: signed(command(sub, { manage: true })), status: 200, says: UNKNOWN })),
  { name: 'another command name', request: signed(command('optout', { edit: (i) => { i.data.name = 'other'; } })), status: 200, says: UNKNOWN },
  { name: 'no data', request: signed(command('optout', { edit: (i) => { delete i.data; } })), status: 200, says: UNKNOWN },
  { name: 'options not an array', request: signed(command('optout', { edit: (i) => { i.data.options = { name: 'optout' }; } })), status: 200, says: UNKNOWN },
  { name: 'options [null]', request: signed(command('optout', { edit: (i) => { i.data.options = [null]; } })), status: 200, says: UNKNOWN },
  // User text in the body never reaches the reply.
  { name: 'a member named @everyone with a role mention for a nickname', request: signed(command('optout', { edit: (i) => { Object.assign(i.member.user, { username: '@everyone', global_name: '<@&123456789012345678>' }); i.member.nick = '@here <@1>'; } })), status: 200, says: REPLIES.optout, touches: ['optOut'] },
  { name: 'mentions in an unknown subcommand\'s options', request: signed(command('admin', { edit: (i) => { i.data.options[0].options = [{ type: 3, name: '@everyone', value: '<@&123456789012345678>' }]; } })), status: 200, says: UNKNOWN },
  // Store failures: the generic reply, and nothing of the interaction (its token least of all) in the log.
  { name: 'optout when the store fails with the token in its message', request: signed(command('optout')), status: 200, says: GENERIC_FAILURE, touches: ['optOut'], fails: (b) => new Error(`UpdateItem failed for ${b.token} (interaction ${b.id})`) },
  { name: 'status when the store fails with the token in its message', request: signed(command('status', { manage: true })), status: 200, says: REPLIES.status, touches: ['read', 'facts'], fails: (b) => new Error(`GetItem failed for ${b.token}`) },
  { name: 'optout at the opt-out limit', request: signed(command('optout')), status: 200, says: /^Sorry: this server already has 10000 members opted out/, touches: ['optOut'], fails: () => new OptOutLimitError() },
];

it(`has at least 100 named cases (${ROWS.length})`, () => {
  expect(ROWS.length).toBeGreaterThanOrEqual(100);
  expect(new Set(ROWS.map((r) => r.name)).size).toBe(ROWS.length);
});

/** Every answer and log line of the matrix, for the checks across it. */
const answers: Array<{ name: string; answer: InteractionResponse }> = [];
const logged: Array<{ name: string; line: string; token?: string }> = [];

/** The body a request carries, parsed when it is an interaction. */
function bodyOf(request: InteractionRequest): Record<string, any> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(request.body ?? '', request.isBase64Encoded ? 'base64' : 'utf8').toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

function expectAnswer(row: Row, answer: { statusCode: number; json: any }) {
  expect(answer.statusCode).toBe(row.status);
  if (row.status !== 200) {
    if (row.says !== undefined) expect(answer.json).toEqual({ message: row.says });
    return;
  }
  if (answer.json.type === 1) return expect(answer.json).toEqual({ type: 1 });
  expect(answer.json).toMatchObject({ type: 4, data: { flags: EPHEMERAL, allowed_mentions: { parse: [] } } });
  if (row.says !== undefined) expect(answer.json.data.content).toEqual(typeof row.says === 'string' ? row.says : expect.stringMatching(row.says));
}

describe.each(ROWS.map((r) => [r.name, r] as const))('%s', (_, row) => {
  it(`in process: ${row.status}, the store ${row.touches ? `used for ${row.touches.join(', ')} only` : 'untouched'}`, async () => {
    const h: TestHandler = testHandler({ publicKey: inProcessKey.publicKey, allowedGuildIds: [GUILD], now: Date.now });
    const request = row.request(inProcessKey.privateKey);
    const body = bodyOf(request);
    if (row.fails) h.store.fail = row.fails(body ?? {});
    const verify = jest.spyOn(crypto, 'verify');
    let answer: InteractionResponse;
    let verified: number;
    try {
      answer = await h.handle(request);
    } finally {
      verified = verify.mock.calls.length; // mockRestore clears the calls
      verify.mockRestore();
    }
    answers.push({ name: row.name, answer });
    for (const line of h.lines) logged.push({ name: row.name, line, token: body?.token });
    expect(answer.headers).toEqual({ 'content-type': 'application/json' });
    expectAnswer(row, { statusCode: answer.statusCode, json: JSON.parse(answer.body) });
    expect(h.touched()).toEqual(row.touches ?? []);
    // The spy can see the check: a request that reached it called verify once.
    expect(verified).toBe(row.beforeVerify || !request.headers?.[InteractionHeader.Signature] ? 0 : 1);
    if (body?.token) for (const line of h.lines) expect(line).not.toContain(body.token);
  });

  if (row.local) {
    it(`through the local relay: ${row.status}`, async () => {
      const request = row.request(localKey);
      const headers = Object.fromEntries(Object.entries(request.headers ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
      // Bytes, so fetch adds no content type of its own.
      const res = await fetch(server.settings.interactions!.url, { method: 'POST', headers, body: Buffer.from(request.body ?? '', request.isBase64Encoded ? 'base64' : 'utf8') });
      const text = await res.text();
      expectAnswer(row, { statusCode: res.status, json: JSON.parse(text) });
    });
  }
});

describe('the replies', () => {
  // One more check of each subcommand with the longest inputs its reply can be given.
  it.each(RELAY_SUBCOMMANDS.map((s) => [s]))('/relay %s stays within Discord\'s 2000 characters, however long its facts', async (sub) => {
    for (const worstCase of [false, true]) {
      const h = testHandler({ publicKey: inProcessKey.publicKey, allowedGuildIds: [GUILD], now: Date.now, facts: worstCase ? WORST_CASE_FACTS : undefined, worstCase });
      if (worstCase && sub === 'optout') h.store.fail = new OptOutLimitError();
      const answer = await h.handle(signed(command(sub, { manage: true, minutes: sub === 'pause' ? 1440 : undefined }))(inProcessKey.privateKey));
      const { content } = JSON.parse(answer.body).data;
      expect(content).toMatch(worstCase && sub === 'optout' ? /^Sorry/ : REPLIES[sub]);
      expect(content.length).toBeLessThanOrEqual(DISCORD_CONTENT_LIMIT);
    }
  });

  it('across the matrix: every 200 reply but PONG is ephemeral with mentions off, and none echoes a mention', () => {
    const replies = answers.filter(({ answer }) => answer.statusCode === 200).map(({ name, answer }) => ({ name, json: JSON.parse(answer.body) }));
    const messages = replies.filter((r) => r.json.type !== 1);
    expect(messages.length).toBeGreaterThan(60);
    for (const { name, json } of messages) {
      expect({ name, flags: json.data.flags, allowed_mentions: json.data.allowed_mentions }).toEqual({ name, flags: EPHEMERAL, allowed_mentions: { parse: [] } });
      expect({ name, everyone: json.data.content.includes('@everyone'), here: json.data.content.includes('@here'), mention: json.data.content.includes('<@') }).toEqual({ name, everyone: false, here: false, mention: false });
    }
  });

  it('across the matrix: no log line holds an interaction token, and the handler did log (commands and failures)', () => {
    expect(logged.some(({ line }) => line.includes('"command failed"'))).toBe(true);
    expect(logged.some(({ line }) => line.includes('"command answered"'))).toBe(true);
    expect(logged.filter(({ line, token }) => token && line.includes(token)).map(({ name }) => name)).toEqual([]);
  });
});
