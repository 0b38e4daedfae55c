/** Argument parsing shared by the commands: node:util's parseArgs, with errors that name the fix. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, UsageError } from './errors';
import { KEY_ID_PATTERN } from '../contracts/envelope';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The candidate closest to `word` by edit distance, when it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** parseArgs in strict mode; an unknown flag is a usage error suggesting the nearest real one. */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const e = error as Error & { code?: string };
    if (!e.code?.startsWith('ERR_PARSE_ARGS')) throw error;
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'(-[^']*)'/.exec(e.message)?.[1] ?? argv.find((a) => a.startsWith('-')) ?? '';
      const suggestion = closest(flag.replace(/^-+/, '').split('=')[0], Object.keys(options));
      throw new UsageError(`unknown option ${flag} for ${command}${suggestion ? `; did you mean --${suggestion}?` : ''}`, command);
    }
    // "Option '--display-name <value>' argument missing": name the flag and what it needs.
    const missing = /Option '(--[\w-]+)(?: <value>)?' argument missing/.exec(e.message);
    if (missing) throw new UsageError(`${missing[1]} needs a value (${missing[1]} <value>)`, command);
    // "--channel --kind x": the next word is a flag, so the value was left out.
    const ambiguous = /Option '(--[\w-]+)(?: <value>)?' argument is ambiguous/.exec(e.message);
    if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value (${ambiguous[1]} <value>; a value that starts with a dash goes as ${ambiguous[1]}=-…)`, command);
    throw new UsageError(e.message.split('. To specify')[0], command);
  }
}

/** A whole number flag in [`min`, `max`], or undefined when not given. Digits only: "1e3", "0x10" and " 5" are typos, not numbers. */
export function wholeNumber(command: string, flag: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max.toLocaleString('en-US')}` : min > 0 ? ` of at least ${min}` : '';
    throw new UsageError(`--${flag} must be a whole number${range}, got "${value}"`, command);
  }
  return n;
}

/** A key id from a flag (a usage error) or from the environment or a settings file (a config error), checked as Verify checks it. */
export function checkKeyId(command: string, kid: string, source: string): string {
  if (KEY_ID_PATTERN.test(kid)) return kid;
  const message = `${source} "${kid}" is not a key id: use 1-64 characters of [A-Za-z0-9._-] (the name you gave relay keygen --kid)`;
  throw source.startsWith('--') ? new UsageError(message, command) : new ConfigError(message);
}

export function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length) throw new UsageError(`${command} takes no arguments besides its options, got: ${positionals.join(' ')}`, command);
}
