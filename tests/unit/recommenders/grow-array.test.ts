import { describe, expect, it } from 'vitest';
import { grownTo } from '../../../src/recommenders/grow-array.js';

describe('grownTo', () => {
  it('When the array already holds what is needed, Then it is returned as it is', () => {
    const a = Float32Array.of(1, 2, 3);
    expect(grownTo(a, 3)).toBe(a);
  });

  it('When more is needed, Then a copy of the same type at least twice as long keeps the values at its start', () => {
    const grown = grownTo(Int32Array.of(7, 8), 3);
    expect(grown).toBeInstanceOf(Int32Array);
    expect([...grown]).toEqual([7, 8, 0, 0]);
    expect(grownTo(Uint8Array.of(1), 10)).toHaveLength(10);
  });
});
