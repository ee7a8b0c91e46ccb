import { describe, expect, it } from 'vitest';
import { invertSpdInPlace } from '../../../src/recommenders/spd-inverse.js';
import { gaussJordanInverse } from '../../helpers/reference-inverse.js';

/** A symmetric positive definite matrix: C C^T + n I with deterministic pseudo-random C. */
function spd(n: number): Float64Array {
  const c = Float64Array.from({ length: n * n }, (_, i) => Math.sin(i * 12.9898 + 1) * 2);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += c[i * n + k] * c[j * n + k];
      a[i * n + j] = s;
    }
  }
  return a;
}

describe('invertSpdInPlace', () => {
  it('inverts [[4, 2], [2, 3]] to [[3, -2], [-2, 4]] / 8', () => {
    const a = Float64Array.from([4, 2, 2, 3]);
    invertSpdInPlace(a, 2);
    [0.375, -0.25, -0.25, 0.5].forEach((v, i) => expect(a[i]).toBeCloseTo(v, 12));
  });

  // Sizes around the block (16) and pair boundaries, odd ones padded internally.
  it.each([1, 3, 16, 17, 33, 40])('matches an independent Gauss-Jordan inverse at n = %i', (n) => {
    const a = spd(n);
    const expected = gaussJordanInverse(a, n);
    invertSpdInPlace(a, n);
    for (let i = 0; i < n * n; i++) expect(a[i]).toBeCloseTo(expected[i], 10);
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => invertSpdInPlace(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/positive definite/);
  });
});
