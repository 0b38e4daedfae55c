/** The Interactions Lambda's entry: the logic lives in lib/interactions/, shared with local mode. */
import { createLambdaHandler } from '../../lib/interactions/lambda-handler';

export const handler = createLambdaHandler(process.env);
