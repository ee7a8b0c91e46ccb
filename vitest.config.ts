import { defineConfig } from 'vitest/config';
import { SlowFilesFirst } from './tests/run-order/slow-files-first.js';

/** Files that watch the whole process (crash listeners) and so must not share it with other files. */
const ISOLATED = ['tests/integration/faults/store-outages.test.ts'];

export default defineConfig({
  test: {
    // Integration suites share one Postgres database and one Redis; each isolates itself by a random prefix/schema.
    // Three forks on two cores: the files wait for much of their time (servers and CLIs in child processes, outages,
    // polls), so a third worker uses CPU the two leave idle (bench/README "Three test workers on two cores").
    pool: 'forks',
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The kept PGlite snapshots, written before the files run when a fresh checkout has none (tests/global-setup.ts).
    globalSetup: ['tests/global-setup.ts'],
    // The longest files first, from a list written from a whole run (tests/run-order/write-slow-files.ts): a clean clone
    // has no results cache to order by, and a long file that starts last keeps one worker busy while the other waits.
    sequence: { sequencer: SlowFilesFirst },
    projects: [
      {
        extends: true,
        // A worker keeps its modules between test files instead of loading fastify, pg, zod and the source again
        // for each of 130 files (about a fifth of the suite's time). No test mocks a module, stubs a global or
        // changes the environment, and each builds its own app, registry and stores.
        test: { name: 'shared', include: ['tests/**/*.test.ts'], exclude: ISOLATED, isolate: false },
      },
      { extends: true, test: { name: 'isolated', include: ISOLATED, isolate: true } },
    ],
  },
});
