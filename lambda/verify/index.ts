/**
 * The Verify Lambda's entry: the logic lives in lib/verify/handler.ts, shared with local mode.
 * `module.exports`, not `export`: esbuild then adds no ESM-to-CommonJS helpers (~500 B of a
 * bundle kept under 10 KB).
 */
import { createHandler } from '../../lib/verify/handler';

module.exports.handler = createHandler(process.env);
