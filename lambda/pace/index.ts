/** The Pace Lambda's entry: the logic lives in lib/delivery/pace.ts, shared with local mode. */
import { createPaceHandler } from '../../lib/delivery/handlers';

export const handler = createPaceHandler();
