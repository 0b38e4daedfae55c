/** The Verify Lambda's entry: the logic lives in lib/verify/handler.ts, shared with local mode. */
import { createHandler } from '../../lib/verify/handler';

export const handler = createHandler(process.env);
