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

  it('When a publish flipped away from a rolled-back-to version, Then that one is kept and the oldest others go', () => {
    // a, b published; rolled back to a; c published and active: b (the bad one) goes, a stays.
    expect(versionsToPrune(['a', 'b', 'c'], 'c', 2, 'a')).toEqual(['b']);
    expect(versionsToPrune(['a', 'b', 'c', 'd'], 'd', 3, 'a')).toEqual(['b']);
    // Without a rollback the version flipped away from is the newest before, kept anyway.
    expect(versionsToPrune(['a', 'b', 'c'], 'c', 2, 'b')).toEqual(['a']);
    // One version kept: the active one only.
    expect(versionsToPrune(['a', 'b', 'c'], 'c', 1, 'a')).toEqual(['a', 'b']);
  });

  it('When two versions are published in the same millisecond, Then the second still orders after the first', () => {
    expect(publishScore(null, 1000)).toBe(1000);
    expect(publishScore(1000, 1000)).toBe(1001);
    expect(publishScore(1005, 1000)).toBe(1006);
    expect(publishScore(500, 1000)).toBe(1000);
  });
});
