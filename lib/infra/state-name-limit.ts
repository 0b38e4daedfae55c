/**
 * Step Functions refuses a definition whose state names pass 80 characters (Amazon States
 * Language: "State names must have length of less than or equal to 80 Unicode characters"). Some
 * names carry a channel's name or an event kind, so a construct checks its own at synth, naming
 * the state, instead of leaving it to the deploy.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

export const MAX_STATE_NAME_LENGTH = 80;

/** Adds a validation to `scope`: every state under it has a name Step Functions takes. */
export function validateStateNames(scope: Construct): void {
  scope.node.addValidation({
    validate: () => scope.node.findAll()
      .filter((c): c is sfn.State => c instanceof sfn.State && [...c.stateId].length > MAX_STATE_NAME_LENGTH)
      .map((s) => `state "${s.stateId}" has a name of ${[...s.stateId].length} characters, over Step Functions' ${MAX_STATE_NAME_LENGTH}: use a shorter channel name`),
  });
}
