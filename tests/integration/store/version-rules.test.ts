import { describe, expect, it } from 'vitest';
import { publishScore, versionsToPrune } from '../../../src/store/version-rules.js';

describe('version rules', () => {
  it('When more versions exist than are kept, Then the oldest go first and the active one is skipped', () => {
    expect(versionsToPrune(['a', 'b', 'c', 'd'], 'd', 2)).toEqual(['a', 'b']);
    // A rolled-back active version outlives newer ones.
    expect(versionsToPrune(['a', 'b', 'c', 'd'], 'a', 2)).toEqual(['b', 'c']);
    expect(versionsToPrune(['a', 'b'], 'b', 2)).toEqual([]);
    expect(versionsToPrune(['a', 'b', 'c'], null, 1)).toEqual(['a', 'b']);
  });

  it('When two versions are published in the same millisecond, Then the second still orders after the first', () => {
    expect(publishScore(null, 1000)).toBe(1000);
    expect(publishScore(1000, 1000)).toBe(1001);
    expect(publishScore(1005, 1000)).toBe(1006);
    expect(publishScore(500, 1000)).toBe(1000);
  });
});
