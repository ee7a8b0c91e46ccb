import { describe, expect, it } from 'vitest';
import { segmentReport } from '../../../src/profiles/segment-report.js';
import type { SegmentLabels } from '../../../src/profiles/segments.js';

const customer = (monetary: number, r: number, f: number, m: number, labels: SegmentLabels) => ({
  monetary,
  rScore: r,
  fScore: f,
  mScore: m,
  ...labels,
});

describe('segment report', () => {
  const profiles = [
    customer(60, 5, 5, 5, { segment: 'champions', lifecycle: 'active', valueTier: 'high' }),
    customer(20, 4, 4, 4, { segment: 'champions', lifecycle: 'active', valueTier: 'medium' }),
    customer(15, 1, 2, 2, { segment: 'lost', lifecycle: 'churned', valueTier: 'low' }),
    customer(5, 1, 1, 1, { segment: 'lost', lifecycle: 'silent', valueTier: 'low' }),
  ];
  const report = segmentReport(profiles);

  it('gives size, shares of users and revenue, and mean scores per segment', () => {
    expect(report.users).toBe(4);
    expect(report.revenue).toBe(100);
    const champions = report.segments.find((s) => s.name === 'champions')!;
    // 2 of 4 users, 80 of 100 revenue, scores (5+4)/2
    expect(champions).toEqual({
      name: 'champions',
      users: 2,
      userShare: 0.5,
      revenue: 80,
      revenueShare: 0.8,
      meanR: 4.5,
      meanF: 4.5,
      meanM: 4.5,
    });
    const lost = report.segments.find((s) => s.name === 'lost')!;
    expect([lost.users, lost.revenueShare, lost.meanR, lost.meanF, lost.meanM]).toEqual([2, 0.2, 1, 1.5, 1.5]);
  });

  it('lists empty segments with zero size and null means, so every segment appears once', () => {
    expect(report.segments).toHaveLength(10);
    const loyal = report.segments.find((s) => s.name === 'loyal')!;
    expect(loyal).toMatchObject({ users: 0, userShare: 0, revenue: 0, revenueShare: 0, meanR: null });
  });

  it('summarizes lifecycle stages and value tiers the same way', () => {
    expect(report.lifecycle.map((g) => [g.name, g.users, g.revenueShare])).toEqual([
      ['new', 0, 0],
      ['active', 2, 0.8],
      ['silent', 1, 0.05],
      ['churned', 1, 0.15],
    ]);
    expect(report.valueTiers.map((g) => [g.name, g.users, g.revenueShare])).toEqual([
      ['high', 1, 0.6],
      ['medium', 1, 0.2],
      ['low', 2, 0.2],
    ]);
  });

  it('gives the RFM distribution: customers per R, F and M score, score 1 first', () => {
    // R: 5, 4, 1, 1; F: 5, 4, 2, 1; M: 5, 4, 2, 1 (the four customers above).
    expect(report.scores).toEqual({ r: [2, 0, 0, 1, 1], f: [1, 1, 0, 1, 1], m: [1, 1, 0, 1, 1] });
  });

  it('reports zero shares, not NaN, for no customers', () => {
    const empty = segmentReport([]);
    expect(empty.users).toBe(0);
    expect(empty.scores).toEqual({ r: [0, 0, 0, 0, 0], f: [0, 0, 0, 0, 0], m: [0, 0, 0, 0, 0] });
    expect(empty.segments.every((s) => s.userShare === 0 && s.revenueShare === 0)).toBe(true);
  });
});
