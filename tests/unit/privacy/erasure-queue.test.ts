import { describe, expect, it } from 'vitest';
import { LONG_STATEMENT_MS, queryTimeout, withQueryTimeout } from '../../../src/data/query-timeout.js';
import type { ModelMeta } from '../../../src/store/model-store.js';
import { createUserErasure, type UserErasureDeps } from '../../../src/privacy/user-erasure.js';

/** Fakes that record, per call, the statement limit in force and how many turns run at once. */
function recorded() {
  const limits: (number | undefined)[] = [];
  let running = 0;
  let most = 0;
  const turn = async <T>(value: T): Promise<T> => {
    limits.push(queryTimeout());
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return value;
  };
  const deps = {
    events: { deleteUser: () => turn(true) },
    erasures: { locked: (fn: (erasedSince: (mark: number) => Promise<string[]>) => Promise<unknown>) => turn(null).then(() => fn(async () => [])) },
    store: { listVersions: async () => [], deleteUser: async () => {} },
    forget: async () => {},
  } as unknown as UserErasureDeps;
  return { deps, limits, most: () => most };
}

describe('erasures and scrubs in one process', () => {
  it('When erasures and both scrubs of a training come at once, Then they run one at a time, each under the long statement limit whoever asked', async () => {
    const { deps, limits, most } = recorded();
    const erasure = createUserErasure(deps);
    const draft = { version: 'draft', info: {} } as unknown as ModelMeta;
    await Promise.all([
      withQueryTimeout(100, () => erasure.erase('a')),
      erasure.erase('b'),
      erasure.scrubDraft(0, draft),
      erasure.scrubSince(0),
    ]);
    expect(most()).toBe(1);
    expect(limits).toEqual([LONG_STATEMENT_MS, LONG_STATEMENT_MS, LONG_STATEMENT_MS, LONG_STATEMENT_MS]);
  });

  it('When a turn fails, Then its caller sees the failure and the next turn still runs', async () => {
    const { deps } = recorded();
    let calls = 0;
    deps.events.deleteUser = async () => {
      if (calls++ === 0) throw new Error('store down');
      return true;
    };
    const erasure = createUserErasure(deps);
    const [first, second] = await Promise.allSettled([erasure.erase('a'), erasure.erase('b')]);
    expect(first).toMatchObject({ status: 'rejected', reason: { message: 'store down' } });
    expect(second).toMatchObject({ status: 'fulfilled', value: true });
  });
});
