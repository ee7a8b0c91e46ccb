import { describe, expect, it } from 'vitest';
import { itemGroupsOf } from '../../../src/serving/serving-artifacts.js';
import { itemFilter, Picker } from '../../../src/serving/picker.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import { fixtureModel, type FixtureItem } from './model-fixture.js';

/**
 * A source learning per group scores a style on the variant that showed it at training (ItemGroups.shows). The
 * picker lists a sibling still in the group when that variant cannot be listed. Items in popularity order:
 * s1 (shows style S) is the most popular, then s2, s3, then x (a style of its own, T).
 */
const ITEMS: FixtureItem[] = [
  { id: 's1', price: 20 },
  { id: 's2', price: 10 },
  { id: 's3', price: 12 },
  { id: 'x', price: 5 },
];

function grouped(shows: boolean): ServingModel {
  const model = fixtureModel(ITEMS);
  const groups = itemGroupsOf(['S', 'S', 'S', 'T'])!;
  model.items.groups = shows ? { ...groups, shows: Uint8Array.from([1, 0, 0, 1]), trained: groups.of.slice() } : groups;
  return model;
}
const idx = (m: ServingModel, id: string) => m.items.index.get(id)!;
const listed = (m: ServingModel, p: Picker) => p.picks.map((x) => [m.items.ids[x.item], x.score]);

/** Moves item `id` into group `to` as the catalog overlay does (new group ids appended, members forgotten). */
function regroup(m: ServingModel, id: string, to: string) {
  const groups = m.items.groups!;
  let g = groups.index.get(to);
  if (g === undefined) groups.index.set(to, (g = groups.ids.push(to) - 1));
  groups.of[idx(m, id)] = g;
  delete groups.members;
}

describe('a sibling stands in for the variant that shows a style learnt per group', () => {
  it('When the price range leaves out the shown variant, Then the most popular sibling in range is listed with its score', () => {
    const m = grouped(true);
    const p = new Picker(m, itemFilter(m, { k: 3, maxPrice: 15 }), 3);
    expect(p.offer(idx(m, 's1'), 0.9, ['item-knn'])).toBe(true);
    // s2 is more popular than s3: it stands in; the style then takes no second place.
    expect(p.offer(idx(m, 's3'), 0.5, ['item-knn'])).toBe(false);
    expect(listed(m, p)).toEqual([['s2', 0.9]]);
  });

  it('When the shown variant sold out, Then a pick offered for it lists a sibling in stock (a copy, the score kept)', () => {
    const m = grouped(true);
    m.items.available[idx(m, 's1')] = 0;
    const p = new Picker(m, itemFilter(m, { k: 3 }), 3);
    const offered = { item: idx(m, 's1'), score: 0.7, sources: ['hybrid'] };
    expect(p.offerPick(offered)).toBe(true);
    expect(listed(m, p)).toEqual([['s2', 0.7]]);
    expect(offered.item).toBe(idx(m, 's1'));
  });

  it('When the shown variant left its group after training, Then a sibling lists the style and the moved variant does not carry its score', () => {
    const m = grouped(true);
    regroup(m, 's1', 'T');
    const p = new Picker(m, itemFilter(m, { k: 3 }), 3);
    expect(p.offer(idx(m, 's1'), 0.9, ['item-knn'])).toBe(true);
    expect(listed(m, p)).toEqual([['s2', 0.9]]);
    // Its new group T is still free: x, which shows T, is listed on its own score.
    expect(p.offer(idx(m, 'x'), 0.4, ['item-knn'])).toBe(true);
    expect(listed(m, p)).toEqual([['s2', 0.9], ['x', 0.4]]);
  });

  it('When the whole style is moved to another group id after training (a renamed group), Then the style is still listed', () => {
    const m = grouped(true);
    // A catalog sync re-keys the style: s1, s2 and s3 stay together, under the id S2. Before the stand-in
    // s1 was listed on its score as it was; its trained group S now has no member left.
    for (const id of ['s1', 's2', 's3']) regroup(m, id, 'S2');
    const p = new Picker(m, itemFilter(m, { k: 3 }), 3);
    expect(p.offer(idx(m, 's1'), 0.9, ['item-knn'])).toBe(true);
    expect(p.picks.map((x) => m.items.ids[x.item])).toHaveLength(1);
    expect(['s1', 's2', 's3']).toContain(m.items.ids[p.picks[0].item]);
  });

  it('When the style is on the list or left out already, Then no sibling stands in', () => {
    const m = grouped(true);
    const p = new Picker(m, itemFilter(m, { k: 3, maxPrice: 15 }), 3);
    p.leaveOutGroupOf(idx(m, 's3'));
    expect(p.offer(idx(m, 's1'), 0.9, ['item-knn'])).toBe(false);
    expect(p.picks).toEqual([]);
  });

  it('When no source learnt per group, Then a refused variant brings no sibling (scores are per product)', () => {
    const m = grouped(false);
    const p = new Picker(m, itemFilter(m, { k: 3, maxPrice: 15 }), 3);
    expect(p.offer(idx(m, 's1'), 0.9, ['item-knn'])).toBe(false);
    expect(p.offer(idx(m, 's3'), 0.5, ['item-knn'])).toBe(true);
    expect(listed(m, p)).toEqual([['s3', 0.5]]);
  });

  it('When the popular backfill reaches a shown variant that is refused, Then a sibling takes its place there', () => {
    // Popularity order s1, x, s2, s3: per product s2 would come after x.
    const m = fixtureModel([ITEMS[0], ITEMS[3], ITEMS[1], ITEMS[2]]);
    const groups = itemGroupsOf(['S', 'T', 'S', 'S'])!;
    m.items.groups = { ...groups, shows: Uint8Array.from([1, 1, 0, 0]), trained: groups.of.slice() };
    const p = new Picker(m, itemFilter(m, { k: 2, exclude: ['s1'] }), 2);
    p.backfillPopular(-1);
    expect(p.picks.map((x) => m.items.ids[x.item])).toEqual(['s2', 'x']);
  });
});
