/**
 * Slack incoming webhooks (channels of `kind: 'slack'`): how a route's template and the event's
 * user text are rendered for Slack, and Slack's limits and answers. One template syntax for both
 * destinations: Discord markdown in a template becomes Slack mrkdwn, user text is escaped the way
 * Slack escapes (`&`, `<`, `>`: its only control characters), and Discord-only markup (mentions,
 * `<t:…>` timestamps) becomes what Slack shows instead.
 */
import type { VoiceStateUpdateEvent } from './events';
import { MAX_NAME_LENGTH } from './events';
import { TEMPLATE_FIELDS, parseTemplate, renderTemplate, visibleText, type TemplateField, type TemplateFields, type TemplatePart } from './template';

/** A Slack message is kept under this many characters (Slack truncates far longer ones and advises 4,000). */
export const SLACK_TEXT_LIMIT = 4000;

/** What a Slack webhook answers a post it accepted: 200 with this body. */
export const SLACK_OK = 'ok';

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes Slack's three control characters, so no `<!channel>`, `<@U…>`, `<#C…>` or `<url|label>` can form. */
export function escapeSlackText(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITIES[c]);
}

/**
 * A word joiner after the `@` of `@channel`, `@here` and `@everyone` written as plain text. Slack
 * notifies only for `<!channel>` (which escaping already prevents); that plain text never does is
 * assumed, so it is broken up either way. The joiner is invisible.
 */
function breakPlainMentions(text: string): string {
  return text.replace(/@(?=(?:channel|here|everyone)\b)/gi, '@\u2060');
}

/**
 * A word joiner after each `:` and `.` of user text, so a name forms no bare link (`https://…`,
 * `evil.com`, which Slack links by itself). That Slack's linking stops at the joiner is *assumed*;
 * it is invisible either way.
 */
function breakLinks(text: string): string {
  return text.replace(/[:.]/g, '$&\u2060');
}

/**
 * Slack's formatting characters in user text, each as a look-alike that formats nothing: mrkdwn
 * has no escape for `*`, `_`, `~` or a backtick, so a name like `*bold*` would otherwise bold
 * itself (or open code). One UTF-16 unit each, so lengths do not change.
 */
const FORMATTING_LOOK_ALIKES: Readonly<Record<string, string>> = { '*': '\u2217', _: '\u02CD', '~': '\u223C', '`': '\u02CB' };

function neutralizeFormatting(text: string): string {
  return text.replace(/[*_~`]/g, (c) => FORMATTING_LOOK_ALIKES[c]);
}

/** User text made inert in a Slack message: visible (as for Discord), escaped, no plain special mention, no bare link, no formatting. */
export function slackUserText(text: string): string {
  return neutralizeFormatting(breakLinks(breakPlainMentions(escapeSlackText(visibleText(text)))));
}

/**
 * The longest each placeholder renders to for Slack: a name of MAX_NAME_LENGTH characters, each
 * `&` of which escapes to five (more than any joiner adds); mentions are names here; the date
 * token with its fallback.
 */
const SLACK_NAME_LENGTH = 5 * MAX_NAME_LENGTH;
export const SLACK_FIELD_LENGTHS = {
  user: SLACK_NAME_LENGTH, user_name: SLACK_NAME_LENGTH, user_id: TEMPLATE_FIELDS.user_id, user_mention: SLACK_NAME_LENGTH,
  guild: SLACK_NAME_LENGTH, channel: SLACK_NAME_LENGTH, channel_mention: SLACK_NAME_LENGTH,
  from: SLACK_NAME_LENGTH, from_mention: SLACK_NAME_LENGTH, to: SLACK_NAME_LENGTH, to_mention: SLACK_NAME_LENGTH,
  time: '<!date^99999999999^{time}|00:00 UTC>'.length,
  at: TEMPLATE_FIELDS.at,
} as const satisfies Record<TemplateField, number>;

/** The longest a parsed template renders to in Slack, literal text converted and escaped. */
export function maxSlackRenderedLength(parts: readonly TemplatePart[]): number {
  return parts.reduce((n, p) => n + ('field' in p ? SLACK_FIELD_LENGTHS[p.field] : escapeSlackText(p.text).length), 0);
}

/**
 * A line cut to `limit` characters, ending with an ellipsis, never inside a surrogate pair, an
 * escaped entity (`&amp;`) or a `<…>` token the relay wrote.
 */
export function fitSlackLine(line: string, limit: number): string {
  if (line.length <= limit) return line;
  let cut = limit - 1;
  if (/[\uD800-\uDBFF]/.test(line[cut - 1] ?? '')) cut--;
  const head = line.slice(0, cut);
  const amp = head.lastIndexOf('&');
  if (amp >= 0 && !head.slice(amp).includes(';')) cut = amp;
  const open = head.lastIndexOf('<');
  if (open >= 0 && !line.slice(open, cut).includes('>')) cut = Math.min(cut, open);
  return `${line.slice(0, cut)}…`;
}

/** Discord markdown in a template's own text as Slack mrkdwn: `**bold**` → `*bold*`, `*italic*` → `_italic_`, `~~strike~~` → `~strike~`, `__underline__` → `_underline_`, `||spoiler||` shown plainly. */
export function slackMarkup(text: string): string {
  return text
    .replace(/\*\*(.+?)\*\*|\*(.+?)\*/g, (_match, bold: string | undefined, italic: string | undefined) => (bold !== undefined ? `*${bold}*` : `_${italic}_`))
    .replace(/~~(.+?)~~/g, '~$1~')
    .replace(/__(.+?)__/g, '_$1_')
    .replace(/\|\|(.+?)\|\|/g, '$1');
}

/** `{time}` for Slack: its date token, shown in each reader's time zone, with the UTC time as the fallback. */
function slackTime(at: string): string {
  const ms = Date.parse(at);
  return `<!date^${Math.floor(ms / 1000)}^{time}|${new Date(ms).toISOString().slice(11, 16)} UTC>`;
}

/** The template fields of a voice event for Slack; mentions (Discord-only) read as the plain names. */
export function renderSlackFields(event: VoiceStateUpdateEvent): TemplateFields {
  const channel = event.after ?? event.before;
  const user = slackUserText(event.user.display_name);
  const name = (c: { readonly channel_name: string } | null | undefined) => (c ? slackUserText(c.channel_name) : '');
  return {
    user,
    user_name: slackUserText(event.user.name),
    user_id: escapeSlackText(event.user.id),
    user_mention: user,
    guild: slackUserText(event.guild.name),
    channel: name(channel),
    channel_mention: name(channel),
    from: name(event.before),
    from_mention: name(event.before),
    to: name(event.after),
    to_mention: name(event.after),
    time: slackTime(event.at),
    at: escapeSlackText(event.at),
  };
}

/** A route's template rendered for Slack with the event's fields: the template's text escaped and converted, the fields escaped. */
export function renderSlackLine(template: string, event: VoiceStateUpdateEvent): string {
  return renderTemplate(parseTemplate(slackMarkup(escapeSlackText(template))), renderSlackFields(event));
}

/**
 * A line the relay wrote for Discord (a test message, an alarm notice) as Slack text: Discord's
 * backslash escapes undone, then escaped for Slack and its markdown converted.
 */
export function discordLineToSlack(line: string): string {
  return breakPlainMentions(slackMarkup(escapeSlackText(line.replace(/\\(.)/gu, '$1'))));
}
