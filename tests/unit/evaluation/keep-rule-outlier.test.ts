import { describe, expect, it } from 'vitest';
import { beatsByMajority, beatsByTrimmedMajority, beatsEveryFold, beatsFor, beatsWithoutOutlier, KEEP_RULES, keepDecision, keepOwnHalfAsServed, type KeepInput, type KeepRule } from '../../../src/evaluation/keep-rule.js';
import { tuneRollingOrigin } from '../../../src/evaluation/rolling-tune.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { END, tasteGroupPurchases, withLongTail } from '../../helpers/taste-groups-shop.js';

/**
 * The two candidates of issue 11's fifty-first session (bench/README "A keep rule one outlier window cannot sway"):
 * `per-mode-trimmed` (the majority rule's mean with the largest fold difference clipped to the second largest) and
 * `per-mode-outlier` (the majority rule with a fold the blend wins by more than double the comparison's score, and
 * by more than three times any other fold's relative margin, counted neither way). Hand-made judged objectives on
 * three folds, oldest first, taken from fashion SEED 73's windows (bench/README "A keep rule by majority of folds").
 */

const shop = (blendNovel: number[], easeNovel: number[]): KeepInput => ({
  blend: { novel: blendNovel, all: [0.3, 0.3, 0.3] },
  sources: {
    ease: { novel: easeNovel, all: [0.2, 0.2, 0.2] },
    als: { novel: easeNovel.map((x) => x - 0.01), all: [0.2, 0.2, 0.2] },
    'buy-again': { novel: [0, 0, 0], all: [0.1, 0.1, 0.1] },
  },
  novelCandidates: ['ease', 'als'],
  ownCandidates: ['buy-again'],
  blendActsOnCap: true,
});

// SEED 73, 2026-08-02: the blend 0.41 on the second window against EASE's 0.04 (relative margin +8.3); on the other two
// it loses by 0.027 and wins by 0.048 (relative -0.17, +0.24). Mean +0.129, 2 of 3 won.
const outlierWindow = shop([0.1305, 0.41, 0.247], [0.1573, 0.0441, 0.199]);
// SEED 73, 2026-10-01: differences +0.127, +0.013, -0.037 (relative +0.65, +0.05, -0.56): no window is an outlier,
// but the largest difference clipped to the second largest leaves a mean of (0.013 + 0.013 - 0.037) / 3 < 0.
const evenWindows = shop([0.3207, 0.2591, 0.0294], [0.1939, 0.2459, 0.0666]);

