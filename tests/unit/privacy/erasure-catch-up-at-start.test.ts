import { afterEach, describe, expect, it } from 'vitest';
import { createErasureCatchUpAtStart, type ErasureCatchUpAtStart } from '../../../src/privacy/erasure-catch-up-at-start.js';
import { SKIPPED_MESSAGE } from '../../../src/store/hang-breaker.js';

/**
 * The start's scrub of the erasures the model store lost, at its own interface: a catch-up that succeeds, fails
 * for want of the store or of Postgres, or fails otherwise; a store whose ping answers or not; and serving's hold,
 * recorded. What matters: no version of a store that may have come back from an older snapshot is served before the
 * scrub has run (held), and readiness says whether it has.
 */
/** What the model store's calls fail with when its Redis is down (instrumented-model-store.ts names the store). */
const storeDown = () => new Error('model store at redis://127.0.0.1:6399: Connection is closed.', { cause: new Error('Connection is closed.') });
/** What a Postgres that went away fails a statement with. */
const postgresDown = () => new Error('Connection terminated unexpectedly');
const quiet = { info: () => {}, warn: () => {} };

describe('the erasure catch-up at start', () => {
  const opened: ErasureCatchUpAtStart[] = [];
  afterEach(() => opened.splice(0).forEach((c) => c.close()));

  /** A catch-up that fails with `first` (when given) and then with what `next()` says, or succeeds. */
  const setUp = (o: { first?: Error; next?: () => Error | null; storeAnswers: boolean | (() => boolean) }) => {
    const holds: Promise<unknown>[] = [];
    const customerHolds: Promise<unknown>[] = [];
    let calls = 0;
    let scrubs = 0;
    const catchUp = createErasureCatchUpAtStart(
      {
        catchUp: async () => {
          calls++;
          const err = calls === 1 && o.first ? o.first : (o.next?.() ?? null);
          if (err) throw err;
          scrubs++;
          return [];
        },
        storeAnswers: async () => (typeof o.storeAnswers === 'function' ? o.storeAnswers() : o.storeAnswers),
        hold: (until) => void holds.push(until),
        holdCustomers: (until) => void customerHolds.push(until),
        log: quiet,
      },
      { failedRetryMs: 50 },
    );
    opened.push(catchUp);
    return { catchUp, holds, customerHolds, scrubs: () => scrubs };
  };

  it('When the store and Postgres answer, Then the scrub runs before the start goes on, and nothing is held', async () => {
    const s = setUp({ storeAnswers: true });
    await s.catchUp.run();
    expect(s.scrubs()).toBe(1);
    expect(s.catchUp.caughtUp()).toBe(true);
    expect(s.holds).toHaveLength(0);
  });

  it('When the store does not answer, Then its versions are held and readiness is false until the scrub runs in the background', async () => {
    let down = true;
    const s = setUp({ first: storeDown(), next: () => (down ? storeDown() : null), storeAnswers: () => !down });
    await s.catchUp.run();
    expect(s.holds).toHaveLength(1);
    expect(s.catchUp.caughtUp()).toBe(false);
    expect(s.scrubs()).toBe(0);
    down = false;
    await s.holds[0];
    expect(s.scrubs()).toBe(1);
    expect(s.catchUp.caughtUp()).toBe(true);
  });

  it('When only Postgres does not answer, Then the store (which answers) serves its item lists, its customers are held, and readiness is false until the scrub runs', async () => {
    let down = true;
    const s = setUp({ first: postgresDown(), next: () => (down ? postgresDown() : null), storeAnswers: true });
    await s.catchUp.run();
    expect(s.holds).toHaveLength(0);
    // Before, its customers were served too: the store may be back from before erasures only Postgres knows of.
    expect(s.customerHolds).toHaveLength(1);
    let released = false;
    void s.customerHolds[0].then(() => (released = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(released).toBe(false);
    expect(s.catchUp.caughtUp()).toBe(false);
    down = false;
    await s.customerHolds[0];
    expect(s.catchUp.caughtUp()).toBe(true);
    expect(s.scrubs()).toBe(1);
  });

  it('When the first try fails with an error that is not an outage, Then the start goes on without a hold, as before', async () => {
    const s = setUp({ first: new Error('a bug, not an outage'), storeAnswers: true });
    await s.catchUp.run();
    expect(s.holds).toHaveLength(0);
    expect(s.catchUp.caughtUp()).toBe(true);
  });

  it('When the first try fails because the store refuses the scrub\'s writes (MISCONF, OOM), Then its versions are held until a later try has run', async () => {
    // A Redis back from an older snapshot that answers reads and refuses writes (its disk full: MISCONF; full under
    // noeviction: OOM) is behind and cannot be scrubbed: what it holds of erased customers must not be served.
    let refusing = true;
    const misconf = () => Object.assign(new Error('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'), { name: 'ReplyError' });
    const s = setUp({ first: misconf(), next: () => (refusing ? misconf() : null), storeAnswers: true });
    await s.catchUp.run();
    expect(s.holds).toHaveLength(1);
    expect(s.catchUp.caughtUp()).toBe(false);
    refusing = false;
    await s.holds[0];
    expect(s.scrubs()).toBe(1);
    expect(s.catchUp.caughtUp()).toBe(true);
  });

  it('When the first try was skipped by the hang breaker (a Redis the start took for silent) and the store answers the ping after, Then its versions are held until the scrub has run', async () => {
    // A Redis slower than the start's 500 ms look, or still loading: skipped at the first try, answering just after.
    const s = setUp({ first: new Error(SKIPPED_MESSAGE), storeAnswers: true });
    await s.catchUp.run();
    expect(s.holds).toHaveLength(1);
    expect(s.catchUp.caughtUp()).toBe(false);
    await s.holds[0];
    expect(s.scrubs()).toBe(1);
    expect(s.catchUp.caughtUp()).toBe(true);
  });

  it('When the store failed the first try and answers again by the time it is pinged, Then its versions are held until the scrub has run', async () => {
    // A Redis restarting from an older snapshot: down at the first try, back (with erased customers in it) at the
    // ping. Its versions must not be served before the scrub, which the background runs only after this.
    const s = setUp({ first: storeDown(), storeAnswers: true });
    await s.catchUp.run();
    expect(s.holds).toHaveLength(1);
    expect(s.catchUp.caughtUp()).toBe(false);
    await s.holds[0];
    expect(s.scrubs()).toBe(1);
    expect(s.catchUp.caughtUp()).toBe(true);
  });

  it('When the scrub outlasts the start\'s wait (a long rewrite of versions behind), Then the start goes on with the versions held until it has run', async () => {
    let finish: () => void = () => {};
    const holds: Promise<unknown>[] = [];
    const catchUp = createErasureCatchUpAtStart(
      {
        catchUp: () => new Promise<void>((resolve) => (finish = resolve)),
        storeAnswers: async () => true,
        hold: (until) => void holds.push(until),
        log: quiet,
      },
      { waitMs: 50 },
    );
    opened.push(catchUp);
    await catchUp.run();
    expect(holds).toHaveLength(1);
    expect(catchUp.caughtUp()).toBe(false);
    finish();
    await holds[0];
    expect(catchUp.caughtUp()).toBe(true);
  });

  it('When the scrub outlasts the start\'s wait and then fails with an error that is not an outage, Then the versions stay held until a later try has run', async () => {
    // A long rewrite of versions behind that a Redis back from an older snapshot then refuses (MISCONF): the store
    // is behind, and what it holds of erased customers must not be served because the first try gave up.
    let calls = 0;
    let fail: (err: Error) => void = () => {};
    let scrubs = 0;
    const holds: Promise<unknown>[] = [];
    const catchUp = createErasureCatchUpAtStart(
      {
        catchUp: () => {
          calls++;
          if (calls === 1) return new Promise<void>((_resolve, reject) => (fail = reject));
          scrubs++;
          return Promise.resolve();
        },
        storeAnswers: async () => true,
        hold: (until) => void holds.push(until),
        log: quiet,
      },
      { waitMs: 50, failedRetryMs: 200 },
    );
    opened.push(catchUp);
    await catchUp.run();
    expect(holds).toHaveLength(1);
    let released = false;
    void holds[0].finally(() => (released = true));
    fail(Object.assign(new Error('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'), { name: 'ReplyError' }));
    await new Promise((r) => setTimeout(r, 20));
    // Not released by the failure: no scrub has run.
    expect(scrubs).toBe(0);
    expect(released).toBe(false);
    expect(catchUp.caughtUp()).toBe(false);
    await holds[0];
    expect(scrubs).toBe(1);
    expect(catchUp.caughtUp()).toBe(true);
  });
});
