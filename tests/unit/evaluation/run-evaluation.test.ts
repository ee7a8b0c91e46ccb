import { describe, expect, it } from 'vitest';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { rowNameCollisions, runEvaluation } from '../../../src/evaluation/run-evaluation.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { DAY, recipe, T0, twoGroups } from './two-groups-fixture.js';

describe('an evaluation run', () => {
  it('When a recipe is evaluated, Then its hybrid, its sources and the popularity baseline are reported with lifts', async () => {
    const report = await runEvaluation({ events: twoGroups() }, [recipe], {
      split: { kind: 'temporal', cutoff: new Date(T0 + 50 * DAY).toISOString() },
      modes: ['novel', 'all'],
      ks: [3],
    });
    // 24 users, each with 3 train purchases and one new test item of their own group.
    expect(report.split).toMatchObject({ trainUsers: 24, trainItems: 12, testUsers: { novel: 24, all: 24 } });
    expect(report.baseline).toBe('popularity');
    expect(report.strategies).toEqual(['tiny', 'popularity', 'item-knn']);
    const row = (s: string, mode: string) => report.rows.find((r) => r.strategy === s && r.mode === mode)!;
    expect(row('popularity', 'novel').lift.ndcg).toBe(0);
    // Each user's group has 6 items; 3 are bought, so novel mode ranks the other 3: item-kNN never leaves
    // the group, so the test item is always among its 3 and hit rate is exactly 1.
    expect(row('item-knn', 'novel').metrics.hitRate).toBe(1);
    expect(row('item-knn', 'novel').metrics.recall).toBe(1);
    // Breakdowns exist by history length and by RFM segment of the train period.
    expect(report.breakdowns.some((b) => b.dimension === 'history' && b.group === '2-5')).toBe(true);
    expect(report.breakdowns.some((b) => b.dimension === 'segment')).toBe(true);
    // At the cutoff (day 50) every user last bought on days 2..15 with ~1-day gaps: all are past the
    // silent/churn thresholds of their short cycle, none is new (first order > 30 days before).
    const stages = new Set(report.breakdowns.filter((b) => b.dimension === 'lifecycle').map((b) => b.group));
    expect(stages.size).toBeGreaterThan(0);
    expect(stages.has('new')).toBe(false);
  });

  it('When a baseline is asked for, Then every lift and interval is against it, and a source left out of strategies is scored for it', async () => {
    const split = { kind: 'temporal' as const, cutoff: new Date(T0 + 50 * DAY).toISOString() };
    const report = await runEvaluation({ events: twoGroups() }, [recipe], { split, modes: ['novel'], ks: [6], strategies: [], baseline: 'item-knn' });
    expect(report.baseline).toBe('item-knn');
    expect(report.strategies).toEqual(['tiny', 'popularity', 'item-knn']);
    const row = (s: string) => report.rows.find((r) => r.strategy === s)!;
    expect(row('item-knn').lift.ndcg).toBe(0);
    expect(row('popularity').lift.ndcg).toBeCloseTo(row('popularity').metrics.ndcg! / row('item-knn').metrics.ndcg! - 1, 12);
    // Popularity ignores the two taste groups item-kNN keeps apart: worse, and 24 users are enough to tell.
    expect(row('popularity').liftInterval!.ndcg!.high).toBeLessThan(0);
    expect(row('item-knn').liftInterval!.ndcg).toBeNull();
    // The recipe's hybrid can be the baseline too; item-kNN gives the same lists here: lift 0, no doubt.
    const againstHybrid = await runEvaluation({ events: twoGroups() }, [recipe], { split, modes: ['novel'], ks: [6], strategies: ['item-knn'], baseline: 'tiny' });
    expect(againstHybrid.rows.find((r) => r.strategy === 'item-knn')!.liftInterval!.ndcg).toEqual({ low: 0, high: 0 });
    await expect(runEvaluation({ events: twoGroups() }, [recipe], { split, modes: ['novel'], ks: [3], baseline: 'als' })).rejects.toThrow(/baseline "als"/);
  });

  it('When recipes share a name, or one is named like a single strategy reported, Then those are the collisions and the run fails rather than merging their rows', async () => {
    const named = (name: string) => ({ ...recipe, name });
    expect(rowNameCollisions([recipe, named('other')], {})).toEqual([]);
    expect(rowNameCollisions([recipe, named('tiny')], {})).toEqual([{ name: 'tiny', recipes: [0, 1], strategy: false }]);
    expect(rowNameCollisions([recipe, named('popularity')], { strategies: [] })).toEqual([{ name: 'popularity', recipes: [1], strategy: true }]);
    expect(rowNameCollisions([recipe, named('item-knn')], {})).toEqual([{ name: 'item-knn', recipes: [1], strategy: true }]);
    // A source left out of the report takes no row: a recipe may bear its name.
    expect(rowNameCollisions([recipe, named('item-knn')], { strategies: [] })).toEqual([]);
    // A baseline naming a recipe is that recipe, not the source of the same name.
    expect(rowNameCollisions([recipe, named('item-knn')], { strategies: [], baseline: 'item-knn' })).toEqual([]);
    const split = { kind: 'temporal' as const, cutoff: new Date(T0 + 50 * DAY).toISOString() };
    await expect(runEvaluation({ events: twoGroups() }, [recipe, named('tiny')], { split, modes: ['novel'], ks: [3] })).rejects.toThrow(/more than one strategy would be reported as "tiny"/);
  });

  it('When a strategy is not a source of the recipe, Then the run fails naming it', async () => {
    await expect(
      runEvaluation({ events: twoGroups() }, [recipe], {
        split: { kind: 'temporal', cutoff: new Date(T0 + 50 * DAY).toISOString() },
        modes: ['novel'],
        ks: [3],
        strategies: ['als'],
      }),
    ).rejects.toThrow(/strategy "als" is not a source of recipe "tiny"/);
  });

  describe('with tune', () => {
    /** 20 customers over 100 days: each buys their own item weekly and one product new to them (t(u + w) in week w), even ones the bestseller too. */
    const weekly = (): PurchaseRow[] =>
      Array.from({ length: 20 }, (_, u) => u).flatMap((u) =>
        Array.from({ length: 14 }, (_, w) => w).flatMap((w) => {
          const day = 1 + (u % 3) + 7 * w;
          return [
            { userId: `u${u}`, itemId: `own${u % 6}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: 1 },
            { userId: `u${u}`, itemId: `t${u + w}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: 1 },
            ...(u % 2 === 0 ? [{ userId: `u${u}`, itemId: 'best', orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: 1 }] : []),
          ];
        }),
      );
    const cutoff = new Date(T0 + 70 * DAY).toISOString();
    const request = { split: { kind: 'temporal' as const, cutoff }, modes: ['novel' as const, 'all' as const], ks: [3], tune: { folds: 2, days: 14, variants: false } };

    it('When an evaluation asks to tune, Then each recipe is tuned on windows that end where the test period starts', async () => {
      const report = await runEvaluation({ events: weekly() }, [recipe], request);
      const tuning = report.tuning?.tiny as RollingValidation;
      expect(tuning.folds).toEqual([
        { start: new Date(T0 + 42 * DAY).toISOString(), end: new Date(T0 + 56 * DAY).toISOString() },
        { start: new Date(T0 + 56 * DAY).toISOString(), end: cutoff },
      ]);
      expect(['blend', 'popularity', 'item-knn']).toContain(tuning.chosen);
    });

    it("When an evaluation tunes, Then its progress moves within the tune step, unit by unit, and stays below the next step's", async () => {
      const seen: { step: string; progress: number }[] = [];
      await runEvaluation({ events: weekly() }, [recipe], request, (p) => void seen.push(p));
      const first = seen.findIndex((p) => p.step === 'tune tiny');
      const tuning = seen.filter((p) => p.step === 'tune tiny').map((p) => p.progress);
      // 2 sources on 2 folds are 4 fits, then the sources alone and the blend searches: one report each but the last.
      expect(tuning.length).toBeGreaterThan(4);
      tuning.slice(1).forEach((p, i) => expect(p).toBeGreaterThan(tuning[i]));
      const next = seen[first + tuning.length];
      expect(next.step).toMatch(/^fit tiny/);
      expect(next.progress).toBeGreaterThan(tuning[tuning.length - 1]);
    });

    it('When purchases after the cutoff change, Then what tuning chose does not', async () => {
      const marker = weekly().map((row) => ({ ...row, itemId: 'marker', orderId: `${row.orderId}-m`, ts: T0 + 80 * DAY }));
      const plain = await runEvaluation({ events: weekly() }, [recipe], request);
      const marked = await runEvaluation({ events: [...weekly(), ...marker] }, [recipe], request);
      expect(marked.tuning).toEqual(plain.tuning);
    });

    it('When the split has no single cutoff, Then tuning is skipped and says why', async () => {
      const report = await runEvaluation({ events: weekly() }, [recipe], { ...request, split: { kind: 'leave-last-order' } });
      expect(report.tuning).toEqual({ tiny: { skipped: expect.stringMatching(/leave-last-order/) } });
    });

    it('When no tuning is asked and the recipe has no tune section, Then the report has no tuning', async () => {
      const { tune: _no, ...untuned } = request;
      expect((await runEvaluation({ events: weekly() }, [recipe], untuned)).tuning).toBeUndefined();
    });
  });
});
