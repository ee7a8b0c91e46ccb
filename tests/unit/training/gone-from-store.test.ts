import { describe, expect, it } from 'vitest';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { goneFromStore, writeModelVersion } from '../../../src/training/write-model-version.js';

const bytes = (n: number) => new Uint8Array(n).fill(7);

/** A published version with one artifact, a table of one customer and a table of three. */
async function published() {
  const store = await createMemoryModelStore({});
  const contents = await writeModelVersion(store, 'v1', {
    artifacts: new Map([['model', bytes(10)]]),
    tables: new Map<string, [string, Uint8Array][]>([
      ['few', [['u1', bytes(2)]]],
      ['users', [['u1', bytes(2)], ['u2', bytes(2)], ['u3', bytes(2)]]],
    ]),
  });
  const meta = { version: 'v1', recipe: 'r', trainedAt: new Date().toISOString(), info: { contents, erasureMark: 4 } };
  await store.publish(meta);
  return { store, meta };
}

describe('what the store lost of a published version', () => {
  it('When everything is there, Then nothing is gone, and erasures are not even counted', async () => {
    const { store, meta } = await published();
    let asked = false;
    expect(await goneFromStore(store, meta, async () => ((asked = true), 0))).toEqual([]);
    expect(asked).toBe(false);
  });

  it('When an erasure empties a small table, Then it is not reported gone; the same emptiness without erasures is', async () => {
    const { store, meta } = await published();
    await store.deleteUser('u1');
    const marks: number[] = [];
    // One customer erased since the version's mark (4) could have emptied a table of one entry, not one of three.
    expect(await goneFromStore(store, meta, async (mark) => (marks.push(mark), 1))).toEqual([]);
    expect(marks).toEqual([4]);
    expect(await goneFromStore(store, meta, async () => 0)).toEqual(['table few']);
  });
});
