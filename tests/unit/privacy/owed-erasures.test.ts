/**
 * privacy/owed-erasures.ts: a read of the owed ids that began before an erasure was asked of this process, or before
 * one completed here, does not undo what happened since it began (README "Erasure").
 */
import { describe, expect, it } from 'vitest';
import { createOwedErasures } from '../../../src/privacy/owed-erasures.js';

/** A read whose answer the test gives when it likes. */
function heldRead() {
  let answer!: (ids: string[]) => void;
  const read = () => new Promise<readonly string[]>((resolve) => (answer = resolve));
  return { read, answer: (ids: string[]) => answer(ids) };
}

describe('the erasures owed a process knows of', () => {
  it('When a read replaces the list, Then it holds what the read found and nothing else', async () => {
    const owed = createOwedErasures();
    owed.add('a');
    await owed.refresh(async () => ['b', 'c']);
    expect(['a', 'b', 'c'].map((id) => owed.has(id))).toEqual([false, true, true]);
    expect(owed.size).toBe(2);
  });

  it('When an erasure is asked here while a read is in flight, Then the read, which began before it, does not drop it', async () => {
    const owed = createOwedErasures();
    const r = heldRead();
    const refreshing = owed.refresh(r.read);
    owed.add('asked-meanwhile');
    r.answer(['x']);
    await refreshing;
    expect(owed.has('asked-meanwhile')).toBe(true);
    expect(owed.has('x')).toBe(true);
  });

  it('When an erasure completes here while a read is in flight, Then the read, which found it still owed, does not bring it back', async () => {
    const owed = createOwedErasures();
    owed.add('done-meanwhile');
    const r = heldRead();
    const refreshing = owed.refresh(r.read);
    owed.settled('done-meanwhile');
    r.answer(['done-meanwhile', 'y']);
    // The read found it owed (asked again elsewhere, perhaps, after this completion): the caller reads it again.
    expect(await refreshing).toBe(false);
    expect(owed.has('done-meanwhile')).toBe(false);
    expect(owed.has('y')).toBe(true);
  });

  it('When a read of the changes agrees with what happened here meanwhile, or says nothing of it, Then it says it was whole; against it, not', async () => {
    const owed = createOwedErasures();
    owed.add('a');
    let answer!: (c: { owed: string[]; settled: string[] }) => void;
    const held = () => new Promise<{ owed: string[]; settled: string[] }>((resolve) => (answer = resolve));
    let refreshing = owed.refresh(held);
    owed.settled('a');
    owed.add('b');
    answer({ owed: ['c'], settled: ['a'] });
    expect(await refreshing).toBe(true);
    expect(['a', 'b', 'c'].map((id) => owed.has(id))).toEqual([false, true, true]);
    refreshing = owed.refresh(held);
    owed.settled('c');
    answer({ owed: ['c'], settled: [] });
    expect(await refreshing).toBe(false);
    expect(owed.has('c')).toBe(false);
  });

  it('When a read fails, Then what was known stays', async () => {
    const owed = createOwedErasures();
    owed.add('kept');
    await expect(owed.refresh(async () => Promise.reject(new Error('Postgres down')))).rejects.toThrow('Postgres down');
    expect(owed.has('kept')).toBe(true);
  });

  it('When reads fail until one succeeds, Then firstRead settles at that one only (serving holds every customer until it)', async () => {
    const owed = createOwedErasures();
    let settled = false;
    void owed.firstRead.then(() => (settled = true));
    await owed.refresh(async () => Promise.reject(new Error('Postgres down'))).catch(() => {});
    owed.add('asked-here');
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    await owed.refresh(async () => ({ owed: ['x'], settled: [] }));
    await owed.firstRead;
    expect(settled).toBe(true);
  });

  it('When the list may have changed, Then its revision moves; a read of the changes that found none leaves it', async () => {
    const owed = createOwedErasures();
    const moves: number[] = [owed.revision];
    owed.add('a');
    moves.push(owed.revision);
    await owed.refresh(async () => ({ owed: ['b'], settled: [] }));
    moves.push(owed.revision);
    owed.settled('a');
    moves.push(owed.revision);
    expect(new Set(moves).size).toBe(4);
    // What the aggregates made from the list (the segments report without those owed) is kept while it stays.
    await owed.refresh(async () => ({ owed: [], settled: [] }));
    expect(owed.revision).toBe(moves.at(-1));
    await owed.refresh(async () => ['b']);
    expect(owed.revision).not.toBe(moves.at(-1));
  });
});
