/** The commands registration custom resource's entry: the logic lives in lib/interactions/register-resource.ts. */
import { createLambdaRegisterHandler } from '../../lib/interactions/register-resource';

export const handler = createLambdaRegisterHandler(process.env);
