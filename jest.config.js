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
  // Synthesis bundles Lambda code with esbuild; give slow CI machines room.
  testTimeout: 60000,
};
