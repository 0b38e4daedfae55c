/**
 * Message templates (config `routes[].template`): the placeholders a template may use, how user
 * text is made safe for Discord, and the template parser. The Verify Lambda fills the fields, the
 * config validator checks templates, and the state machine turns a template into `States.Format`.
 */
import type { VoiceStateUpdateEvent } from './events';

/** Discord's limit on `content`. */
export const DISCORD_CONTENT_LIMIT = 2000;

/**
 * The longest a name is once escaped: escaping can double it (2 × MAX_NAME_LENGTH, pinned by a
 * test). A literal, so that bundles which do not use TEMPLATE_FIELDS (Verify's) can drop it.
 */
export const ESCAPED_NAME_LENGTH = 200;

/**
 * Placeholders a template may use, with the longest text each can expand to. Names are escaped,
 * which can double their length.
 */
export const TEMPLATE_FIELDS = {
  /** Display name (server nickname or global name), markdown-escaped. */
  user: ESCAPED_NAME_LENGTH,
  /** Username, markdown-escaped. */
  user_name: ESCAPED_NAME_LENGTH,
  user_id: 20,
  /** `<@id>`: renders as a mention; never pings because messages carry `allowed_mentions: {parse: []}`. */
  user_mention: 23,
  guild: ESCAPED_NAME_LENGTH,
  /** The channel the event is about: the one joined, left, moved to, or updated in. */
  channel: ESCAPED_NAME_LENGTH,
  channel_mention: 23,
  /** Channel before the change ('' on join). */
  from: ESCAPED_NAME_LENGTH,
  from_mention: 23,
  /** Channel after the change ('' on leave). */
  to: ESCAPED_NAME_LENGTH,
  to_mention: 23,
  /** Discord timestamp markup `<t:unix:t>`, shown in each reader's own time zone. */
  time: 19,
  /** ISO 8601 time of the change, as sent. */
  at: 35,
} as const satisfies Record<string, number>;

export type TemplateField = keyof typeof TEMPLATE_FIELDS;
export type TemplateFields = Record<TemplateField, string>;

export function isTemplateField(name: string): name is TemplateField {
  return Object.prototype.hasOwnProperty.call(TEMPLATE_FIELDS, name);
}

/** Shown for a name that had nothing visible in it. */
export const BLANK_NAME = '(blank)';

// Format characters (Unicode category Cf): bidi overrides and isolates (U+202A-202E, U+2066-2069)
// that reorder the text around them, zero-width spaces and joiners, BOMs, tag characters. Two kinds
// are kept, as parts of emoji: a zero width joiner between two pictographs (after the first one's
// variation selector or skin tone, if any: 👩‍💻, 👨🏽‍💻, 🏳️‍🌈), and the tag letters of a subdivision
// flag (🏴 + 2-7 tag letters or digits + cancel tag: 🏴󠁧󠁢󠁳󠁣󠁴󠁿).
const FORMAT_CHARACTERS = /(?<flag>\u{1F3F4}[\u{E0030}-\u{E0039}\u{E0061}-\u{E007A}]{2,7}\u{E007F})|(?<=\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?)\u200D(?=\p{Extended_Pictographic})|(?<format>\p{Cf})/gu;
/** Characters that draw nothing alone (Hangul fillers, the blank Braille pattern, Khmer inherent vowels, the grapheme joiner, variation selectors): a name of only these is blank too. */
const BLANK_LOOKING = /[\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2800\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]/gu;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const MARKDOWN_CHARACTERS = /[\\*_~`|>#\-[\]()<:@]/g;

/**
 * Makes user text inert in a Discord message: lone surrogates become U+FFFD, invisible format
 * characters are removed (so no name can reverse or hide the text after it), control characters
 * become spaces, and every character Discord's markdown gives meaning to is backslash-escaped
 * (Discord drops the backslash before any escaped punctuation, so the text reads unchanged). Text
 * with nothing visible left reads {@link BLANK_NAME}.
 */
export function escapeDiscordText(text: string): string {
  return visibleText(text).replace(MARKDOWN_CHARACTERS, '\\$&');
}

/**
 * User text as any destination shows it: well-formed, without invisible format characters, control
 * characters as spaces, and {@link BLANK_NAME} for text with nothing visible. Not yet escaped.
 */
export function visibleText(text: string): string {
  const visible = text
    .toWellFormed()
    .replace(FORMAT_CHARACTERS, (match: string, _flag: string | undefined, format: string | undefined) => (format === undefined ? match : ''))
    .replace(CONTROL_CHARACTERS, ' ');
  return visible.replace(BLANK_LOOKING, '').trim() === '' ? BLANK_NAME : visible;
}

export function renderVoiceFields(event: VoiceStateUpdateEvent): TemplateFields {
  const channel = event.after ?? event.before;
  const unix = Math.floor(Date.parse(event.at) / 1000);
  return {
    user: escapeDiscordText(event.user.display_name),
    user_name: escapeDiscordText(event.user.name),
    user_id: event.user.id,
    user_mention: `<@${event.user.id}>`,
    guild: escapeDiscordText(event.guild.name),
    channel: channel ? escapeDiscordText(channel.channel_name) : '',
    channel_mention: channel ? `<#${channel.channel_id}>` : '',
    from: event.before ? escapeDiscordText(event.before.channel_name) : '',
    from_mention: event.before ? `<#${event.before.channel_id}>` : '',
    to: event.after ? escapeDiscordText(event.after.channel_name) : '',
    to_mention: event.after ? `<#${event.after.channel_id}>` : '',
    time: `<t:${unix}:t>`,
    at: event.at,
  };
}

export type TemplatePart = { readonly text: string } | { readonly field: TemplateField };

export class TemplateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

/**
 * Parses `"🔊 {user} joined {channel}"` into literal and field parts. `{{` and `}}` stand for
 * literal braces. Throws {@link TemplateSyntaxError} naming the problem.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      text += c;
      i++;
    } else if (c === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) throw new TemplateSyntaxError(`unclosed "{" at position ${i}; write "{{" for a literal brace`);
      const field = template.slice(i + 1, end);
      if (!isTemplateField(field)) {
        throw new TemplateSyntaxError(`unknown placeholder {${field}}; use one of ${Object.keys(TEMPLATE_FIELDS).map((f) => `{${f}}`).join(', ')}`);
      }
      if (text) parts.push({ text });
      text = '';
      parts.push({ field });
      i = end;
    } else if (c === '}') {
      throw new TemplateSyntaxError(`unmatched "}" at position ${i}; write "}}" for a literal brace`);
    } else if (c === '\\') {
      // Escaping a backslash inside a States.Format literal is not accepted by every ASL tool.
      throw new TemplateSyntaxError(`a backslash at position ${i} cannot be used in a template; remove it (user text is escaped for you)`);
    } else {
      text += c;
    }
  }
  if (text) parts.push({ text });
  return parts;
}

/** The longest content a parsed template can produce, in UTF-16 code units (≥ Discord's character count). */
export function maxRenderedLength(parts: readonly TemplatePart[]): number {
  return parts.reduce((n, p) => n + ('field' in p ? TEMPLATE_FIELDS[p.field] : p.text.length), 0);
}

/** Fills a parsed template (what the Format state does with `States.Format`); used by local tooling and tests. */
export function renderTemplate(parts: readonly TemplatePart[], fields: TemplateFields): string {
  return parts.map((p) => ('field' in p ? fields[p.field] : p.text)).join('');
}
