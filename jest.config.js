/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // isolatedModules: type-checking is `npm run typecheck`'s job (run by `npm test`); per-file
    // transpilation keeps the suite fast.
    '^.+\\.tsx?$': ['ts-jest', { isolatedModules: true }],
  },
  // Synthesis bundles Lambda code with esbuild; give slow CI machines room.
  testTimeout: 60000,
};
