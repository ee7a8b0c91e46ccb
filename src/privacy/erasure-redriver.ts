import type { ErasureRepository } from '../data/erasure-repository.js';
import { ERASURE_BATCH, ERASURE_REQUEST_LEASE_MS, erasureTaken } from './user-erasure.js';

export interface ErasureRedriverDeps {
  requests: Pick<ErasureRepository, 'claimErasures' | 'erasureRequestCounts'> & Partial<Pick<ErasureRepository, 'pruneSettled'>>;
  /**
   * A new holder for each claim (user-erasure.ts nextHolder: this process's token and a number, migration 039): the
   * erasure path finds the erasures taken under it this process's own.
   */
  holder: () => string;
  /** The erasure path a DELETE takes (user-erasure.ts erase), told the erasure is taken already (`claimed`). */
  erase: (userId: string, opts: { claimed: boolean; holder: string }) => Promise<boolean>;
  /**
   * Whether the model store takes writes now (its write check, acceptsWrites): no erasure is taken while it does not,
   * so a store that answers and refuses writes (a Redis replica: READONLY) costs no failed try and no back-off.
   */
  storeTakesWrites: () => Promise<boolean>;
  /** The gauge of erasures owed (asked, not recorded) and the counter of those this process completed. */
  metrics?: { erasuresPending: { set(n: number): void }; erasuresRedriven: { inc(n?: number): void } };
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** How long an erasure taken is left to this process (default ERASURE_REQUEST_LEASE_MS). */
  leaseMs?: number;
}

export interface RedrivePass {
  /** Erasures owed when the pass began. */
  pending: number;
  /** Those this pass completed (recorded in erased_users, or found never known: nothing to do). */
  redriven: number;
  /** Those it took and that failed again (owed still, after a back-off). */
  failed: number;
}

/**
 * Completes the erasures the service was asked for and did not finish (erasure_requests, migration 036): a
 * DELETE /v1/users/:id answered 503 because the model store did not answer, or cut short by a close
 * (ERASURE_CLOSE_WAIT_MS), or whose process died. Each pass (every ERASURE_REDRIVE_MS, app.ts) reads how many are
 * owed and due (one read of the table: with none owed, that is all it does); while the model store does not take
 * writes (down, or answering READONLY) it takes none. Else it takes those due, up to ERASURE_BATCH at a time (claimErasures: FOR UPDATE SKIP LOCKED and
 * a lease, so no two processes drive one erasure), and erases them through the erasure path of a DELETE: queued
 * together, one turn, the same guarantees. One that fails again is owed after a back-off doubling per failure
 * (user-erasure.ts). Each pass also drops the settled ids past the day migration 037 keeps them (pruneSettled). A pass
 * never rejects: it logs.
 */
export function createErasureRedriver(deps: ErasureRedriverDeps) {
  const leaseMs = deps.leaseMs ?? ERASURE_REQUEST_LEASE_MS;

  async function pass(signal?: AbortSignal): Promise<RedrivePass> {
    // The settled ids past their day go on the same timer, beside the read (no round trip more); a failure is logged
    // only: they are dropped at the next pass, or the next erasure's deletion.
    const pruned = deps.requests.pruneSettled?.().catch((err: unknown) => void deps.log?.warn({ err }, 'erasure: could not drop the settled erasure ids past their day; the next pass tries again'));
    const counts = await deps.requests.erasureRequestCounts().finally(() => pruned);
    deps.metrics?.erasuresPending.set(counts.pending);
    const done: RedrivePass = { pending: counts.pending, redriven: 0, failed: 0 };
    if (counts.due === 0 || !(await deps.storeTakesWrites())) return done;
    for (;;) {
      if (signal?.aborted) break;
      const holder = deps.holder();
      const ids = await deps.requests.claimErasures(ERASURE_BATCH, leaseMs, holder);
      if (ids.length === 0) break;
      const results = await Promise.allSettled(ids.map((id) => deps.erase(id, { claimed: true, holder })));
      // One another process took before its turn came (this lease ran out meanwhile) is neither done here nor failed:
      // the other drives it, and no back-off was noted.
      const failures = results.flatMap((r) => (r.status === 'rejected' && !erasureTaken(r.reason) ? [r.reason as unknown] : []));
      const completed = results.filter((r) => r.status === 'fulfilled').length;
      done.redriven += completed;
      done.failed += failures.length;
      deps.metrics?.erasuresRedriven.inc(completed);
      if (failures.length > 0) {
        deps.log?.warn({ err: failures[0], failed: failures.length }, 'erasure: an erasure owed failed again; it is tried again after a back-off');
        break;
      }
      if (ids.length < ERASURE_BATCH) break;
    }
    if (done.redriven > 0) deps.log?.info({ redriven: done.redriven }, 'erasure: completed erasures that were asked for and had failed');
    deps.metrics?.erasuresPending.set(Math.max(0, counts.pending - done.redriven));
    return done;
  }

  return {
    pass,
    /** A pass that logs its failure instead of throwing (Postgres down: the next pass tries again). */
    async run(signal?: AbortSignal): Promise<void> {
      await pass(signal).catch((err: unknown) => deps.log?.warn({ err }, 'erasure: could not look for erasures owed; the next pass tries again'));
    },
  };
}

export type ErasureRedriver = ReturnType<typeof createErasureRedriver>;
