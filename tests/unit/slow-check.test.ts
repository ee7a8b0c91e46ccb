import { describe, expect, it } from 'vitest';
import { slowCheck } from '../../src/slow-check.js';

/** A check whose answers the test gives, one pending call at a time. */
function steppedCheck() {
  const pending: ((ok: boolean) => void)[] = [];
  let calls = 0;
  return {
    check: () => new Promise<boolean>((resolve) => (calls++, pending.push(resolve))),
    answer: (ok: boolean) => pending.shift()!(ok),
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
});
