/**
 * The forwarder's defaults, in a module of their own so that the CLI's help can print them
 * without loading the gateway client. The Forwarder and `relay forward` use them; nothing else repeats them.
 */
import { join } from 'node:path';

export const FORWARDER_DEFAULTS = {
  /** Changes held this long to drop flapping (join+leave → nothing, leave+join → move). */
  debounceMs: 3000,
  /** Heartbeat event interval; 0 turns heartbeats off. */
  heartbeatMs: 5 * 60_000,
  /** GET /healthz on 127.0.0.1:<port>. */
  healthPort: 8788,
  healthHost: '127.0.0.1',
  spoolFile: join('.relay', 'forwarder', 'spool.db'),
} as const;
