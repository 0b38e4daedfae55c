import { Debouncer, eventIdFor, netKind, safeName, toVoiceEvent, type NetChangeKind, type Timers, type VoiceChange } from '../../lib/forwarder/voice-changes';

const A = { channel_id: '222222222222222222', channel_name: 'General' };
const B = { channel_id: '333333333333333333', channel_name: 'Gaming' };
let seq = 0;
const change = (before: typeof A | null, after: typeof A | null, userId = '444444444444444444'): VoiceChange => ({
  guildId: '111111111111111111', guildName: 'Guild', userId, userName: 'alice', displayName: 'Alice', bot: false,
  before, after, at: new Date('2026-11-21T08:00:00Z'), gatewaySessionId: 'abc123', seq: ++seq,
});

/** Manual timers: `advance(ms)` fires what is due. */
function manualTimers() {
  let now = 0;
  const due: Array<{ at: number; f: () => void; id: number }> = [];
  let next = 0;
  const timers: Timers = {
    setTimeout: (f, ms) => { due.push({ at: now + ms, f, id: ++next }); return next; },
    clearTimeout: (id) => { const i = due.findIndex((d) => d.id === id); if (i >= 0) due.splice(i, 1); },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const d of due.filter((x) => x.at <= now).sort((a, b) => a.at - b.at)) { timers.clearTimeout(d.id); d.f(); }
  };
  return { timers, advance };
}

function debounced(windowMs = 3000) {
  const out: Array<[NetChangeKind, VoiceChange]> = [];
  const { timers, advance } = manualTimers();
  const d = new Debouncer(windowMs, (c, k) => out.push([k, c]), timers);
  return { d, out, advance };
}

describe('Debouncer', () => {
  it('emits a lone join once the window has passed, not before', () => {
    const { d, out, advance } = debounced();
    d.push(change(null, A));
    advance(2999);
    expect(out).toEqual([]);
    advance(1);
    expect(out.map(([k]) => k)).toEqual(['join']);
  });

  it('a join then leave of the same channel inside the window is nothing', () => {
    const { d, out, advance } = debounced();
    d.push(change(null, A));
    advance(1000);
    d.push(change(A, null));
    advance(5000);
    expect(out.map(([k]) => k)).toEqual(['none']);
  });

  it('a leave then join of another channel inside the window is one move, named by the last change', () => {
    const { d, out, advance } = debounced();
    d.push(change(A, null));
    const last = change(null, B);
    d.push(last);
    advance(3000);
    expect(out).toEqual([['move', { ...last, before: A }]]);
    expect(eventIdFor(out[0][1])).toBe(eventIdFor(last));
  });

  it('a leave then rejoin of the same channel is nothing, not an update', () => {
    const { d, out, advance } = debounced();
    d.push(change(A, null));
    d.push(change(null, A));
    advance(3000);
    expect(out.map(([k]) => k)).toEqual(['none']);
  });

  it('delays by at most the window even when changes keep coming', () => {
    const { d, out, advance } = debounced();
    d.push(change(null, A));
    advance(2000);
    d.push(change(A, B));
    advance(1000);
    expect(out.map(([k]) => k)).toEqual(['join']);
    expect(out[0][1].after).toEqual(B);
  });

  it('keeps members apart, and flushAll emits what is held', () => {
    const { d, out } = debounced();
    d.push(change(null, A, '1'));
    d.push(change(null, B, '2'));
    expect(d.size).toBe(2);
    d.flushAll();
    expect(out.map(([k, c]) => [k, c.userId])).toEqual([['join', '1'], ['join', '2']]);
    expect(d.size).toBe(0);
  });

  it('with a zero window emits at once', () => {
    const { d, out } = debounced(0);
    d.push(change(A, A));
    expect(out.map(([k]) => k)).toEqual(['update']);
  });
});

describe('events and ids', () => {
  it('builds the contract event, with names never empty or over 100 characters', () => {
    const c = { ...change(null, A), displayName: '', guildName: 'x'.repeat(150) };
    expect(toVoiceEvent(c)).toEqual({
      type: 'VOICE_STATE_UPDATE', guild: { id: c.guildId, name: 'x'.repeat(100) },
      user: { id: c.userId, name: 'alice', display_name: 'alice', bot: false }, before: null, after: A, at: '2026-11-21T08:00:00.000Z',
    });
    expect(safeName(undefined, 'fallback')).toBe('fallback');
  });

  it('names a gateway dispatch stably: same session and sequence, same id; valid as an envelope id', () => {
    const c = change(null, A);
    expect(eventIdFor(c)).toBe(eventIdFor({ ...c, at: new Date() }));
    expect(eventIdFor(c)).not.toBe(eventIdFor({ ...c, seq: c.seq + 1 }));
    expect(eventIdFor(c)).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  });

  it.each([
    [null, A, 'join'], [A, null, 'leave'], [A, B, 'move'], [A, A, 'update'], [null, null, 'none'],
  ] as const)('netKind(%j, %j) = %s', (before, after, kind) => {
    expect(netKind(before, after)).toBe(kind);
  });
});
