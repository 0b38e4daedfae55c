/** Slack rendering (lib/contracts/slack.ts): user text that can never form Slack markup, templates converted from Discord markdown. */
import { SLACK_FIELD_LENGTHS, discordLineToSlack, escapeSlackText, fitSlackLine, maxSlackRenderedLength, renderSlackFields, renderSlackLine, slackMarkup, slackUserText } from '../../lib/contracts/slack';
import { MAX_NAME_LENGTH } from '../../lib/contracts/events';
import { parseTemplate } from '../../lib/contracts/template';
import { BLANK_NAME, TEMPLATE_FIELDS } from '../../lib/contracts/template';
import { voiceEvent } from '../support/fixtures';

const named = (display_name: string) => voiceEvent('move', { user: { id: '444444444444444444', name: 'alice', display_name, bot: false } });

describe('user text', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<!here> hi', '&lt;!here&gt; hi'],
    ['<!everyone>', '&lt;!everyone&gt;'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['<#C123|general>', '&lt;#C123|general&gt;'],
    ['<https://evil.example|free nitro>', '&lt;https:\u2060//evil.\u2060example|free nitro&gt;'],
    ['&lt;', '&amp;lt;'],
    ['Tom & Jerry', 'Tom &amp; Jerry'],
  ])('%j is shown as typed and forms no markup (%j)', (name, escaped) => {
    const text = slackUserText(name);
    expect(text).toBe(escaped);
    expect(text).not.toMatch(/[<>]/);
  });

  it('breaks up plain @channel, @here and @everyone with an invisible joiner, and leaves other @ alone', () => {
    expect(slackUserText('@channel @Here @everyone @chan @alice')).toBe('@\u2060channel @\u2060Here @\u2060everyone @chan @alice');
  });

  it('breaks up bare links with invisible joiners', () => {
    expect(slackUserText('https://evil.example/login evil.com')).toBe('https:\u2060//evil.\u2060example/login evil.\u2060com');
  });

  it('shows Slack\'s formatting characters as look-alikes that format nothing (mrkdwn has no escape), keeping the length', () => {
    for (const name of ['*bold*', '_italic_', '~strike~', '`code`', '```x```', 'john_doe']) {
      const text = slackUserText(name);
      expect(text).not.toMatch(/[*_~`]/);
      expect(text).toHaveLength(name.length);
    }
    expect(slackUserText('*bold* _i_ ~s~ `c`')).toBe('\u2217bold\u2217 \u02CDi\u02CD \u223Cs\u223C \u02CBc\u02CB');
  });

  it('cleans like the Discord side: control characters, bidi overrides, blank names', () => {
    expect(slackUserText('a\u202Eb\u0007c')).toBe('ab c');
    expect(slackUserText('\u3164\u200B')).toBe(BLANK_NAME);
    expect(slackUserText('\uD800x')).toBe('\uFFFDx');
  });

  it('escapes only Slack\'s three control characters (the formatting ones are user text\'s alone to lose)', () => {
    expect(escapeSlackText('*_~`|"\'\\')).toBe('*_~`|"\'\\');
  });
});

describe('templates', () => {
  it('turns Discord markdown into Slack mrkdwn', () => {
    expect(slackMarkup('**{user}** joined *now* ~~old~~ __under__ ||secret||')).toBe('*{user}* joined _now_ ~old~ _under_ secret');
    expect(slackMarkup('5 * 3 and {user_name}')).toBe('5 * 3 and {user_name}');
  });

  it('renders a route template with escaped fields, plain names for mentions, and Slack\'s date token', () => {
    const event = named('<!channel> *Bob*');
    const line = renderSlackLine('🔀 **{user}** ({user_mention}) moved from {from_mention} to {to} · {time} & more', event);
    const unix = Math.floor(Date.parse(event.at) / 1000);
    const hhmm = new Date(event.at).toISOString().slice(11, 16);
    expect(line).toBe(`🔀 *&lt;!channel&gt; \u2217Bob\u2217* (&lt;!channel&gt; \u2217Bob\u2217) moved from ${event.before!.channel_name} to ${event.after!.channel_name} · <!date^${unix}^{time}|${hhmm} UTC> &amp; more`);
    // The only `<` left is the date token the relay wrote.
    expect(line.match(/</g)).toHaveLength(1);
  });

  it('fills every placeholder the Discord side has, within the same length budget', () => {
    const fields = renderSlackFields(named('x'.repeat(100)));
    expect(Object.keys(fields).sort()).toEqual(Object.keys(TEMPLATE_FIELDS).sort());
    // Escaping a name of 100 `&` gives 500 characters: more than Discord's doubling; lines are cut at the message limit.
    expect(slackUserText('&'.repeat(100))).toHaveLength(500);
  });

  it('a join has no "from" and a leave no "to"', () => {
    expect(renderSlackFields(voiceEvent('join')).from).toBe('');
    expect(renderSlackFields(voiceEvent('leave')).to).toBe('');
  });
});

describe('lengths', () => {
  it('budgets five characters per name character (an escaped &), names for mentions, and the date token', () => {
    expect(slackUserText('&'.repeat(MAX_NAME_LENGTH)).length).toBe(SLACK_FIELD_LENGTHS.user);
    expect(slackUserText('.'.repeat(MAX_NAME_LENGTH)).length).toBeLessThan(SLACK_FIELD_LENGTHS.user);
    expect(renderSlackFields(voiceEvent('join')).time.length).toBeLessThanOrEqual(SLACK_FIELD_LENGTHS.time);
    expect(maxSlackRenderedLength(parseTemplate('{user_mention} & {time}'))).toBe(500 + ' &amp; '.length + SLACK_FIELD_LENGTHS.time);
  });

  it('cuts a long line with an ellipsis, never inside a surrogate pair, an entity or a <…> token', () => {
    expect(fitSlackLine('abc', 3)).toBe('abc');
    expect(fitSlackLine(`${'x'.repeat(8)}😀y`, 10)).toBe(`${'x'.repeat(8)}…`);
    expect(fitSlackLine('ab&amp;cd', 6)).toBe('ab…');
    expect(fitSlackLine('ab <!date^1^{time}|00:00 UTC>', 12)).toBe('ab …');
    for (const line of [fitSlackLine('😀'.repeat(10), 8), fitSlackLine('&amp;'.repeat(10), 13)]) {
      expect(line.isWellFormed()).toBe(true);
      expect(line.length).toBeLessThanOrEqual(13);
      expect(line).not.toMatch(/&[a-z]*…/);
    }
  });
});

describe('lines written for Discord', () => {
  it('undo Discord escapes, then escape for Slack', () => {
    expect(discordLineToSlack('🧪 Relay test from \\<\\@evil\\> \\*x\\* **bold**')).toBe('🧪 Relay test from &lt;@evil&gt; _x_ *bold*');
    expect(discordLineToSlack('<!here> & \\@everyone')).toBe('&lt;!here&gt; &amp; @\u2060everyone');
  });
});
