/**
 * Commands that need a newer Node than the machine may have (Debian's Node 20, say) say so at
 * start, naming the Node the project installs, instead of crashing on a missing built-in.
 */
import { ConfigError } from './errors';

export interface NodeFloor {
  readonly major: number;
  readonly minor: number;
  /** What needs it, e.g. "node:sqlite, the forwarder's durable spool". */
  readonly reason: string;
}

/** `relay forward`: node:sqlite arrived in Node 22.5. */
export const FORWARD_NODE_FLOOR: NodeFloor = { major: 22, minor: 5, reason: "node:sqlite, the forwarder's durable spool" };
/** `relay local`: aws-local-stepfunctions declares Node ≥ 22. */
export const LOCAL_NODE_FLOOR: NodeFloor = { major: 22, minor: 0, reason: 'aws-local-stepfunctions, which runs the state machine' };

export function meetsNodeFloor(version: string, floor: NodeFloor): boolean {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > floor.major || (major === floor.major && minor >= floor.minor);
}

export function checkNodeFloor(command: string, floor: NodeFloor, version: string = process.versions.node): void {
  if (meetsNodeFloor(version, floor)) return;
  throw new ConfigError(
    `\`relay ${command}\` needs Node.js ${floor.major}.${floor.minor} or later (for ${floor.reason}); this is Node ${version}. ` +
      `Run it with the Node 24 the project installs: \`npx relay ${command} …\` in the project folder, ` +
      `or <project>/node_modules/.bin/node <project>/dist/bin/relay.js ${command} …`,
  );
}
