/**
 * Secrets out of text the relay shows: causes, dead-letter reasons, logs, CLI output, HTTP answers.
 * A destination can echo its own URL (webhook token included) in an error body, and an error can
 * quote a configuration value, so every cause built from outside text passes through here.
 */

export const REDACTED = '[redacted]';

/** A webhook URL's token: `/webhooks/<id>/<token>` on any host (Discord's, a proxy's, the local sink's). */
const WEBHOOK_TOKEN = /(\/webhooks\/[^/\s"'\\?#]+\/)[^/\s"'\\?#&]+/gi;
/** A Discord bot token: base64 user id, timestamp and HMAC, dot-separated. */
const BOT_TOKEN = /\b[A-Za-z0-9_-]{20,30}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}/g;
/** A PEM private key (the forwarder's Ed25519 signing key, or any other). */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
/** `token=…`, `secret=…`, `signature=…` query or form parameters. */
const SECRET_PARAMETER = /\b((?:token|secret|signature|password|key)=)[^&\s"']+/gi;

/**
 * `text` with webhook tokens, bot tokens, private keys and secret-looking parameters replaced by
 * {@link REDACTED}, plus every string of `known` (configured secrets this process holds).
 */
export function redactSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  for (const secret of known) if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  return out
    .replace(PEM_PRIVATE_KEY, REDACTED)
    .replace(WEBHOOK_TOKEN, `$1${REDACTED}`)
    .replace(BOT_TOKEN, REDACTED)
    .replace(SECRET_PARAMETER, `$1${REDACTED}`);
}

/** {@link redactSecrets}, cut to `max` characters: what a cause or reason may carry of outside text. */
export function describeOutsideText(text: string, max = 500, known: readonly string[] = []): string {
  const clean = redactSecrets(text, known);
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
