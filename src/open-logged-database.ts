import { backgroundLog } from './background-log.js';
import type { Config } from './config.js';
import type { Db } from './data/db.js';
import { openDatabaseWhenReachable } from './data/open-database.js';
import type { Logger } from './jobs/job-runner.js';

/**
 * The database of a long-running process (the server, the worker), waited for when Postgres cannot be
 * reached at start (openDatabaseWhenReachable), with the wait in the process's log: `waiting` at most once
 * per 30 s (with the cause, naming DATABASE_URL, and how many tries were left out), then
 * `database reached and migrated` once it was reached.
 */
export async function openLoggedDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>,
  logger: Logger,
  waiting: string,
): Promise<{ db: Db; migrated: Promise<void> }> {
  const waitLog = backgroundLog(logger, { everyMs: 30_000 });
  let waited = false;
  const { db, migrated } = await openDatabaseWhenReachable(config, {
    onWait: (err, waitMs) => {
      waited = true;
      waitLog(waiting, err, { retryInMs: waitMs });
    },
  });
  const logged = migrated.then(() => void (waited && logger.info({}, 'database reached and migrated')));
  // Whoever awaits it sees its failure; until then it is not an unhandled rejection.
  logged.catch(() => {});
  return { db, migrated: logged };
}
