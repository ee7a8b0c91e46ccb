import { describe, expect, it } from 'vitest';
import { finishGramian, gramian, gramianRows, gramianSplit } from '../../../src/recommenders/conjugate-gradient.js';

/** The gramian as it was before threads could share it (6fc83d0f), verbatim: the sums every split must equal to the bit. */
function gramianBefore(y: ArrayLike<number>, n: number, k: number, reg: number): Float64Array {
  const g = new Float64Array(k * k);
  let r = 0;
  for (; r + 3 < n; r += 4) {
    const o0 = r * k;
    const o1 = o0 + k;
    const o2 = o1 + k;
    const o3 = o2 + k;
    for (let a = 0; a < k; a++) {
      const a0 = y[o0 + a];
      const a1 = y[o1 + a];
      const a2 = y[o2 + a];
      const a3 = y[o3 + a];
      const ga = a * k;
      for (let b = a; b < k; b++) g[ga + b] += a0 * y[o0 + b] + a1 * y[o1 + b] + a2 * y[o2 + b] + a3 * y[o3 + b];
    }
  }
  for (; r < n; r++) {
    const o = r * k;
    for (let a = 0; a < k; a++) {
      const ya = y[o + a];
      const ga = a * k;
      for (let b = a; b < k; b++) g[ga + b] += ya * y[o + b];
    }
  }
  for (let a = 0; a < k; a++) {
    g[a * k + a] += reg;
    for (let b = a + 1; b < k; b++) g[b * k + a] = g[a * k + b];
  }
  return g;
}

/** Factors of the sizes ALS draws (uniform, small), from a fixed seed; values whose sums round differently by order. */
function factors(n: number, k: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const y = new Float64Array(n * k);
  for (let i = 0; i < y.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    y[i] = (s / 2 ** 32 - 0.3) * (i % 3 === 0 ? 1e-3 : 7.1);
  }
  return y;
}

const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('the gramian filled by accumulator rows (ALS threads each fill their own)', () => {
  it('When the rows are split among 1 to 5 threads, Then every entry equals the gramian of before to the bit, for any number of factor rows', () => {
    for (const k of [7, 64]) {
      for (const n of [0, 1, 6, 103]) {
        const y = factors(n, k, 17 * k + n);
        const expected = bits(gramianBefore(y, n, k, 10));
        expect(bits(gramian(y, n, k, 10))).toBe(expected);
        for (const parts of [1, 2, 3, 5]) {
          const g = new Float64Array(k * k);
          // In reverse, as threads may finish in any order.
          for (const range of gramianSplit(k, parts).reverse()) gramianRows(y, n, k, range, g);
          expect(bits(finishGramian(g, k, 10)), `k ${k}, n ${n}, ${parts} parts`).toBe(expected);
        }
      }
    }
  });

  it('When split, Then the ranges are consecutive, cover every accumulator row once, and hold about equal entries', () => {
    expect(gramianSplit(64, 1)).toEqual([{ from: 0, to: 64 }]);
    // Row a holds 64 - a entries: the first 19 rows 1,045 of 2,080, the other 45 rows 1,035.
    expect(gramianSplit(64, 2)).toEqual([
      { from: 0, to: 19 },
      { from: 19, to: 64 },
    ]);
    for (const [k, parts] of [
      [64, 3],
      [7, 5],
      [3, 5],
    ]) {
      const ranges = gramianSplit(k, parts);
      expect(ranges[0].from).toBe(0);
      expect(ranges[ranges.length - 1].to).toBe(k);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i].from).toBe(ranges[i - 1].to);
      expect(ranges.length).toBeLessThanOrEqual(parts);
    }
  });
});
