/** The Coalesce Lambda's entry: the logic lives in lib/delivery/coalesce.ts, shared with local mode. */
import { createCoalesceHandler } from '../../lib/delivery/handlers';

export const handler = createCoalesceHandler();
