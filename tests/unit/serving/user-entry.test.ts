import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../src/serving/packed-record.js';
import { decodeUserEntry, encodeUserEntry, type UserEntry } from '../../../src/serving/user-entry.js';

describe('user entries', () => {
  it('When an entry is encoded and decoded, Then the dominant sources and anchors come back', () => {
    const entry: UserEntry = {
      segment: 2,
      orders: 3,
      lastTs: 1000,
      purchased: Int32Array.of(1, 4),
      recentItems: Int32Array.of(4, 1),
      recentTs: Float64Array.of(1000, 900),
      hybrid: { items: Int32Array.of(7, 8), scores: Float32Array.of(0.9, 0.5), sourceMask: Uint32Array.of(3, 4), dominant: Uint8Array.of(1, 2), because: Int32Array.of(4, -1) },
    };
    const back = decodeUserEntry(encodeUserEntry(entry));
    expect([...back.hybrid.dominant]).toEqual([1, 2]);
    expect([...back.hybrid.because]).toEqual([4, -1]);
    expect([...back.hybrid.items]).toEqual([7, 8]);
  });

  it('When an entry of the previous layout is read, Then its anchor counts only if its source is among the item\'s, and that source leads', () => {
    // Layout 2: no dominant array; `because` = anchor * 4 + index into [cooccurrence, item-knn, content].
    const v2 = encodeRecord({ magic: 0x31555352, version: 2, arrays: [Float64Array, Int32Array, Int32Array, Float64Array, Int32Array, Float32Array, Uint32Array, Int32Array] }, [
      Float64Array.of(-1, 2, 1000),
      Int32Array.of(5, 7),
      Int32Array.of(7, 5),
      Float64Array.of(1000, 900),
      Int32Array.of(1, 2, 3),
      Float32Array.of(0.9, 0.8, 0.7),
      // Version sources: popularity (bit 0), item-knn (bit 1), content (bit 2).
      Uint32Array.of(0b011, 0b001, 0b100),
      // Item 1: anchor 7 by item-knn (in its mask); item 2: anchor 5 by content (not in its mask); item 3: none.
      Int32Array.of(7 * 4 + 1, 5 * 4 + 2, -1),
    ]);
    const entry = decodeUserEntry(v2, ['popularity', 'item-knn', 'content']);
    expect([...entry.hybrid.dominant]).toEqual([1, 0, 2]);
    expect([...entry.hybrid.because]).toEqual([7, -1, -1]);
    expect(entry.orders).toBe(2);
  });
});
