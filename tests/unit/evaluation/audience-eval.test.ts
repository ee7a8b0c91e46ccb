import { describe, expect, it } from 'vitest';
import { audienceRecall, audienceTestItems, derivedCategory, mostActiveRanker, sameCategoryRanker } from '../../../src/evaluation/audience-eval.js';
import { buildDataset, type ItemInfo, type PurchaseRow } from '../../../src/recommenders/dataset.js';

const item = (id: string, title: string, categories: string[] = []): ItemInfo => ({ id, title, categories, price: 1, attributes: {}, available: true });
const row = (userId: string, itemId: string, orderId: string): PurchaseRow => ({ userId, itemId, orderId, ts: Number(orderId.replace(/\D/g, '')) * 1000, quantity: 1, price: 1 });

// a: 3 orders (mug, mug, bag); b: 2 orders (red mug); c: 1 order (bag); d: 1 order (lamp).
const ds = buildDataset({
  items: [item('m1', 'WHITE MUG'), item('m2', 'RED MUG'), item('b1', 'LUNCH BAG'), item('l1', 'DESK LAMP')],
  events: [row('a', 'm1', 'o1'), row('a', 'm1', 'o2'), row('a', 'b1', 'o3'), row('b', 'm2', 'o4'), row('b', 'm2', 'o5'), row('c', 'b1', 'o6'), row('d', 'l1', 'o7')],
});
const u = (id: string) => ds.userIndex.get(id)!;
const i = (id: string) => ds.itemIndex.get(id)!;

describe('audience evaluation', () => {
  it('When test sets per customer are transposed, Then each item lists its new buyers', () => {
    const novel = new Map([[u('a'), new Set([i('m2'), i('l1')])], [u('c'), new Set([i('m2')])]]);
    expect(audienceTestItems(novel)).toEqual([
      { item: i('m2'), newBuyers: new Set([u('a'), u('c')]) },
      { item: i('l1'), newBuyers: new Set([u('a')]) },
    ].sort((x, y) => x.item - y.item));
  });

  it('When recall@K is averaged, Then each item counts hits over min(K, new buyers), as computed by hand', () => {
    const items = [{ item: 0, newBuyers: new Set([1, 2]) }, { item: 1, newBuyers: new Set([3, 4, 5]) }];
    const ranked: Record<number, number[]> = { 0: [2, 9], 1: [9, 8] };
    // item 0: 1 hit / min(2, 2) = 0.5; item 1: 0 hits -> mean 0.25.
    expect(audienceRecall(items, (it) => ranked[it], 2)).toBeCloseTo(0.25);
  });

  it('When the most active customers are asked for, Then they come by orders and never include a buyer of the item', () => {
    const rank = mostActiveRanker(ds);
    expect(rank(i('l1'), 3)).toEqual([u('a'), u('b'), u('c')]);
    // a bought m1; the rest by orders, ties by customer index.
    expect(rank(i('m1'), 3)).toEqual([u('b'), ...[u('c'), u('d')].sort((x, y) => x - y)]);
  });

  it('When Online Retail items have no category, Then the last word of the title stands for it, and its buyers rank by lines in it', () => {
    expect(derivedCategory(item('x', 'WHITE HANGING HEART T-LIGHT HOLDER'))).toBe('HOLDER');
    expect(derivedCategory(item('x', 'ignored title', ['garden']))).toBe('garden');
    const rank = sameCategoryRanker(ds);
    // Mugs: a bought 2 mug lines, b 2 (but b bought m2); for m2 only a qualifies.
    expect(rank(i('m2'), 5)).toEqual([u('a')]);
    expect(rank(i('b1'), 5)).toEqual([]);
    expect(rank(i('m1'), 5)).toEqual([u('b')]);
  });
});
