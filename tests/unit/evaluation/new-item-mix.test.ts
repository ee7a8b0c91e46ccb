import { describe, expect, it } from 'vitest';
import { freshKeyShare, freshTargetShare, keyFirstBought } from '../../../src/evaluation/new-item-mix.js';

// The nested check of issue 11's held-out coverage gap (fifty-eighth session, helper q5): how many of a period's novel
// lists want a product first bought in the 30 days before it. Every expected number below is counted by hand.

describe('keyFirstBought', () => {
  // Events (item, ts): (0, 5) (1, 3) (2, 9) (0, 1) (2, 4); items 0 and 2 are of group key 0, item 1 of key 1, key 2 never bought.
  const items = [0, 1, 2, 0, 2];
  const ts = [5, 3, 9, 1, 4];

  it('When items are their own keys, Then each key is its earliest event', () => {
    expect([...keyFirstBought(items, ts, 3)]).toEqual([1, 3, 4]);
  });

  it("When items share a group key, Then the key's first purchase is the earliest of any of its items; a key never bought is Infinity", () => {
    expect([...keyFirstBought(items, ts, 3, [0, 1, 0])]).toEqual([1, 3, Number.POSITIVE_INFINITY]);
  });
});

describe('freshTargetShare', () => {
  // Keys first bought at 0, 10, 20, 30; fresh window [10, 30): keys 1 and 2.
  const first = [0, 10, 20, 30];

  it('When 2 of 4 lists have a target first bought in the window, Then the share is 1/2 (a list counts once, the window is half-open)', () => {
    const novel = new Map<number, ReadonlySet<number>>([
      [0, new Set([0])], // old only
      [1, new Set([1, 2])], // two fresh targets: one list
      [2, new Set([0, 2])], // one fresh
      [3, new Set([3])], // first bought at 30: outside [10, 30)
    ]);
    expect(freshTargetShare(novel, first, 10, 30)).toEqual({ total: 4, fresh: 2, share: 0.5 });
  });

  it('When a user has no target key, Then it is no list; no lists give share 0', () => {
    expect(freshTargetShare(new Map([[0, new Set([1])], [1, new Set<number>()]]), first, 10, 30)).toEqual({ total: 1, fresh: 1, share: 1 });
    expect(freshTargetShare(new Map(), first, 10, 30)).toEqual({ total: 0, fresh: 0, share: 0 });
  });
});

describe('freshKeyShare', () => {
  it('When 2 of 4 keys were first bought in [10, 30), Then the share is 1/2', () => {
    expect(freshKeyShare([0, 10, 20, 30], 10, 30)).toEqual({ total: 4, fresh: 2, share: 0.5 });
  });
});
