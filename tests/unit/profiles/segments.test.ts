import { describe, expect, it } from 'vitest';
import { computeProfiles } from '../../../src/profiles/profile.js';
import {
  lifecycleStage,
  RFM_SEGMENTS,
  rfmSegment,
  segmentProfiles,
  valueTiers,
} from '../../../src/profiles/segments.js';
import { dataset, events, items, line, NOW } from './profile-fixtures.js';

describe('RFM segments', () => {
  it.each([
    [5, 5, 5, 'champions'],
    [4, 4, 4, 'champions'],
    [3, 5, 5, 'loyal'], // not recent enough for champions
    [5, 3, 4, 'loyal'],
    [5, 1, 1, 'new'],
    [5, 1, 5, 'new'], // one big first order is still new
    [4, 1, 2, 'promising'],
    [3, 1, 3, 'promising'],
    [5, 2, 2, 'potential_loyalists'],
    [4, 5, 1, 'potential_loyalists'], // frequent but small baskets: not loyal (M < 3)
    [1, 5, 4, 'cant_lose'],
    [2, 5, 5, 'at_risk'], // the best, but only R 2: at risk rather than can't lose
    [1, 3, 3, 'at_risk'],
    [2, 2, 3, 'need_attention'],
    [2, 4, 2, 'need_attention'],
    [1, 1, 2, 'lost'],
    [1, 2, 2, 'lost'],
    [2, 1, 1, 'hibernating'],
    [1, 4, 1, 'hibernating'],
    [2, 1, 5, 'hibernating'],
  ])('R%i F%i M%i is %s', (r, f, m, expected) => {
    expect(rfmSegment(r, f, m)).toBe(expected);
  });

  it('gives every one of the 125 score triples exactly one known segment, recent ones a recent segment', () => {
    const recent = new Set(['champions', 'loyal', 'new', 'promising', 'potential_loyalists']);
    for (let r = 1; r <= 5; r++)
      for (let f = 1; f <= 5; f++)
        for (let m = 1; m <= 5; m++) {
          const s = rfmSegment(r, f, m);
          expect(RFM_SEGMENTS).toContain(s);
          expect(recent.has(s)).toBe(r >= 3);
        }
  });
});

describe('lifecycle stage', () => {
  const stage = (recencyDays: number, meanIntervalDays: number | null, tenureDays = 400) =>
    lifecycleStage({ recencyDays, meanIntervalDays, tenureDays });

  it('calls a customer new while the first order is under 30 days old, however quiet since', () => {
    expect(stage(29, null, 29)).toBe('new');
    expect(stage(30, null, 30)).toBe('active'); // 30 days is no longer "within 30"
  });

  it("judges silence against the customer's own interval: 2x silent, 4x churned (strictly past)", () => {
    // interval 10: silent after max(20, 14) = 20, churned after max(40, 30) = 40
    expect(stage(20, 10)).toBe('active');
    expect(stage(21, 10)).toBe('silent');
    expect(stage(40, 10)).toBe('silent');
    expect(stage(41, 10)).toBe('churned');
  });

  it('treats the same absence differently for a weekly and a seasonal buyer', () => {
    expect(stage(45, 10)).toBe('churned'); // 45 > 4 x 10
    expect(stage(45, 60)).toBe('active'); // 45 <= 2 x 60
  });

  it('keeps very frequent buyers from churning within a week, via the floors', () => {
    // interval 2: silent after max(4, 14) = 14, churned after max(8, 30) = 30
    expect(stage(14, 2)).toBe('active');
    expect(stage(15, 2)).toBe('silent');
    expect(stage(31, 2)).toBe('churned');
  });

  it('falls back to absolute days for customers with no interval, configurable', () => {
    expect(stage(90, null)).toBe('active');
    expect(stage(91, null)).toBe('silent');
    expect(stage(181, null)).toBe('churned');
    const opts = { singleOrderSilentDays: 30, singleOrderChurnDays: 60 };
    expect(lifecycleStage({ recencyDays: 31, meanIntervalDays: null, tenureDays: 31 }, opts)).toBe('silent');
    expect(lifecycleStage({ recencyDays: 61, meanIntervalDays: null, tenureDays: 61 }, opts)).toBe('churned');
  });

  it('uses the fallback for several orders on a single day (no interval observed)', () => {
    // two orders on 2024-01-02, reference 2024-05-01: 120 days away, tenure 120 -> silent (90 < 120 <= 180)
    const ds = dataset(
      [line('d', 'o1', '2024-01-02T09:00:00Z', 'x', 1, 1), line('d', 'o2', '2024-01-02T17:00:00Z', 'x', 1, 1)],
      [],
      '2024-05-01T00:00:00Z',
    );
    const [d] = segmentProfiles(computeProfiles(ds));
    expect([d.frequency, d.meanIntervalDays, d.recencyDays]).toEqual([2, null, 120]);
    expect(d.lifecycle).toBe('silent');
  });
});

describe('value tiers', () => {
  it('puts the top 20% of spend in high, the next 30% in medium, the rest in low', () => {
    // p = 0.05 .. 0.95: >= 0.8 -> 9, 10 high; >= 0.5 -> 6, 7, 8 medium
    const tiers = valueTiers([3, 10, 1, 7, 5, 9, 2, 8, 4, 6]);
    expect(tiers).toEqual(['low', 'high', 'low', 'medium', 'low', 'high', 'low', 'medium', 'low', 'medium']);
  });

  it('keeps equal spends in one tier, even if that leaves high empty', () => {
    // 10,10,10: L=2 E=3 -> p = 3.5/5 = 0.7 -> medium;  1,1: p = 1/5 = 0.2 -> low
    expect(valueTiers([10, 1, 10, 10, 1])).toEqual(['medium', 'low', 'medium', 'medium', 'low']);
  });
});

describe('segmentProfiles', () => {
  it('labels each customer of the hand-made fixture', () => {
    const labelled = segmentProfiles(computeProfiles(dataset(events, items, NOW)));
    const labels = Object.fromEntries(labelled.map((p) => [p.userId, [p.segment, p.lifecycle, p.valueTier]]));
    expect(labels).toEqual({
      // R5 F5 M5; first order 30 days ago (not new); recency 0 -> active; spend 15 of (15, 12, 5.5): p = 5/6 -> high
      u1: ['champions', 'active', 'high'],
      // R1 F1 M3 -> hibernating (not lost: M 3); tenure 60, one order 60 days ago -> active; p = 1/2 -> medium
      u2: ['hibernating', 'active', 'medium'],
      // R3 F3 M1 -> potential loyalist; first order 10 days ago -> new; p = 1/6 -> low
      u3: ['potential_loyalists', 'new', 'low'],
    });
  });
});
