import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Integration suites share one Postgres database and one Redis; each isolates itself by a random prefix/schema,
    // but two cores are all we have, so forks with a small pool keep memory and contention predictable.
    pool: 'forks',
    maxWorkers: 2,
    // A worker keeps its modules between test files instead of loading fastify, pg, zod and the source
    // again for each of 130 files (about a fifth of the suite's time). No test mocks a module or changes
    // the environment, and each builds its own app, registry and stores.
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
