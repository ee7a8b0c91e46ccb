import { describe, expect, it } from 'vitest';
import { LONG_STATEMENT_MS, queryTimeout, withQueryTimeout } from '../../../src/data/query-timeout.js';
import type { ModelMeta } from '../../../src/store/model-store.js';
import { createUserErasure, ERASURE_BATCH, type UserErasureDeps } from '../../../src/privacy/user-erasure.js';

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
    events: { deleteUsers: (ids: string[]) => turn(new Map(ids.map((id) => [id, true]))) },
    erasures: {
      locked: (fn: (erasedSince: (mark: number) => Promise<string[]>, markNow: () => Promise<number>, pending: () => Promise<string[]>) => Promise<unknown>) =>
        turn(null).then(() => fn(async () => [], async () => 0, async () => [])),
      // Erasures asked for and failed (erasure_requests): recorded, nothing more here.
      askErasure: async () => {},
      erasureFailed: async () => {},
    },
    store: { listVersions: async () => [], deleteUser: async () => {} },
    forget: async () => {},
  } as unknown as UserErasureDeps;
  return { deps, limits, most: () => most };
}

describe('erasures and scrubs in one process', () => {
  it("When erasures and a training's scrub and publish come at once, Then they run one at a time, each under the long statement limit whoever asked", async () => {
    const { deps, limits, most } = recorded();
    const erasure = createUserErasure(deps);
    const draft = { version: 'draft', info: {} } as unknown as ModelMeta;
    await Promise.all([
      erasure.publishScrubbed(0, draft, async () => {}),
      withQueryTimeout(100, () => erasure.erase('a')),
      erasure.publishScrubbed(0, draft, async () => {}),
      erasure.erase('b'),
    ]);
    expect(most()).toBe(1);
    // The two erasures waited together: one turn.
    expect(limits).toEqual([LONG_STATEMENT_MS, LONG_STATEMENT_MS, LONG_STATEMENT_MS]);
  });

  it('When erasures are asked while a turn runs, Then the next turn does them all at once and answers each its own', async () => {
    const { deps } = recorded();
    const turns: string[][] = [];
    deps.events.deleteUsers = async (ids) => {
      turns.push([...ids]);
      await new Promise((r) => setTimeout(r, 5));
      return new Map(ids.map((id) => [id, id !== 'never-known']));
    };
    const erasure = createUserErasure(deps);
    const first = erasure.erase('a');
    await Promise.resolve();
    const burst = ['b', 'c', 'never-known', 'b'].map((id) => erasure.erase(id));
    expect(await first).toBe(true);
    expect(await Promise.all(burst)).toEqual([true, true, false, true]);
    expect(turns).toEqual([['a'], ['b', 'c', 'never-known']]);
  });

  it(`When more than ${ERASURE_BATCH} erasures wait, Then they are done ${ERASURE_BATCH} a turn`, async () => {
    const { deps } = recorded();
    const sizes: number[] = [];
    deps.events.deleteUsers = async (ids) => {
      sizes.push(ids.length);
      return new Map(ids.map((id) => [id, true]));
    };
    const erasure = createUserErasure(deps);
    const all = Array.from({ length: ERASURE_BATCH * 2 + 1 }, (_, i) => erasure.erase(`u${i}`));
    expect((await Promise.all(all)).every(Boolean)).toBe(true);
    expect(sizes).toEqual([ERASURE_BATCH, ERASURE_BATCH, 1]);
  });

  it('When a turn fails, Then the erasures it held see the failure and the next turn still runs', async () => {
    const { deps } = recorded();
    let calls = 0;
    deps.events.deleteUsers = async (ids) => {
      if (calls++ === 0) throw new Error('store down');
      return new Map(ids.map((id) => [id, true]));
    };
    const erasure = createUserErasure(deps);
    const [first, second] = await Promise.allSettled([erasure.erase('a'), erasure.erase('b')]);
    expect(first).toMatchObject({ status: 'rejected', reason: { message: 'store down' } });
    expect(second).toMatchObject({ status: 'rejected', reason: { message: 'store down' } });
    expect(await erasure.erase('a')).toBe(true);
  });
});