describe('keep rules per-mode-trimmed and per-mode-outlier', () => {
  it('are keep rules a recipe may name (and so a request\'s tune)', () => {
    const small = { sources: { popularity: {} }, hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1 } } } };
    for (const rule of ['per-mode-trimmed', 'per-mode-outlier'] as const) {
      expect(KEEP_RULES).toContain(rule);
      expect(parseRecipe({ ...small, tune: { keepRule: rule } }, 'r').tune?.keepRule).toBe(rule);
    }
    expect(() => parseRecipe({ ...small, tune: { keepRule: 'per-mode-trim' } }, 'r')).toThrow(/tune\.keepRule/);
  });

  it('per-mode-outlier: one window far ahead no longer carries the majority, EASE serves new items (per-mode-majority keeps the blend)', () => {
    expect(keepDecision('per-mode-majority', outlierWindow)).toEqual({ novel: 'blend', all: 'blend' });
    expect(keepDecision('per-mode-outlier', outlierWindow)).toEqual({ novel: 'ease', all: 'blend' });
    // The two ordinary windows alone are one lost and one won: no strict majority.
    expect(beatsByMajority([0.1305, 0.247], [0.1573, 0.199])).toBe(false);
  });

  it('per-mode-outlier keeps what the majority keeps where no window is an outlier', () => {
    expect(keepDecision('per-mode-majority', evenWindows).novel).toBe('blend');
    expect(keepDecision('per-mode-outlier', evenWindows).novel).toBe('blend');
  });

  it('per-mode-outlier takes no outlier where the blend is far ahead on every fold (own items against buy-again: 3x on each)', () => {
    expect(beatsWithoutOutlier([0.3, 0.31, 0.29], [0.1, 0.1, 0.1])).toBe(true);
    // A window more than doubled but not three times the others' relative margin (+1.2 against +0.5): no outlier.
    expect(beatsWithoutOutlier([0.22, 0.15, 0.09], [0.1, 0.1, 0.1])).toBe(true);
    // More than three times the others' but not doubled (+0.9 against +0.2 and -0.1): no outlier, majority keeps.
    expect(beatsWithoutOutlier([0.19, 0.12, 0.09], [0.1, 0.1, 0.1])).toBe(true);
    // Both conditions: +3.0 against +0.2 and -0.1: left out, one won and one lost remain.
    expect(beatsWithoutOutlier([0.4, 0.12, 0.09], [0.1, 0.1, 0.1])).toBe(false);
  });

  it('per-mode-outlier never sets aside the only fold of evidence, and a comparison at 0 is no division by zero', () => {
    expect(beatsWithoutOutlier([1, 1, 0.5], [1, 1, 0.1])).toBe(true);
    expect(beatsWithoutOutlier([0.3, 0.11, 0.12], [0, 0.1, 0.1])).toBe(true);
    expect(beatsWithoutOutlier([0.3, 0.1, 0.09], [0, 0.1, 0.1])).toBe(false);
  });

  it('per-mode-trimmed: a mean carried by the largest window alone is clipped; the blend loses the new-item half (per-mode-majority keeps it)', () => {
    expect(keepDecision('per-mode-majority', evenWindows).novel).toBe('blend');
    expect(keepDecision('per-mode-trimmed', evenWindows)).toEqual({ novel: 'ease', all: 'blend' });
  });

  it('per-mode-trimmed keeps the outlier window\'s blend: clipped to the second largest (+0.048), the mean is still won', () => {
    expect(keepDecision('per-mode-trimmed', outlierWindow).novel).toBe('blend');
    expect(beatsByTrimmedMajority([0.11, 0.12], [0.1, 0.1])).toBe(true);
    expect(beatsByTrimmedMajority([0.5], [0.1])).toBe(true);
  });

  it('judge the own half as served by their own test: 0.77 / 0.75 / 0.77 against 0.76 is kept by both; 0.9 / 0.75 / 0.77 by neither', () => {
    const input = { sources: { repurchase: { novel: [0, 0, 0], all: [0.76, 0.76, 0.76] } }, ownCandidates: ['repurchase'] };
    const split = { novel: 'item-knn', all: 'blend' };
    for (const rule of ['per-mode-trimmed', 'per-mode-outlier'] as const) {
      expect(keepOwnHalfAsServed(split, [0.77, 0.75, 0.77], input, rule)).toEqual(split);
      // Differences +0.01 / -0.01 / -0.03 ... lost by every rule; and with repurchase at 0.2 on one fold, an outlier.
      expect(keepOwnHalfAsServed(split, [0.77, 0.75, 0.73], input, rule)).toEqual({ novel: 'item-knn', all: 'repurchase' });
    }
    const outlier = { sources: { repurchase: { novel: [0, 0, 0], all: [0.2, 0.76, 0.76] } }, ownCandidates: ['repurchase'] };
    expect(keepOwnHalfAsServed(split, [0.77, 0.75, 0.77], outlier, 'per-mode-majority')).toEqual(split);
    expect(keepOwnHalfAsServed(split, [0.77, 0.75, 0.77], outlier, 'per-mode-outlier')).toEqual({ novel: 'item-knn', all: 'repurchase' });
  });

  it('sit between per-mode and per-mode-majority: keep what every fold keeps, and only what the majority keeps (2,000 drawn fold lists of 1 to 4 folds)', () => {
    let seed = 11;
    const draw = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return [1, 1, 0.9, 0.8, 0.5, 0.3, 0.05, 0][seed % 8];
    };
    for (let n = 0; n < 2000; n++) {
      const folds = 1 + (n % 4);
      const a = Array.from({ length: folds }, draw);
      const b = Array.from({ length: folds }, draw);
      for (const rule of ['per-mode-trimmed', 'per-mode-outlier'] as const) {
        const keeps = beatsFor(rule)(a, b);
        if (beatsEveryFold(a, b)) expect(keeps, `${rule}: ${a} against ${b}`).toBe(true);
        if (keeps) expect(beatsByMajority(a, b), `${rule}: ${a} against ${b}`).toBe(true);
      }
    }
  });
});

