import { dependencyFailure, storeRefusesWrites } from '../errors.js';
import { retryWhileUnavailable } from '../retry-while-unavailable.js';
import { within } from '../within-time.js';
import { skippedCall } from '../store/hang-breaker.js';
import { failedInModelStore } from '../store/instrumented-model-store.js';

/** How long a starting process waits for the scrub of what the model store lost of erasures (user-erasure.ts catchUp). */
export const ERASURE_CATCH_UP_WAIT_MS = 30_000;
/** How long of that it asks a store or Postgres that does not answer again before listening (ERASURE_CATCH_UP_RETRY_MS). */
export const ERASURE_CATCH_UP_RETRY_MS = 0;
/** How long the background catch-up waits after an error that is not an outage before it tries again. */
export const ERASURE_CATCH_UP_FAILED_RETRY_MS = 5_000;

export interface ErasureCatchUpAtStartDeps {
  /** The scrub of what the model store lost of erasures (user-erasure.ts catchUp). */
  catchUp: () => Promise<unknown>;
  /** Whether the model store answers now (its ping). */
  storeAnswers: () => Promise<boolean>;
  /** Holds the model store's versions back until `until` settles (serving.holdCustomerData). */
  hold: (until: Promise<unknown>) => void;
  /**
   * Answers every customer as an erased one until `until` settles, the store's item lists still served
   * (serving.holdCustomers): while Postgres did not answer, which customers were erased cannot be told.
   */
  holdCustomers?: (until: Promise<unknown>) => void;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface ErasureCatchUpAtStartOptions {
  /** How long the first try asks a store or Postgres that does not answer again (default ERASURE_CATCH_UP_RETRY_MS: once). */
  retryMs?: number;
  /** How long the start waits for the first try (default ERASURE_CATCH_UP_WAIT_MS). */
  waitMs?: number;
  /** How long the background catch-up waits after an error that is not an outage (default ERASURE_CATCH_UP_FAILED_RETRY_MS). */
  failedRetryMs?: number;
}

/**
 * The start's scrub of the erasures the model store lost (a Redis restarted from a snapshot taken before them),
 * before anything of it is served: none is answered from what it brought back. A store that answers is scrubbed
 * before the first request (`run`, awaited before listening). One that does not answer (a Redis down at start,
 * still loading its snapshot) is asked for `retryMs` (default: once) and then again in the background, not before
 * listening: the process listens, serves fallbacks, and holds the model store's versions back (`hold`) until the
 * scrub has run; `caughtUp()` (readiness's `erasureCatchUp`) is false meanwhile, also while only Postgres does not
 * answer (the store's item lists are served then, and every customer answered as an erased one: `holdCustomers`). A store that failed the first try is held whatever its ping
 * says after it, and so is one that refused the scrub's writes (MISCONF, OOM) until a later try has run. Past `waitMs` (the erasure lock held by a long turn, a long rewrite of versions behind), the start
 * goes on as the scrub goes on, the store's versions held until it has run.
 */
export function createErasureCatchUpAtStart(deps: ErasureCatchUpAtStartDeps, opts: ErasureCatchUpAtStartOptions = {}) {
  let closed = false;
  let caughtUp = true;
  const failedRetryMs = opts.failedRetryMs ?? ERASURE_CATCH_UP_FAILED_RETRY_MS;
  const notDone = (err: unknown) => deps.log.warn({ err }, 'erasure: could not check that the model store still holds every erasure; the reads of erasures while serving try again');

  // Until it has run (or the process closes): an error that is not an outage (a store back from an older
  // snapshot that refuses the scrub's writes, MISCONF or OOM) does not end the hold, it is tried again later.
  // `failedOnce`: the try before this one failed so already (the start's first, past its wait): the wait comes first.
  const scrubbed = async (failedOnce = false): Promise<void> => {
    if (failedOnce) {
      await new Promise((resolve) => setTimeout(resolve, failedRetryMs).unref());
      if (closed) return;
    }
    for (;;) {
      try {
        await retryWhileUnavailable(deps.catchUp, { forMs: Number.POSITIVE_INFINITY, stop: () => closed });
        deps.log.info({}, 'erasure: the model store is scrubbed of the erasures it lost: its versions are served');
        return;
      } catch (err) {
        if (closed) return;
        notDone(err);
        await new Promise((resolve) => setTimeout(resolve, failedRetryMs).unref());
        if (closed) return;
      }
    }
  };

  /** After a first try Postgres or the store did not answer: the scrub tried again in the background, the store held if it failed. */
  const inBackground = async (failure: unknown, o: { held: boolean }) => {
    // A model store that answers, with Postgres down, serves its item lists, and no customer until the scrub has
    // run: it may have come back from an older snapshot (everything restarted at once), and which customers were
    // erased since is in Postgres (erased_users). Served as before, it answered erased customers from it until
    // Postgres was back. The store that failed the first try is held whole even when it answers the ping after it:
    // a Redis back from an older snapshot in between would otherwise be served, its erased customers with it.
    const storeDown = failedInModelStore(failure) || skippedCall(failure) || !(await deps.storeAnswers());
    deps.log.warn(
      {},
      storeDown
        ? 'erasure: the model store does not answer: its versions are not served until it has been scrubbed of the erasures it lost (tried again in the background)'
        : 'erasure: Postgres does not answer: customers are answered as ones nobody knows (item lists from the model) until the model store has been checked against the erasures (tried again in the background)',
    );
    const background = scrubbed().finally(() => void (caughtUp = true));
    if (!storeDown) deps.holdCustomers?.(background);
    else if (!o.held) deps.hold(background);
    return { background };
  };

  return {
    /** The first try, before listening; resolves once the start may go on (the scrub ran, failed, or goes on in the background). */
    async run(): Promise<void> {
      let failure: unknown;
      const firstTry = retryWhileUnavailable(deps.catchUp, { forMs: opts.retryMs ?? ERASURE_CATCH_UP_RETRY_MS }).then(
        () => 'done' as const,
        (err: unknown) =>
          dependencyFailure(err)
            ? ((failure = err), 'unavailable' as const)
            : (notDone(err), storeRefusesWrites(err) ? ('refused' as const) : ('failed' as const)),
      );
      const outcome = await within(firstTry, opts.waitMs ?? ERASURE_CATCH_UP_WAIT_MS, () => 'late' as const);
      if (outcome === 'done' || outcome === 'failed') return;
      caughtUp = false;
      if (outcome === 'unavailable') {
        await inBackground(failure, { held: false });
        return;
      }
      if (outcome === 'refused') {
        // The store answers and refuses the scrub's writes (a Redis back from an older snapshot whose disk is full:
        // MISCONF; full under noeviction: OOM): it may be behind, so its versions are held until a later try has run.
        deps.log.warn({}, 'erasure: the model store refuses the scrub of the erasures it lost: its versions are not served until it has run (tried again in the background)');
        const background = scrubbed(true).finally(() => void (caughtUp = true));
        deps.hold(background);
        return;
      }
      // Past the wait (the erasure lock held by a long turn, a long rewrite of versions behind): the start goes on
      // and the store's versions are held until the scrub has run, not served unscrubbed meanwhile.
      deps.log.warn({}, 'erasure: the scrub of the erasures the model store lost goes on past the start: its versions are not served until it has run');
      const scrub = firstTry.then(async (late) => {
        if (late === 'unavailable') await (await inBackground(failure, { held: true })).background;
        // Failed otherwise (a store behind that refuses the rewrite's writes, MISCONF or OOM): not run, so still held.
        else if (late === 'failed' || late === 'refused') await scrubbed(true);
        else if (late === 'done') deps.log.info({}, 'erasure: the model store is scrubbed of the erasures it lost: its versions are served');
      });
      deps.hold(scrub);
      scrub.finally(() => void (caughtUp = true)).catch(() => {});
    },
    /** False while the scrub the start could not do has not run (readiness's `erasureCatchUp`). */
    caughtUp: (): boolean => caughtUp,
    /** Stops the background tries (the process closes). */
    close(): void {
      closed = true;
    },
  };
}

export type ErasureCatchUpAtStart = ReturnType<typeof createErasureCatchUpAtStart>;
