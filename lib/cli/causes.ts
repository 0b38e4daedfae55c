/** A relay's failure cause as a terminal shows it: `relay send` and `relay send --batch`. */
import { redactSecrets } from '../contracts/redact';

/**
 * A failure's cause as text: Lambda's `{"errorType","errorMessage"}` becomes its message, and a
 * Discord answer body (`…: {"message": …, "code": …}`) its message and code. Webhook tokens, bot
 * tokens and keys are redacted whatever the relay sent.
 */
export function describeCause(cause: string): string {
  return redactSecrets(readableCause(cause));
}

function readableCause(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON as a whole
  }
  const tail = /^(.*?): (\{.*\})$/s.exec(cause);
  if (tail) {
    try {
      const body = JSON.parse(tail[2]) as { message?: unknown; code?: unknown };
      if (typeof body.message === 'string') return `${tail[1]}: ${body.message}${body.code === undefined ? '' : ` (Discord code ${String(body.code)})`}`;
    } catch {
      // keep the text
    }
  }
  return cause;
}
