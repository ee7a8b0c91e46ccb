import { describe, expect, it } from 'vitest';
import { populationOf, scoreIn } from '../../../src/profiles/population-score.js';
import { frequencyScore } from '../../../src/profiles/rfm-score.js';
import { computeProfiles } from '../../../src/profiles/profile.js';
import { segmentProfiles } from '../../../src/profiles/segments.js';
import { buildDataset } from '../../../src/recommenders/dataset.js';
import { dataset, events, items, NOW, regular } from './profile-fixtures.js';

function byId() {
  const ds = buildDataset({ events, items, users: [{ id: 'browser', attributes: {} }], now: Date.parse(NOW) });
  return new Map(computeProfiles(ds).map((p) => [p.userId, p]));
}

describe('customer profiles', () => {
  it('profiles only customers with purchases', () => {
    expect([...byId().keys()].sort()).toEqual(['u1', 'u2', 'u3']);
  });

  it('computes recency, frequency, monetary and basket habits of a repeat customer', () => {
    const u1 = byId().get('u1')!;
    expect(u1.recencyDays).toBe(0); // last order on the reference date
    expect(u1.tenureDays).toBe(30); // 03-01 -> 03-31
    expect(u1.frequency).toBe(3);
    expect(u1.monetary).toBeCloseTo(2 * 2 + 1 * 4 + 1 * 3 + 4 * 1, 10); // 15
    expect(u1.avgBasketSize).toBeCloseTo(8 / 3, 10); // units 2+1+1+4 over 3 orders
    expect(u1.avgBasketLines).toBeCloseTo(4 / 3, 10);
    expect(u1.avgBasketValue).toBeCloseTo(5, 10);
    expect(u1.meanIntervalDays).toBe(15); // dates 03-01, 03-11, 03-31: 30 days over 2 gaps
    expect(u1.firstOrder).toBe('2024-03-01T10:00:00.000Z');
    expect(u1.lastOrder).toBe('2024-03-31T08:00:00.000Z');
  });

  it('hand-computes price sensitivity as the mean ratio of paid to item mean price', () => {
    const p = byId();
    // u1: 2/2.5, 4/5, 3/2.5, 1/1 = 0.8, 0.8, 1.2, 1.0 -> 0.95
    expect(p.get('u1')!.priceSensitivity).toBeCloseTo(0.95, 6);
    // u2: 6/5
    expect(p.get('u2')!.priceSensitivity).toBeCloseTo(1.2, 6);
    // u3: only the priced line counts: 2.5/2.5
    expect(p.get('u3')!.priceSensitivity).toBeCloseTo(1, 6);
  });

  it('gives a single-order customer a null interval and recency across a leap February', () => {
    const u2 = byId().get('u2')!;
    expect(u2.frequency).toBe(1);
    expect(u2.meanIntervalDays).toBeNull();
    expect(u2.recencyDays).toBe(60); // 01-31 -> 02-29 is 29 days, + 31 to 03-31
    expect(u2.monetary).toBeCloseTo(12, 10);
  });

  it('counts several orders on one day as orders, but observes no interval between them', () => {
    const u3 = byId().get('u3')!;
    expect(u3.frequency).toBe(2);
    expect(u3.meanIntervalDays).toBeNull();
    expect(u3.recencyDays).toBe(10);
    // the unpriced line falls back to the catalog price: 1 x 2.5 + 2 x 1.5
    expect(u3.monetary).toBeCloseTo(5.5, 10);
  });

  it('scores R, F and M against the population, recency inverted', () => {
    const p = byId();
    // recency 0, 60, 10 -> most recent u1 = 5, u3 = 3, u2 = 1 (p = 5/6, 1/2, 1/6)
    // frequency 3, 1, 2 -> u1 5, u2 1, u3 3;  monetary 15, 12, 5.5 -> u1 5, u2 3, u3 1
    const scores = (id: string) => {
      const { rScore, fScore, mScore } = p.get(id)!;
      return [rScore, fScore, mScore];
    };
    expect(scores('u1')).toEqual([5, 5, 5]);
    expect(scores('u2')).toEqual([1, 1, 3]);
    expect(scores('u3')).toEqual([3, 3, 1]);
  });

  it('measures recency from a reference time passed in', () => {
    const ds = dataset(events, items, NOW);
    const u1 = computeProfiles(ds, { now: Date.parse('2024-04-10T00:00:00Z') }).find((p) => p.userId === 'u1')!;
    expect(u1.recencyDays).toBe(10);
    expect(u1.tenureDays).toBe(40);
  });

  it('lists top title terms (stop words and numbers dropped) and categories by purchase lines', () => {
    const u1 = byId().get('u1')!;
    // lines A, B, A, C: mug A,A,C = 3; red A,B,A = 3; heart 2; blue, candles, set 1 ("of", "3" dropped)
    expect(u1.topTerms).toEqual([
      { label: 'mug', weight: 3 },
      { label: 'red', weight: 3 },
      { label: 'heart', weight: 2 },
      { label: 'blue', weight: 1 },
      { label: 'candles', weight: 1 },
      { label: 'set', weight: 1 },
    ]);
    expect(u1.topCategories).toEqual([
      { label: 'kitchen', weight: 3 },
      { label: 'candles', weight: 1 },
      { label: 'home', weight: 1 },
    ]);
    const top2 = computeProfiles(dataset(events, items, NOW), { topTerms: 2, topCategories: 1 }).find(
      (p) => p.userId === 'u1',
    )!;
    expect(top2.topTerms.map((t) => t.label)).toEqual(['mug', 'red']);
    expect(top2.topCategories.map((t) => t.label)).toEqual(['kitchen']);
    const none = computeProfiles(dataset(events, items, NOW), { topTerms: 0, topCategories: 0 });
    expect(none.every((p) => p.topTerms.length === 0 && p.topCategories.length === 0)).toBe(true);
  });

  /** Profiles of one-day purchases given as [customer, quantity, unit price] lines, each line its own item. */
  const linesProfiled = (lines: [string, number, number][]) =>
    segmentProfiles(computeProfiles(buildDataset({ events: lines.map(([userId, quantity, price], n) => ({ userId, itemId: `i${n}`, orderId: `${userId}-1`, ts: Date.parse(NOW), quantity, price })) })));

  it('When two customers spent the same (0.10 + 0.20 against 0.30), Then they share spend, M score and value tier however the basket was split', () => {
    const [a, b] = linesProfiled([['a', 1, 0.1], ['a', 1, 0.2], ['b', 1, 0.3]]);
    expect(a.monetary).toBe(0.3);
    expect(b.monetary).toBe(0.3);
    expect([a.mScore, a.valueTier]).toEqual([b.mScore, b.valueTier]);
  });

  it('When a wholesale customer spent 50,000 x 4.01 and another 200,500.00 in one line, Then both spent 200,500.00 (single-precision prices do not drift over many units)', () => {
    const spend = new Map(linesProfiled([['a', 50_000, 4.01], ['b', 1, 200_500], ['c', 1000, 0.001]]).map((p) => [p.userId, p.monetary]));
    expect([spend.get('a'), spend.get('b'), spend.get('c')]).toEqual([200_500, 200_500, 1]);
  });

  it('gives customers with equal order counts the same F score, and one order always F 1', () => {
    // frequencies 1,1,1,1,2,2,3,5,8,13 (N = 10). Mid-rank p = (L + E/2) / 10:
    // 1 -> 0.2 -> 2;  2 -> 0.5 -> 3;  3 -> 0.65 -> 4;  5 -> 0.75 -> 4;  8 -> 0.85 -> 5;  13 -> 0.95 -> 5
    // but one order is F 1 whatever its share (40% here): the segments of first purchases (new, promising)
    // are defined on F 1, and would otherwise be empty in a shop where many customers ordered once.
    const freqs = [1, 1, 1, 1, 2, 2, 3, 5, 8, 13];
    const rows = freqs.flatMap((f, k) => regular(`c${k}`, f, '2024-01-01'));
    const profiles = computeProfiles(dataset(rows, [], '2024-02-01T00:00:00Z'));
    expect(profiles.map((p) => p.frequency)).toEqual(freqs);
    expect(profiles.map((p) => p.fScore)).toEqual([1, 1, 1, 1, 3, 3, 4, 4, 5, 5]);
  });

  it('gives a refreshed customer (one bought since training) the F score the next full computation gives', () => {
    // Half the shop ordered once: by mid-rank alone they would score F 2.
    const freqs = [1, 1, 1, 1, 1, 3, 3, 3, 3, 3];
    const rows = freqs.flatMap((f, k) => regular(`c${k}`, f, '2024-01-01'));
    const full = computeProfiles(dataset(rows, [], '2024-02-01T00:00:00Z'));
    const population = populationOf(freqs);
    // How profile-service scores a refreshed profile against the version's stored population.
    for (const [k, p] of full.entries()) expect(frequencyScore(p.frequency, scoreIn(population, p.frequency, freqs[k]))).toBe(p.fScore);
    expect(full[0].fScore).toBe(1);
  });

  it('scores monetary by quintiles: ten distinct spends make five pairs', () => {
    const spends = [50, 10, 90, 30, 70, 20, 100, 40, 80, 60];
    const rows = spends.flatMap((s, k) => regular(`c${k}`, 1, '2024-01-01', s));
    const profiles = computeProfiles(dataset(rows, [], '2024-02-01T00:00:00Z'));
    // sorted 10..100 get 1,1,2,2,3,3,4,4,5,5
    expect(profiles.map((p) => p.mScore)).toEqual([3, 1, 5, 2, 4, 1, 5, 2, 4, 3]);
    // all bought the same day: recency ties everyone at the middle score
    expect(new Set(profiles.map((p) => p.rScore))).toEqual(new Set([3]));
  });
});
