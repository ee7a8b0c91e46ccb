import { beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import type { UserContext } from '../../../src/recommenders/recommender.js';
import { evaluateScorers, type Scorer } from '../../../src/evaluation/evaluate.js';
import type { EvaluationReport } from '../../../src/evaluation/evaluation-report.js';
import { temporalSplit } from '../../../src/evaluation/splits.js';

const ev = (userId: string, orderId: string, ts: number, itemId: string): PurchaseRow => ({
  userId,
  itemId,
  orderId,
  ts,
  quantity: 1,
  price: null,
});

/**
 * Cutoff 100. Train: u1 {A,B}@10 + {C}@20 (2 orders); u2 {A}@30 (1 order); u3 {D}@40, {E}@41, {A}@42 (3 orders).
 * Item indices follow first appearance: A=0, B=1, C=2, D=3, E=4; users u1=0, u2=1, u3=2.
 * Distinct buyers: A 3, B..E 1 each, of 3 train users.
 * Test: u1 {A (repurchase), D}; u2 {B, C}; u3 {A (repurchase)}.
 *   novel: u1 {D}, u2 {B, C}        all: u1 {A, D}, u2 {B, C}, u3 {A}
 */
const split = temporalSplit(
  {
    events: [
      ev('u1', 'o1', 10, 'A'),
      ev('u1', 'o1', 10, 'B'),
      ev('u1', 'o2', 20, 'C'),
      ev('u2', 'o3', 30, 'A'),
      ev('u3', 'o4', 40, 'D'),
      ev('u3', 'o5', 41, 'E'),
      ev('u3', 'o6', 42, 'A'),
      ev('u1', 'o7', 110, 'A'),
      ev('u1', 'o7', 110, 'D'),
      ev('u2', 'o8', 120, 'B'),
      ev('u2', 'o8', 120, 'C'),
      ev('u3', 'o9', 130, 'A'),
    ],
    users: [{ id: 'u1', attributes: { country: 'UK' } }],
  },
  100,
);
const [A, B, C, D, E] = [0, 1, 2, 3, 4];

/** Same global ranking for everyone: A > B > C > D > E. */
const fixed: Scorer = (_ctx, out) => out.set([5, 4, 3, 2, 1]);
/** u1 -> only D; u2 -> E then C; u3 -> only A. */
const perUser: Scorer = (ctx, out) => {
  if (ctx.user === 0) out[D] = 1;
  if (ctx.user === 1) {
    out[E] = 2;
    out[C] = 1;
  }
  if (ctx.user === 2) out[A] = 1;
};
/** Same groups: {A, B, C} and {D, E}. */
const similarity = (a: number, b: number) => ((a <= C) === (b <= C) ? 1 : 0);

const L3 = Math.log2(3);

function row(report: EvaluationReport, strategy: string, mode: string, k: number) {
  const r = report.rows.find((x) => x.strategy === strategy && x.mode === mode && x.k === k);
  if (!r) throw new Error(`no row ${strategy}/${mode}/${k}`);
  return r;
}

describe('evaluateScorers', () => {
  const contexts: UserContext[] = [];
  const progress: [number, number][] = [];
  let report: EvaluationReport;
  beforeAll(async () => {
    report = await evaluateScorers({
    split,
    mode: ['novel', 'all'],
    ks: [3, 1],
    scorers: new Map<string, Scorer>([
      [
        'fixed',
        (ctx, out) => {
          contexts.push(ctx);
          fixed(ctx, out);
        },
      ],
      ['perUser', perUser],
    ]),
    baseline: 'fixed',
    itemSimilarity: similarity,
    segmentOf: (u) => (u === 2 ? null : u === 0 ? 'x' : 'y'),
    onProgress: (done, total) => progress.push([done, total]),
    });
  });

  it('When a global scorer is evaluated in novel mode, Then train purchases are excluded and metrics match hand computation', () => {
    // u1 (bought A,B,C) gets [D, E]; u2 (bought A) gets [B, C, D].
    // @3: P = (1/3 + 2/3)/2 = 1/2; R = (1/1 + 2/2)/2 = 1; NDCG = 1 (both ideal); MAP = (1 + (1/1+2/2)/2)/2 = 1; HR = 1
    const r = row(report, 'fixed', 'novel', 3);
    expect(r.users).toBe(2);
    expect(r.metrics.precision).toBeCloseTo(0.5, 12);
    expect(r.metrics.recall).toBeCloseTo(1, 12);
    expect(r.metrics.ndcg).toBeCloseTo(1, 12);
    expect(r.metrics.map).toBeCloseTo(1, 12);
    expect(r.metrics.hitRate).toBe(1);
    // distinct {B, C, D, E} = 4 of 5 items
    expect(r.metrics.catalogCoverage).toBeCloseTo(0.8, 12);
    expect(r.metrics.userCoverage).toBe(1);
    // [D,E]: sim 1 -> 0; [B,C,D]: (1 + 0 + 0)/3 -> 2/3; mean 1/3
    expect(r.metrics.diversity).toBeCloseTo(1 / 3, 12);
    // every recommended item has 1 buyer of 3: -log2(1/3) = log2 3
    expect(r.metrics.novelty).toBeCloseTo(L3, 12);
    expect(r.metrics.popularTop100Share).toBe(1);
  });

  it('When k = 1, Then lists are cut to the first item and single-item lists have no diversity', () => {
    // u1 [D] hit; u2 [B] hit -> every accuracy metric 1; coverage {D, B} = 2/5
    const r = row(report, 'fixed', 'novel', 1);
    expect(r.metrics.precision).toBe(1);
    expect(r.metrics.ndcg).toBe(1);
    expect(r.metrics.catalogCoverage).toBeCloseTo(0.4, 12);
    expect(r.metrics.diversity).toBeNull();
  });

  it('When a personal scorer is compared with the baseline, Then its metrics and lifts match hand computation', () => {
    // novel @3: u1 [D] (rel {D}): P 1/3, R 1, NDCG 1, MAP 1. u2 [E, C] (rel {B,C}): hit at rank 2:
    // P 1/3, R 1/2, NDCG (1/log2 3) / (1 + 1/log2 3), MAP (1/2)/2 = 1/4.
    const r = row(report, 'perUser', 'novel', 3);
    expect(r.metrics.precision).toBeCloseTo(1 / 3, 12);
    expect(r.metrics.recall).toBeCloseTo(3 / 4, 12);
    expect(r.metrics.ndcg).toBeCloseTo((1 + 1 / L3 / (1 + 1 / L3)) / 2, 12);
    expect(r.metrics.map).toBeCloseTo(5 / 8, 12);
    expect(r.metrics.hitRate).toBe(1);
    expect(r.metrics.catalogCoverage).toBeCloseTo(3 / 5, 12); // {D, E, C}
    expect(r.metrics.diversity).toBeCloseTo(1, 12); // only [E, C] has two items; sim 0
    // lift = value / baseline - 1: precision (1/3)/(1/2) - 1 = -1/3; recall 3/4 / 1 - 1 = -1/4
    expect(r.lift.precision).toBeCloseTo(-1 / 3, 12);
    expect(r.lift.recall).toBeCloseTo(-1 / 4, 12);
    expect(row(report, 'fixed', 'novel', 3).lift.precision).toBe(0);
    // @1: u1 [D] hit, u2 [E] miss -> every accuracy metric 1/2, lift -1/2
    const r1 = row(report, 'perUser', 'novel', 1);
    expect(r1.metrics.ndcg).toBeCloseTo(0.5, 12);
    expect(r1.lift.hitRate).toBeCloseTo(-0.5, 12);
    // Two users with a hit at most: too few for an interval. The baseline's own row never has one.
    expect(r1.liftInterval!.hitRate).toBeNull();
    expect(row(report, 'fixed', 'novel', 1).liftInterval!.ndcg).toBeNull();
  });

  it('When mode is all, Then repurchases count and train purchases may be recommended', () => {
    // Everyone gets [A, B, C]. u1 rel {A,D}: P 1/3, R 1/2, MAP 1/2. u2 rel {B,C}: hits at 2 and 3: P 2/3, R 1,
    // MAP (1/2 + 2/3)/2 = 7/12, NDCG (1/log2 3 + 1/2)/(1 + 1/log2 3). u3 rel {A}: P 1/3, R 1, MAP 1, NDCG 1.
    const r = row(report, 'fixed', 'all', 3);
    expect(r.users).toBe(3);
    expect(r.metrics.precision).toBeCloseTo(4 / 9, 12);
    expect(r.metrics.recall).toBeCloseTo(5 / 6, 12);
    expect(r.metrics.map).toBeCloseTo(25 / 36, 12);
    const ndcgU1 = 1 / (1 + 1 / L3);
    const ndcgU2 = (1 / L3 + 0.5) / (1 + 1 / L3);
    expect(r.metrics.ndcg).toBeCloseTo((ndcgU1 + ndcgU2 + 1) / 3, 12);
    expect(r.metrics.catalogCoverage).toBeCloseTo(3 / 5, 12);
    // each list [A,B,C]: A has 3 of 3 buyers (novelty 0), B and C log2 3 -> (2 log2 3)/3
    expect(r.metrics.novelty).toBeCloseTo((2 * L3) / 3, 12);
    // @1: [A] for everyone: hits for u1 and u3 -> 2/3
    expect(row(report, 'fixed', 'all', 1).metrics.precision).toBeCloseTo(2 / 3, 12);
  });

  it('When results are broken down by history length and segment, Then each group holds its own users', () => {
    const find = (dimension: string, group: string, strategy: string, mode: string, k: number) =>
      report.breakdowns.find((b) => b.dimension === dimension && b.group === group && b.strategy === strategy && b.mode === mode && b.k === k);
    // u2 has 1 train order; u1 (2) and u3 (3) are in 2-5; u3 is a test user only in mode all.
    expect(find('history', '1', 'fixed', 'novel', 3)).toMatchObject({ users: 1, metrics: { precision: 2 / 3 } });
    expect(find('history', '2-5', 'fixed', 'novel', 3)).toMatchObject({ users: 1, metrics: { precision: 1 / 3 } });
    expect(find('history', '2-5', 'fixed', 'all', 3)?.users).toBe(2);
    expect(find('history', '6-20', 'fixed', 'all', 3)).toBeUndefined();
    // segments: u1 'x', u2 'y', u3 none
    expect(find('segment', 'x', 'fixed', 'all', 3)?.users).toBe(1);
    expect(find('segment', 'y', 'perUser', 'novel', 1)).toMatchObject({ users: 1, metrics: { hitRate: 0 } });
  });

  it('When scorers are called, Then each test user gets its sorted train history, attributes and the cutoff as now', () => {
    expect(contexts.map((c) => c.user)).toEqual([0, 1, 2]);
    expect(contexts[0].history.map((h) => [h.item, h.ts])).toEqual([
      [A, 10],
      [B, 10],
      [C, 20],
    ]);
    expect(contexts[0].history[0].order).toBe(contexts[0].history[1].order);
    expect(contexts[0].history[2].order).not.toBe(contexts[0].history[0].order);
    expect(contexts[0].attributes).toEqual({ country: 'UK' });
    expect(contexts[0].now).toBe(100);
    // 2 strategies x 3 users (union of both modes)
    expect(progress.at(-1)).toEqual([6, 6]);
    expect(report.split).toMatchObject({ kind: 'temporal', trainUsers: 3, trainItems: 5, testUsers: { novel: 2, all: 3 } });
    expect(report.ks).toEqual([1, 3]);
  });

  it('When a scorer likes only what the user already bought, Then novel mode recommends nothing and all mode recommends it', async () => {
    const historyOnly: Scorer = (ctx, out) => {
      for (const h of ctx.history) out[h.item] = 10;
    };
    const r = await evaluateScorers({ split, mode: ['novel', 'all'], ks: [5], scorers: new Map([['h', historyOnly]]), baseline: 'h' });
    const novel = row(r, 'h', 'novel', 5);
    expect(novel.metrics.userCoverage).toBe(0);
    expect(novel.metrics.catalogCoverage).toBe(0);
    expect(novel.metrics.novelty).toBeNull();
    // all: u1 gets {A,B,C} (hit A), u2 {A} (miss), u3 {A,D,E} (hit A)
    const all = row(r, 'h', 'all', 5);
    expect(all.metrics.userCoverage).toBe(1);
    expect(all.metrics.hitRate).toBeCloseTo(2 / 3, 12);
  });

  it('When a strategy is compared with the baseline, Then each user is paired with their own baseline list, also after a user the mode skips', async () => {
    // u00 only rebuys in the test period, so it is a test user in mode all only, and it has the lowest
    // index; u1..u24 each buy one item new to them (N1..N24), which u00 bought in train.
    const rows: PurchaseRow[] = [];
    for (let i = 1; i <= 24; i++) rows.push(ev('u00', 'o0', 1, `N${i}`));
    for (let i = 1; i <= 24; i++) rows.push(ev(`u${i}`, `t${i}`, 2, 'T'));
    rows.push(ev('u00', 'r0', 110, 'N1'));
    for (let i = 1; i <= 24; i++) rows.push(ev(`u${i}`, `n${i}`, 120, `N${i}`));
    const s2 = temporalSplit({ events: rows }, 100);
    // Each list has one item: the user's own new item when `hits(i)`, else the next user's.
    const hitting = (hits: (i: number) => boolean): Scorer => (ctx, out) => {
      const i = Number(s2.train.userIds[ctx.user].slice(1));
      out[s2.train.itemIds.indexOf(i === 0 ? 'N1' : hits(i) ? `N${i}` : `N${(i % 24) + 1}`)] = 1;
    };
    const paired = await evaluateScorers({
      split: s2,
      mode: ['all', 'novel'],
      ks: [1],
      scorers: new Map([
        ['base', hitting((i) => i <= 20)],
        ['other', hitting((i) => i <= 12 || i > 20)],
      ]),
      baseline: 'base',
    });
    // Novel mode, u1..u24: x = 12 hits, 8 misses, 4 hits; b = 20 hits, 4 misses. By the influence values
    // z = (x - R b) / mean(b) of R = mean(x) / mean(b): se(log R) = sd(z) / sqrt(n) / R.
    const x = Array.from({ length: 24 }, (_, u) => (u < 12 || u >= 20 ? 1 : 0));
    const b = Array.from({ length: 24 }, (_, u) => (u < 20 ? 1 : 0));
    const mean = (v: number[]) => v.reduce((a, c) => a + c, 0) / v.length;
    const r = mean(x) / mean(b);
    const z = x.map((xi, u) => (xi - r * b[u]) / mean(b));
    const sd = Math.sqrt(z.reduce((a, zi) => a + (zi - mean(z)) ** 2, 0) / 23);
    const seLog = sd / Math.sqrt(24) / r;
    const ci = row(paired, 'other', 'novel', 1).liftInterval!.hitRate!;
    expect(row(paired, 'other', 'novel', 1).users).toBe(24);
    expect(ci.low).toBeCloseTo(r * Math.exp(-1.959964 * seLog) - 1, 5);
    expect(ci.high).toBeCloseTo(r * Math.exp(1.959964 * seLog) - 1, 5);
    // Every novel test user bought one order in train: the history bucket '1' holds the same 24 users,
    // so its breakdown row carries the same lift and interval; the baseline's own has lift 0 and none.
    const bucket = (strategy: string) => paired.breakdowns.find((x) => x.dimension === 'history' && x.group === '1' && x.strategy === strategy && x.mode === 'novel')!;
    expect(bucket('other').users).toBe(24);
    expect(bucket('other').lift!.hitRate).toBeCloseTo(r - 1, 12);
    expect(bucket('other').liftInterval!.hitRate).toEqual(ci);
    expect(bucket('base').lift!.hitRate).toBe(0);
    expect(bucket('base').liftInterval!.hitRate).toBeNull();
  });

  it('When the baseline is not a scorer, Then it refuses', async () => {
    await expect(evaluateScorers({ split, mode: 'novel', ks: [5], scorers: new Map([['a', fixed]]), baseline: 'b' })).rejects.toThrow(/baseline/);
  });
});

describe('evaluateScorers on a catalogue with product groups', () => {
  // B and C are two sizes of one style (group 0); A and E are one style (group 1); D has no group.
  const groups = { of: Int32Array.from([1, 0, 0, -1, 1]), count: 2 };
  const evaluate = (withGroups: boolean) =>
    evaluateScorers({ split, mode: ['novel', 'all'], ks: [3], scorers: new Map([['fixed', fixed]]), baseline: 'fixed', ...(withGroups ? { groups } : {}) });

  it('When two variants of one group would both be in the top k, Then only the better one is, and the next product down takes the other place', async () => {
    // novel @3, u2 (bought A; tests B, C): without groups [B, C, D]; with them [B, D] (C is B's sibling, A's group
    // E is left out with A, as served). u1 (bought A, B, C: both groups blocked) gets [D] either way.
    const before = row(await evaluate(false), 'fixed', 'novel', 3);
    const after = row(await evaluate(true), 'fixed', 'novel', 3);
    // precision: before u1 1/3, u2 2/3; after u1 [D] 1/3, u2 [B, D] 1/3 (B and C are one group: one hit).
    expect(before.metrics.precision).toBeCloseTo(1 / 2, 12);
    expect(after.metrics.precision).toBeCloseTo(1 / 3, 12);
    // recall: u2 bought one style (B and C) and B is on the list: 1 of 1 group, as without groups 2 of 2 products.
    expect(before.metrics.recall).toBeCloseTo(1, 12);
    expect(after.metrics.recall).toBeCloseTo(1, 12);
  });

  it('When repurchases count (mode all), Then each group keeps its best item there too', async () => {
    // Everyone ranked B > C > D > E > A. all @3 with groups: [B, D, E] (C is B's sibling, A is E's); without: [B, C, D].
    const bFirst: Scorer = (_ctx, out) => out.set([1, 5, 4, 3, 2]);
    const evaluateAll = (withGroups: boolean) =>
      evaluateScorers({ split, mode: 'all', ks: [3], scorers: new Map([['bFirst', bFirst]]), baseline: 'bFirst', ...(withGroups ? { groups } : {}) });
    // u1 tests {A, D}, u2 {B, C}, u3 {A}: without groups 1/2, 1, 0. With them the groups {A E, D}, {B C}, {A E}:
    // E stands for A (its sibling), B for B and C: 2 of 2, 1 of 1, 1 of 1.
    expect(row(await evaluateAll(true), 'bFirst', 'all', 3).metrics.recall).toBeCloseTo(1, 12);
    expect(row(await evaluateAll(false), 'bFirst', 'all', 3).metrics.recall).toBeCloseTo((1 / 2 + 1 + 0) / 3, 12);
  });
});

describe('evaluateScorers counts relevance per product group', () => {
  // Styles S (sizes M, L), T (M, L), V (M, L), and U without a group. Cutoff 100.
  // Train: u1 S-M; u2 U, V-M; u3 S-L, T-M, T-L, V-L (so every product is in the train catalogue).
  // Test: u1 S-L (another size of a style bought before), T-M and T-L (one style), V-L; u2 V-L (a style bought before).
  const groupSplit = temporalSplit(
    {
      events: [
        ev('u1', 'o1', 10, 'S-M'),
        ev('u2', 'o2', 20, 'U'),
        ev('u2', 'o2', 20, 'V-M'),
        ...['S-L', 'T-M', 'T-L', 'V-L'].map((item) => ev('u3', 'o3', 30, item)),
        ...['S-L', 'T-M', 'T-L', 'V-L'].map((item) => ev('u1', 'o4', 110, item)),
        ev('u2', 'o5', 120, 'V-L'),
      ],
    },
    100,
  );
  // Item indices by first appearance: S-M 0, U 1, V-M 2, S-L 3, T-M 4, T-L 5, V-L 6; groups S 0, T 1, V 2.
  const styles = { of: Int32Array.from([0, -1, 2, 0, 1, 1, 2]), count: 3 };
  // Everyone ranked T-L 6 > U 5 > S-L 4 > V-M 3 > T-M 2 > S-M 1 > V-L 0.5.
  const ranked: Scorer = (_ctx, out) => out.set([1, 5, 3, 4, 2, 6, 0.5]);
  let report: EvaluationReport;
  beforeAll(async () => {
    report = await evaluateScorers({ split: groupSplit, mode: ['novel', 'all'], ks: [4], scorers: new Map([['ranked', ranked]]), baseline: 'ranked', groups: styles });
  });

  it('When the customer bought another size of a listed style, Then the listed product is a hit, and each style bought counts once', () => {
    // all @4, one per style: [T-L, U, S-L, V-M] for everyone.
    // u1 bought 4 products of 3 styles {S, T, V}: hits at ranks 1 (T), 3 (S), 4 (V, V-M listed, V-L bought).
    //   recall 3 / min(4, 3) = 1, precision 3/4, NDCG (1 + 1/log2 4 + 1/log2 5) / (1 + 1/log2 3 + 1/log2 4),
    //   MAP (1/1 + 2/3 + 3/4) / 3 = 29/36, hit 1. (Per product: recall 2/4, V-M no hit.)
    // u2 bought V-L: style V, hit at rank 4 (V-M): recall 1, precision 1/4, NDCG 1/log2 5, MAP 1/4, hit 1. (Per product: 0.)
    const all = row(report, 'ranked', 'all', 4);
    expect(all.users).toBe(2);
    expect(all.metrics.recall).toBeCloseTo(1, 12);
    expect(all.metrics.precision).toBeCloseTo((3 / 4 + 1 / 4) / 2, 12);
    const l5 = Math.log2(5);
    expect(all.metrics.ndcg).toBeCloseTo(((1 + 1 / 2 + 1 / l5) / (1 + 1 / L3 + 1 / 2) + 1 / l5) / 2, 12);
    expect(all.metrics.map).toBeCloseTo((29 / 36 + 1 / 4) / 2, 12);
    expect(all.metrics.hitRate).toBe(1);
    expect(report.relevance).toBe('group');
  });

  it('When only new items count, Then a style the customer bought any size of before is not new, and a customer left with none is no test user', () => {
    // novel @4: u1 bought S-M before, so style S is left out of the list and of what counts: [T-L, U, V-M] against
    // {T, V}: hits at ranks 1 and 3, recall 2/2, precision 2/4, NDCG (1 + 1/log2 4) / (1 + 1/log2 3), MAP (1 + 2/3) / 2.
    // u2's V-L is a product not bought before, but of style V, bought before (V-M): no novel test user.
    const novel = row(report, 'ranked', 'novel', 4);
    expect(novel.users).toBe(1);
    expect(report.split.testUsers.novel).toBe(1);
    expect(novel.metrics.recall).toBeCloseTo(1, 12);
    expect(novel.metrics.precision).toBeCloseTo(1 / 2, 12);
    expect(novel.metrics.ndcg).toBeCloseTo((1 + 1 / 2) / (1 + 1 / L3), 12);
    expect(novel.metrics.map).toBeCloseTo(5 / 6, 12);
  });

  it('When lists hold one product per style, Then catalog coverage counts styles (a product without one counts as its own)', () => {
    // 4 keys: S, T, V, U. all: [T-L, U, S-L, V-M] shows all 4 (per product 4 of 7); novel: [T-L, U, V-M] 3 of 4.
    expect(row(report, 'ranked', 'all', 4).metrics.catalogCoverage).toBeCloseTo(1, 12);
    expect(row(report, 'ranked', 'novel', 4).metrics.catalogCoverage).toBeCloseTo(3 / 4, 12);
  });

  it('When the catalogue has no groups, Then relevance is per product as before', async () => {
    const plain = await evaluateScorers({ split: groupSplit, mode: 'all', ks: [4], scorers: new Map([['ranked', ranked]]), baseline: 'ranked' });
    // all @4 without groups: [T-L, U, S-L, V-M]; u1 {S-L, T-M, T-L, V-L}: 2 of 4; u2 {V-L}: 0.
    expect(row(plain, 'ranked', 'all', 4).metrics.recall).toBeCloseTo((2 / 4 + 0) / 2, 12);
    expect(plain.relevance).toBe('product');
  });
});
