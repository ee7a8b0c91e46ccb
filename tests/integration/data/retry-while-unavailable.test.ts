import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { withQueryTimeout } from '../../../src/data/query-timeout.js';
import { dependencyFailure } from '../../../src/errors.js';
import { retryWhileUnavailable } from '../../../src/retry-while-unavailable.js';
import { freePort } from '../../helpers/private-servers.js';
import { advisoryLockHeld } from '../../helpers/lock-waits.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const pgAvailable = await serviceAvailable(POSTGRES_URL);

/**
 * A job's reads and writes wait through a Postgres that stopped answering (retryWhileUnavailable). A
 * statement Postgres cancelled at the role's statement_timeout is no outage: the same statement is
 * cancelled again at every try, so waiting only delays by about a minute a failure whose message
 * (CANCELLED_FAILURE) says which limit to lift. A lock wait given up at the role's lock_timeout, our own
 * statement limit and a Postgres that is not there are still waited through.
 */
describe.skipIf(!pgAvailable)('retrying while Postgres is unavailable', () => {
  let db: Db;
  beforeAll(() => {
    db = createPgDb(POSTGRES_URL, { max: 2 });
  });
  afterAll(() => db?.close());

  /** How many times retryWhileUnavailable ran `fn`, and what it threw at last. */
  async function attempts(fn: () => Promise<unknown>, forMs: number) {
    let tries = 0;
    const thrown = await retryWhileUnavailable(
      () => {
        tries++;
        return fn();
      },
      { forMs },
    ).then(
      () => null,
      (err: unknown) => err,
    );
    return { tries, thrown };
  }

  it("When Postgres cancels the statement by the role's statement_timeout, Then it is not tried again", async () => {
    const { tries, thrown } = await attempts(
      () =>
        db.transaction(async (tx) => {
          await tx.query("SET LOCAL statement_timeout = '20ms'");
          await tx.query('SELECT pg_sleep(1)');
        }),
      10_000,
    );
    expect((thrown as Error).message).toMatch(/canceling statement due to statement timeout/);
    // Still a dependency failure to the caller (the job's failure message names the limit).
    expect(dependencyFailure(thrown)).not.toBeNull();
    expect(tries).toBe(1);
  });

  it("When Postgres gives up the statement's wait for a lock by the role's lock_timeout and the lock stays held, Then it is tried within the wait and fails after it", async () => {
    const held = await advisoryLockHeld(POSTGRES_URL);
    const LOCK = held.lock;
    try {
      const { tries, thrown } = await attempts(
        () =>
          db.transaction(async (tx) => {
            await tx.query("SET LOCAL lock_timeout = '20ms'");
            await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK]);
          }),
        1_000,
      );
      expect((thrown as Error).message).toMatch(/canceling statement due to lock timeout/);
      expect(tries).toBeGreaterThan(1);
    } finally {
      await held.end();
    }
  });

  it("When the role's lock_timeout gives up a wait behind a lock held a moment longer (an erasure's transaction, say), Then it is tried again and goes through once the lock is free", async () => {
    // A job's write waiting behind another transaction's lock is not cancelled again at every try: the
    // holder commits, and the next try takes the lock. Failing the job there throws away its work for a
    // contention that ended a moment later (CANCELLED_FAILURE's own advice names an erasure's locks).
    const held = await advisoryLockHeld(POSTGRES_URL);
    const LOCK = held.lock;
    let tries = 0;
    try {
      const outcome = await retryWhileUnavailable(
        () => {
          tries++;
          return db.transaction(async (tx) => {
            await tx.query("SET LOCAL lock_timeout = '20ms'");
            await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK]);
            return 'written';
          });
        },
        // The holder commits as the first try is given up (no clock involved): the lock is free for the next.
        { forMs: 10_000, onRetry: () => held.release() },
      ).catch((err: unknown) => err);
      expect(outcome).toBe('written');
      expect(tries).toBe(2);
    } finally {
      await held.end();
    }
  });

  it('When a statement outlives our own limit, Then it is still tried again within the wait', async () => {
    const { tries, thrown } = await attempts(() => withQueryTimeout(20, () => db.query('SELECT pg_sleep(0.3)')), 1_500);
    expect(dependencyFailure(thrown)).not.toBeNull();
    expect(tries).toBeGreaterThan(1);
  });

  it('When Postgres is not there, Then the statement is still tried again within the wait', async () => {
    const gone = createPgDb(`postgres://postgres@127.0.0.1:${await freePort()}/x`, { max: 1 });
    try {
      const { tries, thrown } = await attempts(() => gone.query('SELECT 1'), 1_500);
      expect(dependencyFailure(thrown)).not.toBeNull();
      expect(tries).toBeGreaterThan(1);
    } finally {
      await gone.close();
    }
  });
});