describe('tuneRollingOrigin with keepRule per-mode-trimmed or per-mode-outlier', () => {
  const options = { folds: 3, days: 30, end: new Date(END).toISOString(), grid: [0, 0.5, 1, 2], variants: {} };
  // The taste-groups shop with 40 long-tail customers (keep-rule-majority.test.ts's fixture): the rules split, EASE
  // serves new items and the blend's own-item weights are judged again beside EASE's new items, as served.
  const tailRaw = {
    sources: { 'buy-again': {}, ease: { params: { lambda: 10 } }, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { ease: 1 }, warm: { ease: 1 } } },
  };
  const tail = { ...options, discountGrid: [0, 0.5, 1, 2], rounds: 3, minCoverage: 0.9, maxCoverageCost: 1 };

  for (const rule of ['per-mode-trimmed', 'per-mode-outlier'] as KeepRule[]) {
    it(`a recipe's tune.keepRule ${rule} is the rule tuning serves by, its own half as served checked by its own test`, async () => {
      const lines: string[] = [];
      const recipe = parseRecipe({ ...tailRaw, tune: { keepRule: rule } }, 'tail');
      const { validation } = await tuneRollingOrigin({ events: withLongTail(tasteGroupPurchases(), 40) }, recipe, tailRaw, { ...tail, keepRule: recipe.tune?.keepRule, onProgress: (m) => lines.push(m) });
      expect(validation.keepRule).toBe(rule);
      // Precondition: the rule split, new items by EASE, own items by the blend's weights.
      expect(keepDecision(rule, { blend: validation.modes!.blend, sources: validation.modes!.sources, novelCandidates: ['ease', 'item-knn'], ownCandidates: ['buy-again'], blendActsOnCap: true })).toEqual({ novel: 'ease', all: 'blend' });
      const line = lines.find((m) => m.startsWith(`${rule}: own-item weights beside`));
      expect(line).toBeDefined();
      const [, perFold, by] = /all-mode per fold ([\d. ]+): own items by (\S+)$/.exec(line!) ?? [];
      const input = { sources: validation.modes!.sources, ownCandidates: ['buy-again'] };
      expect(by).toBe(keepOwnHalfAsServed({ novel: 'ease', all: 'blend' }, perFold.split(' ').map(Number), input, rule).all);
      expect(validation.keptBy![rule]).toEqual({ novel: 'ease', all: by });
      expect(validation.served).toEqual({ novel: 'ease', all: by });
    }, 120_000);
  }

  it('end to end, as a training tunes: the recipe\'s tune section alone names per-mode-outlier, and tuning records and serves it', async () => {
    const recipe = parseRecipe({ ...tailRaw, tune: { folds: 3, days: 30, keepRule: 'per-mode-outlier' } }, 'tail');
    const v = (await tuneRecipeOn({ events: withLongTail(tasteGroupPurchases(), 40) }, recipe, new Date(END).toISOString())).validation as RollingValidation;
    expect(v.keepRule).toBe('per-mode-outlier');
    expect(v.served).toEqual(v.keptBy!['per-mode-outlier']);
  }, 120_000);
});
