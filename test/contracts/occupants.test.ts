/** Occupants in voice events: optional (older forwarders), validated when present, kept under the payload limit. */
import { MAX_PAYLOAD_BYTES } from '../../lib/contracts/envelope';
import { RelayError } from '../../lib/contracts/errors';
import { MAX_LISTED_OCCUPANTS, parseEventPayload, type VoiceStateUpdateEvent } from '../../lib/contracts/events';
import { withOccupants } from '../../lib/forwarder/voice-changes';
import { voiceEvent } from '../support/fixtures';

const member = (i: number, name = `User ${i}`) => ({ id: String(400000000000000000n + BigInt(i)), name });
const withAfter = (occupants: unknown) => JSON.stringify({ ...voiceEvent('join'), after: { ...voiceEvent('join').after, occupants } });
const malformed = (payload: string) => {
  try {
    parseEventPayload(payload);
  } catch (error) {
    return error instanceof RelayError ? `${error.code}: ${error.message}` : String(error);
  }
  return 'accepted';
};

it('an event without occupants is still valid (older forwarders)', () => {
  expect(parseEventPayload(JSON.stringify(voiceEvent('join')))).toMatchObject({ kind: 'voice.join' });
});

it('keeps valid occupants', () => {
  const parsed = parseEventPayload(withAfter({ count: 30, members: [member(1), member(2)] }));
  expect(parsed).toMatchObject({ event: { after: { occupants: { count: 30, members: [member(1), member(2)] } } } });
});

it.each([
  ['a negative count', { count: -1, members: [] }, /count must be a whole number/],
  ['a fractional count', { count: 1.5, members: [] }, /count must be a whole number/],
  ['more names than the count', { count: 1, members: [member(1), member(2)] }, /no more than count/],
  ['more than 25 names', { count: 40, members: Array.from({ length: MAX_LISTED_OCCUPANTS + 1 }, (_, i) => member(i)) }, /at most 25 members/],
  ['a member without a snowflake id', { count: 1, members: [{ id: '12', name: 'x' }] }, /members\[0\]\.id must be a snowflake/],
  ['an empty name', { count: 1, members: [{ id: member(1).id, name: '' }] }, /members\[0\]\.name must be a string/],
  ['a list that is not one', { count: 1, members: 'Alice' }, /members must list/],
])('refuses %s as Relay.Malformed', (_, occupants, message) => {
  expect(malformed(withAfter(occupants))).toMatch(new RegExp(`^Relay\\.Malformed: payload: after\\.occupants.*${message.source}`));
});

it('the forwarder halves the lists until the payload fits, keeping the counts whole', () => {
  const long = '€'.repeat(100); // 100 characters, 300 bytes of UTF-8
  const everyone = { count: 60, members: Array.from({ length: 25 }, (_, i) => member(i, long)) };
  const event: VoiceStateUpdateEvent = voiceEvent('move');
  const out = withOccupants(event, () => everyone);
  expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES - 2048);
  expect(out.before?.occupants?.count).toBe(60);
  expect(out.before?.occupants?.members.length).toBeLessThan(25);
  expect(out.before?.occupants?.members.length).toBeGreaterThan(0);
  expect(parseEventPayload(JSON.stringify(out))).toMatchObject({ kind: 'voice.move' });
});

it('a channel someone is in after the change holds at least one: after.occupants.count 0 is malformed', () => {
  expect(malformed(withAfter({ count: 0, members: [] }))).toMatch(/after\.occupants\.count must be at least 1 \(the user\)/);
  // The channel left may be empty after the change.
  const leave = voiceEvent('leave');
  expect(() => parseEventPayload(JSON.stringify({ ...leave, before: { ...leave.before, occupants: { count: 0, members: [] } } }))).not.toThrow();
});

it('the same member listed twice is malformed', () => {
  expect(malformed(withAfter({ count: 3, members: [member(1), member(2), member(1, 'Again')] }))).toMatch(/members\[2\]\.id lists member \d+ twice/);
});
