/**
 * privacy/erasure-follower.ts with the erasures owed (owed-erasures.ts): an id whose erasure completed in another
 * process leaves this process's owed list only once this process has forgotten what it held of the customer (the
 * erased_users read), so there is no moment when it is neither owed nor forgotten here (README "Erasure").
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createErasureFollower, OWED_FULL_READ_MS } from '../../../src/privacy/erasure-follower.js';
import { createOwedErasures } from '../../../src/privacy/owed-erasures.js';

describe('the erasure follower and the erasures owed', () => {
  it('When an owed erasure completed elsewhere, Then the id is still owed here while its customer is forgotten, and only then leaves the list', async () => {
    const owed = createOwedErasures();
    owed.add('done-elsewhere');
    owed.add('still-owed');
    const owedWhenForgotten: boolean[] = [];
    const follower = createErasureFollower({
      erasures: { markBefore: async () => 0, erasuresAfter: async () => [{ userId: 'done-elsewhere', seq: 1 }] },
      forget: async (id) => void owedWhenForgotten.push(owed.has(id)),
      refreshMs: 1000,
      owed: { list: owed, read: async () => ['still-owed'] },
    });
    await follower.poll();
    expect(owedWhenForgotten).toEqual([true]);
    expect(owed.has('done-elsewhere')).toBe(false);
    expect(owed.has('still-owed')).toBe(true);
  });

  it('When the owed read fails, Then erased_users is read and forgotten all the same, and the list is kept', async () => {
    const owed = createOwedErasures();
    owed.add('kept');
    const forgotten: string[] = [];
    const logged: string[] = [];
    const follower = createErasureFollower({
      erasures: { markBefore: async () => 0, erasuresAfter: async () => [{ userId: 'erased', seq: 1 }] },
      forget: async (id) => void forgotten.push(id),
      refreshMs: 1000,
      owed: { list: owed, read: async () => Promise.reject(new Error('erasure_requests unreadable')) },
      log: (msg) => void logged.push(msg),
    });
    await follower.poll();
    expect(forgotten).toEqual(['erased']);
    expect(owed.has('kept')).toBe(true);
    expect(logged).toEqual(['could not read the erasures owed']);
  });

  it('When the erased_users read fails after the owed read, Then the list is kept as it was (nobody dropped unforgotten)', async () => {
    const owed = createOwedErasures();
    owed.add('done-elsewhere');
    const logged: string[] = [];
    const follower = createErasureFollower({
      erasures: { markBefore: async () => 0, erasuresAfter: async () => Promise.reject(new Error('erased_users unreadable')) },
      forget: async () => {},
      refreshMs: 1000,
      owed: { list: owed, read: async () => [] },
      log: (msg) => void logged.push(msg),
    });
    await follower.poll();
    expect(owed.has('done-elsewhere')).toBe(true);
    expect(logged).toEqual(['could not read the erased customers']);
  });

  it('When a read of the changes is not put in place (erased_users failed), Then the next read asks from the mark before it; one put in place moves the mark', async () => {
    const owed = createOwedErasures();
    const asked: (string | null)[] = [];
    let erasedFails = false;
    let n = 0;
    const follower = createErasureFollower({
      erasures: { markBefore: async () => 0, erasuresAfter: async () => (erasedFails ? Promise.reject(new Error('erased_users unreadable')) : []) },
      forget: async () => {},
      refreshMs: 1000,
      owed: {
        list: owed,
        read: async (since) => {
          asked.push(since?.snapshot ?? null);
          const mark = { snapshot: `${++n}:${n}:`, server: 'run-1' };
          return since === null ? { mark, all: ['a'] } : { mark, owed: [`new-${n}`], settled: ['a'] };
        },
      },
    });
    await follower.poll();
    expect(asked).toEqual([null]);
    erasedFails = true;
    await follower.poll();
    // Not put in place: what it read is read again.
    expect(owed.has('a')).toBe(true);
    expect(owed.has('new-2')).toBe(false);
    erasedFails = false;
    await follower.poll();
    expect(asked).toEqual([null, '1:1:', '1:1:']);
    expect([...owed.ids()]).toEqual(['new-3']);
    await follower.poll();
    expect(asked.at(-1)).toBe('3:3:');
  });

  afterEach(() => vi.restoreAllMocks());

  it('When the last read put in place is older than OWED_FULL_READ_MS, Then every id owed is read again (the settled ids it needs may be gone)', async () => {
    let clock = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const asked: (string | null)[] = [];
    let n = 0;
    const follower = createErasureFollower({
      erasures: { markBefore: async () => 0, erasuresAfter: async () => [] },
      forget: async () => {},
      refreshMs: 1000,
      owed: {
        list: createOwedErasures(),
        read: async (since) => {
          asked.push(since?.snapshot ?? null);
          const mark = { snapshot: `${++n}:${n}:`, server: 'run-1' };
          return since === null ? { mark, all: [] } : { mark, owed: [], settled: [] };
        },
      },
    });
    await follower.poll();
    clock += OWED_FULL_READ_MS - 1;
    await follower.poll();
    clock += OWED_FULL_READ_MS;
    await follower.poll();
    await follower.poll();
    expect(asked).toEqual([null, '1:1:', null, '3:3:']);
  });
});
