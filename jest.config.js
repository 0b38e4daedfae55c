/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // tsconfig's isolatedModules makes ts-jest transpile file by file (fast); type-checking is
    // `tsc --noEmit`'s job, which `npm test` runs first.
    '^.+\\.tsx?$': 'ts-jest',
  },
  // Jest's default on 2 cores is one worker; most suites wait on HTTP, timers and child
  // processes, so several run side by side: on 2 cores, 3 workers finish the suite in ~105 s where
  // 2 took ~115-135 s (measured with the Discord app's suites).
  maxWorkers: 3,
  // Synthesis bundles Lambda code with esbuild; give slow CI machines room.
  testTimeout: 60000,
};
