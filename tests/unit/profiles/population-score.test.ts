import { describe, expect, it } from 'vitest';
import { percentileIn, populationOf, populationWithout, scoreIn } from '../../../src/profiles/population-score.js';
import { quintileScores } from '../../../src/profiles/rfm-score.js';

describe('scoring one customer against a stored population', () => {
  it('When the value is new, Then p = (L + E/2) / (N + 1) with the customer counted among the equals', () => {
    const pop = populationOf([1, 2, 2, 3]);
    // value 2: L = 1, E = 2 + 1 = 3, N = 5 -> p = (1 + 1.5) / 5 = 0.5, score 1 + floor(2.5) = 3
    expect(percentileIn(pop, 2)).toBe(0.5);
    expect(scoreIn(pop, 2)).toBe(3);
    // value 10: L = 4, E = 1, N = 5 -> p = 4.5 / 5 = 0.9, score 5
    expect(percentileIn(pop, 10)).toBe(0.9);
    expect(scoreIn(pop, 10)).toBe(5);
    // value 0: L = 0, E = 1 -> p = 0.1, score 1
    expect(scoreIn(pop, 0)).toBe(1);
  });

  it('When the customer was in the population, Then their old value is replaced, matching a full recomputation', () => {
    const values = [1, 2, 2, 3, 5, 8, 8, 9, 12, 20];
    const pop = populationOf(values);
    for (let k = 0; k < values.length; k++) {
      for (const next of [0, 2, 8, 10, 25]) {
        const changed = values.slice();
        changed[k] = next;
        expect(scoreIn(pop, next, values[k])).toBe(quintileScores(changed)[k]);
      }
    }
  });
});

describe('populationWithout (an erased customer)', () => {
  it('takes out one occurrence of the value, and leaves a population without it as it was', () => {
    const pop = populationOf([3, 1, 2, 2, 5]);
    expect([...populationWithout(pop, 2).sorted]).toEqual([1, 2, 3, 5]);
    expect([...populationWithout(pop, 5).sorted]).toEqual([1, 2, 2, 3]);
    expect(populationWithout(pop, 4)).toBe(pop);
  });
});
