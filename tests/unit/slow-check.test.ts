import { describe, expect, it } from 'vitest';
import { slowCheck } from '../../src/slow-check.js';

/** A check whose answers the test gives, one pending call at a time. */
function steppedCheck() {
  const pending: ((ok: boolean) => void)[] = [];
  let calls = 0;
  return {
    check: () => new Promise<boolean>((resolve) => (calls++, pending.push(resolve))),
    answer: (ok: boolean) => pending.shift()!(ok),
    /** The oldest pending call is never answered. */
    drop: () => void pending.shift(),
    calls: () => calls,
  };
}

describe('slowCheck', () => {
  it('When the check answers within the wait, Then that answer is given', async () => {
    const check = slowCheck('x', async () => true, { waitMs: 50 });
    expect(await check()).toBe(true);
  });

  it('When a check takes longer than the wait, Then the call answers from the last finished check, runs one check at a time, and logs the slowness once', async () => {
    const stepped = steppedCheck();
    const warnings: string[] = [];
    let clock = 0;
    const check = slowCheck('the active model', stepped.check, { waitMs: 20, keepMs: 1000, now: () => clock, log: { warn: (m) => warnings.push(m), info() {} } });
    // Nothing finished yet: not ready.
    expect(await check()).toBe(false);
    clock = 100;
    stepped.answer(true);
    await Promise.resolve();
    // A second call starts a new check that is slow too: the first's answer stands.
    expect(await check()).toBe(true);
    expect(await check()).toBe(true);
    expect(stepped.calls()).toBe(2);
    expect(warnings).toEqual([expect.stringContaining('readiness: checking the active model took 100 ms')]);
    // Once the last answer is older than keepMs, a check that does not finish counts as failed.
    clock = 1200;
    expect(await check()).toBe(false);
  });

  it('When the last check was fast and one call is slow, Then that call fails, as the store is not known to be slow', async () => {
    const stepped = steppedCheck();
    const check = slowCheck('x', stepped.check, { waitMs: 20, keepMs: 1000, now: () => 0 });
    const first = check();
    stepped.answer(true);
    expect(await first).toBe(true);
    expect(await check()).toBe(false);
  });

  it('When a check never finishes, Then once it has run keepMs the next call starts a new one, so a store that is back is ready again', async () => {
    const stepped = steppedCheck();
    let clock = 0;
    const check = slowCheck('x', stepped.check, { waitMs: 20, keepMs: 1000, now: () => clock });
    // The first check gets no answer, ever (its resolver is dropped).
    expect(await check()).toBe(false);
    stepped.drop();
    clock = 500;
    expect(await check()).toBe(false);
    expect(stepped.calls()).toBe(1);
    // Past keepMs: a new check is asked, and the store, back, answers it in time.
    clock = 1500;
    const call = check();
    stepped.answer(true);
    expect(await call).toBe(true);
    expect(stepped.calls()).toBe(2);
  });

  it('When a slow store goes down (its check fails at once), Then the call says false, not the slow phase\'s last answer', async () => {
    const stepped = steppedCheck();
    let clock = 0;
    const check = slowCheck('x', stepped.check, { waitMs: 20, keepMs: 1000, now: () => clock });
    // A slow phase: the check finishes after the wait, true.
    expect(await check()).toBe(false);
    clock = 100;
    stepped.answer(true);
    await new Promise((r) => setTimeout(r, 0));
    // Redis killed: the next check fails within the wait (connection refused), well inside keepMs of the last true.
    const call = check();
    stepped.answer(false);
    expect(await call).toBe(false);
  });
});
