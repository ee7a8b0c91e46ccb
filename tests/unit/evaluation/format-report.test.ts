import { describe, expect, it } from 'vitest';
import type { EvaluationReport, MetricName, ReportRow } from '../../../src/evaluation/evaluation-report.js';
import { formatReport } from '../../../src/evaluation/format-report.js';

const metrics = (ndcg: number, diversity: number | null): Record<MetricName, number | null> => ({
  precision: 0.1,
  recall: 0.2,
  ndcg,
  map: 0.05,
  hitRate: 0.5,
  catalogCoverage: 0.01,
  userCoverage: 1,
  diversity,
  novelty: 2.5,
  popularTop100Share: 0.9,
});
const row = (strategy: string, k: number, ndcg: number, lift: number | null): ReportRow => ({
  strategy,
  mode: 'novel',
  k,
  users: 12,
  metrics: metrics(ndcg, null),
  lift: { ...metrics(0, null), ndcg: lift },
});

const report: EvaluationReport = {
  split: { kind: 'temporal', cutoff: '2011-11-01T00:00:00.000Z', testEnd: null, trainUsers: 30, trainItems: 40, trainEvents: 500, testUsers: { novel: 12 } },
  modes: ['novel'],
  ks: [5, 10],
  strategies: ['popularity', 'item-knn'],
  baseline: 'popularity',
  rows: [
    row('popularity', 5, 0.04, 0),
    { ...row('item-knn', 5, 0.06, 0.5), liftInterval: { precision: null, recall: null, ndcg: { low: 0.1, high: 0.9 }, map: null, hitRate: null } },
    row('popularity', 10, 0.05, 0),
    row('item-knn', 10, 0.0425, -0.15),
  ],
  breakdowns: [
    { dimension: 'history', group: '1', strategy: 'popularity', mode: 'novel', k: 5, users: 4, metrics: { precision: 0, recall: 0, ndcg: 0.125, map: 0, hitRate: 0 } },
    { dimension: 'history', group: '2-5', strategy: 'popularity', mode: 'novel', k: 5, users: 8, metrics: { precision: 0, recall: 0, ndcg: 0.25, map: 0, hitRate: 0 } },
  ],
};

describe('formatReport', () => {
  const text = formatReport(report);
  const lines = text.split('\n');

  it('When rendered, Then there is one block per mode x k with strategies as rows in report order', () => {
    const at5 = lines.indexOf('mode novel, k = 5 (12 users)');
    const at10 = lines.indexOf('mode novel, k = 10 (12 users)');
    expect(at5).toBeGreaterThan(0);
    expect(at10).toBeGreaterThan(at5);
    expect(lines[at5 + 1]).toMatch(/^strategy\s+P@5\s+R@5\s+NDCG@5\s+MAP@5\s+HR@5\s+catCov\s+userCov\s+divers\s+novelty\s+top100\s+NDCG lift\s+95% CI$/);
    expect(lines[at5 + 3]).toMatch(/^popularity\s/);
    expect(lines[at5 + 4]).toMatch(/^item-knn\s/);
  });

  it('When values are rendered, Then metrics have 4 decimals, missing values a dash, and lifts a signed percentage', () => {
    const knn10 = lines[lines.indexOf('mode novel, k = 10 (12 users)') + 4].split(/\s+/);
    expect(knn10[0]).toBe('item-knn');
    expect(knn10[3]).toBe('0.0425'); // NDCG@10
    expect(knn10[8]).toBe('-'); // diversity null
    expect(knn10.at(-2)).toBe('-15.0%');
    expect(knn10.at(-1)).toBe('-'); // a report stored before intervals existed
    const knn5 = lines[lines.indexOf('mode novel, k = 5 (12 users)') + 4].split(/\s+/);
    expect(knn5.slice(-2)).toEqual(['+50.0%', '+10.0%..+90.0%']);
  });

  it('When breakdowns exist, Then NDCG per history bucket is a table with user counts in the header', () => {
    const at = lines.indexOf('NDCG@5 by train orders, mode novel');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^strategy\s+1 \(4\)\s+2-5 \(8\)$/);
    expect(lines[at + 3].split(/\s+/)).toEqual(['popularity', '0.1250', '0.2500']);
    // item-knn has no breakdown rows: dashes
    expect(lines[at + 4].split(/\s+/)).toEqual(['item-knn', '-', '-']);
    expect(formatReport(report, { breakdowns: false })).not.toContain('by train orders');
  });

  it('When the header is rendered, Then it names the split and the training sizes', () => {
    expect(lines[0]).toBe('temporal split, test from 2011-11-01T00:00:00.000Z');
    expect(lines[1]).toContain('train: 30 users, 40 items, 500 events; test users: novel 12; baseline: popularity');
    // A report stored before the test period's lines were kept has no line for them.
    expect(lines[2]).toBe('');
  });

  it('When the report says what the protocol left out of the test period, Then the header counts its lines and their shares', () => {
    const withLines = formatReport({ ...report, split: { ...report.split, testPurchases: { total: 200, counted: 50, newCustomers: 30, newItems: 120 } } }).split('\n');
    expect(lines[2]).toBe('');
    expect(withLines[2]).toBe('test purchases: 200, counted 50 (25.0%); left out: 30 (15.0%) of customers with none before, 120 (60.0%) of products first bought in the test period');
  });

  it('When relevance was counted per product group, Then the header says so, and a per-product report has no such line', () => {
    const grouped = formatReport({ ...report, relevance: 'group' }).split('\n');
    expect(grouped[2]).toBe('relevance per product group: a listed product counts when the customer bought any product of its group, each group once; catCov counts groups');
    expect(formatReport({ ...report, relevance: 'product' }).split('\n')[2]).toBe('');
  });
});
