import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The nearest `file` in `from` or above. Used to find this project's own files (package-lock.json,
 * cdk.json) from its source or build location, whatever the current directory is.
 */
export function findUp(file: string, from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, file))) return join(dir, file);
    if (dirname(dir) === dir) throw new Error(`${file} not found in ${from} or any folder above it`);
  }
}
