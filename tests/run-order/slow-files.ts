/**
 * Test files that take longest, longest first, which vitest starts before the rest (slow-files-first.ts). Written by
 * write-slow-files.ts from a whole run (not by hand: write it again when files are added, made slower or quicker).
 * The 53 files that took at least 1.0% of one worker's part of the summed file time (hooks included) in
 * the clean-clone run of 2026-12-07 05:28 (dbae26a0, .ci/run, quiet machine).
 * Beside each, its time there. A file left out starts in vitest's order; the list's test checks that every name exists.
 */
export const SLOW_FILES: readonly string[] = [
  'tests/unit/training/threaded-serving-build.test.ts', // 47.7 s
  'tests/e2e/server-start.test.ts', // 46.6 s
  'tests/e2e/dashboard-operations-browser.test.ts', // 44.9 s
  'tests/integration/faults/job-through-outage.test.ts', // 42.7 s
  'tests/integration/training/train-model.test.ts', // 39.2 s
  'tests/e2e/cli-with-running-server.test.ts', // 38.2 s
  'tests/integration/data/import-online-retail.test.ts', // 35.3 s
  'tests/e2e/server-start-redis-slow.test.ts', // 30.6 s
  'tests/e2e/dashboard-browser.test.ts', // 28.5 s
  'tests/integration/data/import-command.test.ts', // 26.8 s
  'tests/e2e/server-start-redis-hang.test.ts', // 26.1 s
  'tests/integration/training/training-api.test.ts', // 26.0 s
  'tests/integration/faults/store-hangs.test.ts', // 25.6 s
  'tests/e2e/first-start-interrupted.test.ts', // 23.9 s
  'tests/e2e/replicas-and-worker.test.ts', // 23.7 s
  'tests/e2e/server-drain.test.ts', // 22.5 s
  'tests/integration/faults/store-outages.test.ts', // 22.1 s
  'tests/integration/http/rate-limit.test.ts', // 21.8 s
  'tests/integration/store/redis-model-store.test.ts', // 21.8 s
  'tests/integration/http/evaluations.test.ts', // 19.3 s
  'tests/integration/serving/windowed-popularity-exact.test.ts', // 17.9 s
  'tests/e2e/server-first-start-redis-down.test.ts', // 17.6 s
  'tests/integration/data/import-generic.test.ts', // 17.5 s
  'tests/e2e/server-stop-frozen-store.test.ts', // 16.7 s
  'tests/integration/training/training-store-refuses-writes.test.ts', // 15.9 s
  'tests/unit/evaluation/rolling-tune.test.ts', // 15.5 s
  'tests/integration/data/import-command-live.test.ts', // 15.2 s
  'tests/e2e/server-start-postgres-down.test.ts', // 14.9 s
  'tests/integration/store/redis-cluster-model-store.test.ts', // 13.7 s
  'tests/integration/data/event-batch-writer.test.ts', // 12.8 s
  'tests/unit/training/train-with-tuning.test.ts', // 12.5 s
  'tests/e2e/server-start-redis-down.test.ts', // 12.0 s
  'tests/integration/faults/job-stalled-postgres-training.test.ts', // 11.8 s
  'tests/integration/privacy/erased-event-ids.test.ts', // 11.8 s
  'tests/integration/serving/item-buyers-migration-writers.test.ts', // 11.7 s
  'tests/unit/packaging/built-entry.test.ts', // 11.2 s
  'tests/integration/jobs/app-shutdown.test.ts', // 11.1 s
  'tests/integration/data/open-database-unreachable.test.ts', // 10.9 s
  'tests/integration/data/migrations.test.ts', // 10.8 s
  'tests/integration/privacy/erasure-abandoned-drafts.test.ts', // 10.8 s
  'tests/integration/privacy/erasure-redis-restored.test.ts', // 10.8 s
  'tests/integration/data/import-factors-command.test.ts', // 10.7 s
  'tests/integration/profiles/profiles-api.test.ts', // 10.7 s
  'tests/integration/faults/redis-dead-socket.test.ts', // 10.6 s
  'tests/integration/faults/job-stalled-postgres.test.ts', // 10.6 s
  'tests/integration/http/hostile-input.property.test.ts', // 10.5 s
  'tests/integration/serving/recommendations-api.test.ts', // 10.3 s
  'tests/integration/audiences/export-one-version.test.ts', // 9.9 s
  'tests/integration/privacy/user-erasure.test.ts', // 9.8 s
  'tests/integration/faults/redis-failover.test.ts', // 9.7 s
  'tests/integration/training/killed-training.test.ts', // 9.5 s
  'tests/e2e/dashboard-evaluates-served-recipe.test.ts', // 9.4 s
  'tests/integration/serving/version-readying.test.ts', // 8.5 s
];
