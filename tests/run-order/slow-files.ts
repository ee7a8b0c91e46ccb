/**
 * Test files that take longest, longest first (roughly: from the clean-clone and loaded runs recorded in bench/README,
 * "Test suite time"), which vitest starts before the rest (slow-files-first.ts). Keep it short and by hand: a file
 * that becomes slow belongs here, one that is made quick can leave; the list's test checks that every name exists.
 */
export const SLOW_FILES: readonly string[] = [
  'tests/e2e/replicas-and-worker.test.ts',
  'tests/e2e/dashboard-browser.test.ts',
  'tests/integration/faults/job-through-outage.test.ts',
  'tests/unit/training/threaded-serving-build.test.ts',
  'tests/e2e/server-start.test.ts',
  'tests/e2e/server-first-start-redis-down.test.ts',
  'tests/integration/data/migrations.test.ts',
  'tests/unit/evaluation/rolling-tune.test.ts',
  'tests/integration/data/import-command.test.ts',
  'tests/e2e/dashboard-operations-browser.test.ts',
  'tests/integration/training/train-model.test.ts',
  'tests/integration/serving/windowed-popularity-exact.test.ts',
  'tests/e2e/first-start-interrupted.test.ts',
  'tests/integration/data/import-factors-command.test.ts',
  'tests/e2e/server-start-postgres-down.test.ts',
  'tests/integration/training/training-api.test.ts',
  'tests/e2e/cli-with-running-server.test.ts',
  'tests/integration/http/evaluations.test.ts',
  'tests/integration/privacy/erased-event-ids.test.ts',
  'tests/integration/privacy/erasure-abandoned-drafts.test.ts',
  'tests/e2e/server-drain.test.ts',
  'tests/integration/training/training-store-refuses-writes.test.ts',
  'tests/integration/privacy/user-erasure.test.ts',
  'tests/integration/data/import-online-retail.test.ts',
];
