/**
 * The lanes' HTTP face in local mode, served on the ingest port: what is queued and what was
 * dead-lettered (`GET /_lanes`), and a redrive of the dead letters back onto the lane
 * (`POST /_lanes/redrive`) — what `aws sqs receive-message` and `aws sqs start-message-move-task`
 * do against a deployed relay.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeadLetterAttribute } from '../contracts/lane';
import { LocalRelayPath, type LocalLanesAnswer } from '../contracts/local-relay';
import { sendJson } from './http-util';
import type { LocalLanes } from './local-lanes';

export const LANES_PREFIX = LocalRelayPath.Lanes;

export class LaneRoutes {
  constructor(private readonly lanes: LocalLanes) {}

  matches(path: string): boolean {
    return path === LANES_PREFIX || path.startsWith(`${LANES_PREFIX}/`);
  }

  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method === 'GET' && path === LANES_PREFIX) {
      const answer: LocalLanesAnswer = {
        lane: this.lanes.lane.depth,
        deadLetters: this.lanes.deadLetters.peek().map((m) => ({
          messageId: m.messageId,
          channel: m.groupId,
          event: parse(m.body),
          error: m.attributes[DeadLetterAttribute.Error]?.StringValue ?? 'maxReceiveCount reached',
          reason: m.attributes[DeadLetterAttribute.Reason]?.StringValue ?? 'the delivery workflow kept failing on this batch',
        })),
      };
      return sendJson(res, 200, answer);
    }
    if (req.method === 'POST' && path === LocalRelayPath.Redrive) return sendJson(res, 200, { moved: this.lanes.deadLetters.moveAllTo(this.lanes.lane) });
    return sendJson(res, 404, { message: 'Not Found' });
  }
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
