import { describe, expect, it } from 'vitest';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { isPopularityRecommender, popularityFactory } from '../../../src/recommenders/popularity.js';

const DAY = 86_400_000;
const row = (userId: string, itemId: string, day: number): PurchaseRow => ({
  userId,
  itemId,
  orderId: `${userId}-${day}`,
  ts: day * DAY,
  quantity: 1,
  price: null,
});
/**
 * OLD: three UK buyers, last bought on day 70 (u1 twice: still one buyer). NEW: two FR buyers on days
 * 90 and 100. now = day 100, half-life 10 days:
 *   OLD = 3 * 0.5^3 = 0.375, NEW = 0.5^0 + 0.5^1 = 1.5.
 */
const ds = buildDataset({
  events: [row('u1', 'OLD', 60), row('u1', 'OLD', 70), row('u2', 'OLD', 70), row('u3', 'OLD', 70), row('u5', 'NEW', 90), row('u4', 'NEW', 100)],
  users: [
    { id: 'u1', attributes: { country: 'UK' } },
    { id: 'u2', attributes: { country: 'UK' } },
    { id: 'u3', attributes: { country: 'UK' } },
    { id: 'u4', attributes: { country: 'FR' } },
    { id: 'u5', attributes: { country: 'FR' } },
  ],
});
const idx = (id: string) => ds.itemIndex.get(id)!;

describe('popularity', () => {
  it('ranks a recently popular item above an older, more bought one, by decayed distinct buyers', () => {
    const model = popularityFactory.fit(ds, popularityFactory.parseParams({ halfLifeDays: 10 }));
    // Normalised by the top score: NEW 1.5/1.5, OLD 0.375/1.5.
    expect(model.popularItems(undefined, 5)).toEqual([
      { item: idx('NEW'), score: 1 },
      { item: idx('OLD'), score: 0.25 },
    ]);
  });

  it('counts plain distinct buyers without decay', () => {
    const model = popularityFactory.fit(ds, popularityFactory.parseParams({ halfLifeDays: null }));
    const [first, second] = model.popularItems(undefined, 5);
    expect(first).toEqual({ item: idx('OLD'), score: 1 }); // 3 buyers, not 4 purchases
    expect(second.item).toBe(idx('NEW'));
    expect(second.score).toBeCloseTo(2 / 3, 6);
  });

  it('blends a segment list with global by alpha = buyers / (buyers + shrink)', () => {
    const model = popularityFactory.fit(ds, popularityFactory.parseParams({ halfLifeDays: 10, minSegmentBuyers: 2, segmentShrink: 2 }));
    // FR: 2 buyers, alpha 0.5: NEW = 0.5*1 + 0.5*1 = 1, OLD = 0.5*0 + 0.5*0.25 = 0.125.
    const fr = model.popularItems({ name: 'country', value: 'FR' }, 5);
    expect(fr.map((n) => n.item)).toEqual([idx('NEW'), idx('OLD')]);
    expect(fr[1].score).toBeCloseTo(0.125, 6);
    // UK: 3 buyers, alpha 0.6: OLD = 0.6*1 + 0.4*0.25 = 0.7, NEW = 0.4*1 = 0.4.
    const uk = model.popularItems({ name: 'country', value: 'UK' }, 5);
    expect(uk.map((n) => n.item)).toEqual([idx('OLD'), idx('NEW')]);
    expect(uk[0].score).toBeCloseTo(0.7, 6);
    expect(uk[1].score).toBeCloseTo(0.4, 6);
    expect(model.segmentBuyers({ name: 'country', value: 'UK' })).toBe(3);
  });

  it('falls back to global for a value without enough buyers, and scoreUser uses the user attributes', () => {
    const model = popularityFactory.fit(ds, popularityFactory.parseParams({ halfLifeDays: 10, minSegmentBuyers: 3, segmentShrink: 0 }));
    expect(model.segmentBuyers({ name: 'country', value: 'FR' })).toBe(0);
    expect(model.popularItems({ name: 'country', value: 'FR' }, 5)).toEqual(model.popularItems(undefined, 5));
    const out = new Float32Array(ds.itemIds.length);
    model.scoreUser({ user: -1, history: [], attributes: { country: 'UK' } }, out);
    expect([out[idx('OLD')], out[idx('NEW')]]).toEqual([1, 0]); // UK alone: OLD only
    model.scoreUser({ user: -1, history: [], attributes: { country: 'DE' } }, out);
    expect([out[idx('NEW')], out[idx('OLD')]]).toEqual([1, 0.25]);
  });

  it('is recognised by the type guard serving uses', () => {
    const model = popularityFactory.fromArtifact(popularityFactory.fit(ds, popularityFactory.parseParams({})).toArtifact(), ds);
    expect(isPopularityRecommender(model)).toBe(true);
  });
});
