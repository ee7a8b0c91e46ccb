import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Integration suites share one Postgres database and one Redis; each isolates itself by a random prefix/schema,
    // but two cores are all we have, so forks with a small pool keep memory and contention predictable.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
