/** The Render card Lambda's entry: the logic lives in lib/delivery/card.ts, shared with local mode. */
import { createCardHandler } from '../../lib/delivery/handlers';

export const handler = createCardHandler();
