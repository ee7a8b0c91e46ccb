import { describe, expect, it } from 'vitest';
import { keepDecision, type KeepInput } from '../../../src/evaluation/keep-rule.js';
import { keptOutOfFold } from '../../../src/evaluation/out-of-fold.js';
import { tuneRollingOrigin } from '../../../src/evaluation/rolling-tune.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { END, tasteGroupPurchases, withLongTail } from '../../helpers/taste-groups-shop.js';

/**
 * The tie at the maximum (keep-rule.ts beatsEveryFold) where the novel objective is NDCG less a coverage shortfall:
 * a candidate's novel objective then tops out at 1 less its own shortfall, so two perfect lists are not equal when
 * the shortfalls differ. The shortfall is pooled over the folds, charged on every fold alike: on a fold where both
 * rank perfectly it says nothing the other folds do not, and the tie still counts neither way.
 */
describe('keep rule: a tie at NDCG 1 under a coverage shortfall', () => {
  // Raw novel NDCG blend [0.75, 0.83, 1], ALS [0.72, 0.79, 1]; each less 0.1 of its own mean (maxCoverageCost's bound).
  const input: KeepInput = {
    blend: { novel: [0.6619, 0.742, 0.9141], all: [0.4766, 0.3355, 0.8303], novelShortfall: 0.0859 },
    sources: { als: { novel: [0.639, 0.7057, 0.9163], all: [0.4956, 0.5137, 0.5137], novelShortfall: 0.0837 } },
    novelCandidates: ['als'],
    ownCandidates: ['als'],
    blendActsOnCap: true,
  };

  it('is no loss: the blend that wins the other folds keeps its new-item weights (observed before: ALS served them)', () => {
    expect(keepDecision('per-mode', input).novel).toBe('blend');
    expect(keepDecision('per-mode-single', input).novel).toBe('blend');
  });

  it('a fold below either maximum is still judged on the objectives', () => {
    const notPerfect = { ...input, sources: { als: { ...input.sources.als, novel: [0.639, 0.7057, 0.9163], novelShortfall: 0.05 } } };
    expect(keepDecision('per-mode', notPerfect).novel).toBe('als');
  });

  it('holds out of fold (keptOutOfFold: the blend\'s out-of-fold objectives with their shortfall)', () => {
    expect(keptOutOfFold({ ...input, blend: { novel: [0.1, 0.2, 0.3], all: [0, 0, 0] } }, input.blend)['per-mode'].novel).toBe('blend');
  });

  it('holds for the sum rule (at most 2 less the shortfall)', () => {
    const allWon = { ...input, blend: { ...input.blend, all: [0.6, 0.6, 1] }, sources: { als: { ...input.sources.als, all: [0.5, 0.5, 1] } } };
    expect(keepDecision('sum', allWon)).toEqual({ novel: 'blend', all: 'blend' });
  });
});

describe('rolling-origin tuning with the default coverage requirement on a long-tail shop', () => {
  // The taste-groups shop with 40 long-tail customers (530 products), minCoverage 0.3 and maxCoverageCost 0.1 (the
  // recipe defaults): every candidate falls short of the coverage and pays the bounded price, 0.1 of its own mean
  // novel NDCG, so the more accurate blend pays more. Both it and ALS rank the last fold's new items perfectly.
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, ease: { params: { lambda: 10 } }, als: { params: { factors: 8 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, ease: 1 } }, sourceCap: { sources: ['popularity'], share: 0.3 } },
  };
  const options = { folds: 3, days: 30, end: new Date(END).toISOString(), grid: [0, 0.5, 1, 2], discountGrid: [0, 0.3], rounds: 2, variants: {}, minCoverage: 0.3, maxCoverageCost: 0.1 };

  it('counts the tie at NDCG 1 neither way (observed before: ALS served new items, the shortfalls\' gap a loss)', async () => {
    const { validation: v } = await tuneRollingOrigin({ events: withLongTail(tasteGroupPurchases(), 40) }, parseRecipe(raw, 'tail'), raw, options);
    const { blend, sources } = v.modes!;
    // Preconditions: a shortfall on both, the blend's the larger; the last fold perfect for both (objective + shortfall =
    // NDCG 1), where the blend's objective is the lower; the other folds won by the blend.
    expect(blend.novelShortfall).toBeGreaterThan(sources.als.novelShortfall!);
    expect(blend.novel[2] + blend.novelShortfall!).toBeCloseTo(1, 9);
    expect(sources.als.novel[2] + sources.als.novelShortfall!).toBeCloseTo(1, 9);
    expect(blend.novel[2]).toBeLessThan(sources.als.novel[2]);
    [0, 1].forEach((f) => expect(blend.novel[f]).toBeGreaterThan(sources.als.novel[f]));
    expect(v.keptBy!['per-mode'].novel).toBe('blend');
    expect(v.served!.novel).toBe('blend');
  }, 60_000);

  it('out of fold, the left-out blends\' objectives carry their shortfall to the keep rule too', async () => {
    const { validation: v } = await tuneRollingOrigin({ events: withLongTail(tasteGroupPurchases(), 40) }, parseRecipe(raw, 'tail'), raw, { ...options, blendJudgedOn: 'out-of-fold' });
    expect(v.outOfFold!.blend.novelShortfall).toBeGreaterThan(0);
  }, 60_000);
});
