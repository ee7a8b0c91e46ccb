import { describe, expect, it } from 'vitest';
import { tuneRollingOrigin } from '../../../src/evaluation/rolling-tune.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { END, tasteGroupPurchases } from '../../helpers/taste-groups-shop.js';

/**
 * Tuning's `compare` (the rule sets searched beside the default's, bench/choice-rule.ts) logs per rule set what the
 * keep rule keeps of that set's blend. It printed `per-mode`'s decision whatever the rule in use (since the
 * fiftieth session the default is `per-mode-majority`): the line names, and reports, the rule tuning serves by.
 */
describe('tuneRollingOrigin compare log', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } }, ease: { params: { lambda: 10 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, ease: 1 } } },
  };
  const options = { folds: 3, days: 30, end: new Date(END).toISOString(), grid: [0, 0.5, 1, 2], discountGrid: [0, 0.3], rounds: 1, variants: {} };

  for (const keepRule of [undefined, 'sum'] as const) {
    it(`reports the decision of the keep rule in use (${keepRule ?? 'the default'}) for each rule set compared`, async () => {
      const lines: string[] = [];
      const { validation } = await tuneRollingOrigin({ events: tasteGroupPurchases() }, parseRecipe(raw, 'fixture'), raw, { ...options, ...(keepRule ? { keepRule } : {}), compare: [{ coverageFloor: 'best-single', foldWeights: 'equal' }], onProgress: (m) => lines.push(m) });
      const rule = validation.keepRule!;
      expect(rule).toBe(keepRule ?? 'per-mode-majority');
      const kept = validation.compared![0].keptBy[rule];
      const line = lines.find((m) => m.startsWith('rules {"coverageFloor":"best-single"') && m.includes('blend novel judged'));
      expect(line).toMatch(new RegExp(`; ${rule} keeps new items: ${kept.novel}, own items: ${kept.all}$`));
    }, 120_000);
  }
});
