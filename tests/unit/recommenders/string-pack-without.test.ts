import { describe, expect, it } from 'vitest';
import { packedPositionsOf, packedWithout, packStrings, unpackStrings } from '../../../src/recommenders/string-pack.js';

describe('packed strings without some of them (an erasure of a user index)', () => {
  const strings = ['a', 'bb', '', 'Zoë', 'bb', 'c', 'ab', 'ba'];
  const { bytes, offsets } = packStrings(strings);

  it('finds every position of the wanted strings by their bytes, and nothing of the same length', () => {
    expect([...packedPositionsOf(bytes, offsets, ['bb', 'Zoë', 'zz'])].sort()).toEqual([1, 3, 4]);
    expect(packedPositionsOf(bytes, offsets, [])).toEqual(new Set());
  });

  it('removes them, or makes them empty in place, keeping every other string and its order', () => {
    const gone = new Set([0, 3, 7]);
    const removed = packedWithout(bytes, offsets, gone, false);
    expect(unpackStrings(removed.bytes, removed.offsets, 't')).toEqual(['bb', '', 'bb', 'c', 'ab']);
    const emptied = packedWithout(bytes, offsets, gone, true);
    expect(unpackStrings(emptied.bytes, emptied.offsets, 't')).toEqual(['', 'bb', '', '', 'bb', 'c', 'ab', '']);
    expect(unpackStrings(...Object.values(packedWithout(bytes, offsets, new Set(), true)) as [Uint8Array, Uint32Array], 't')).toEqual(strings);
  });
});
