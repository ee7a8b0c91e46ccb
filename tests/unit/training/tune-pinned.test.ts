import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import { END, tasteGroupPurchases, withLongTail } from '../../helpers/taste-groups-shop.js';

/**
 * Tuning's published recipe is a contract for data teams: a keep rule added beside the others must not change what
 * the default (`per-mode-majority`, judged in fold) or any earlier rule decides. tests/fixtures/in-fold-pinned.json
 * holds what tuneRecipeOn returned (less its timings) before the keep rules per-mode-trimmed and per-mode-outlier
 * (6c06a615, tests/fixtures/SOURCE.txt): the taste-groups shop alone, with 40 and with 100 long-tail customers, where
 * the rules split and the own half as served is judged again beside a single source's new items.
 */
const pinned = JSON.parse(readFileSync(new URL('../../fixtures/in-fold-pinned.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const raw = {
  sources: { 'buy-again': {}, ease: { params: { lambda: 10 } }, 'item-knn': { params: { neighbours: 5 } } },
  hybrid: { weights: { cold: { ease: 1 }, warm: { ease: 1 } } },
};
const shops = { plain: () => tasteGroupPurchases(), tail40: () => withLongTail(tasteGroupPurchases(), 40), tail100: () => withLongTail(tasteGroupPurchases(), 100) };
// Rules recorded beside the others after the pin.
const added = (key: string, value: unknown) => (key === 'per-mode-trimmed' || key === 'per-mode-outlier' ? undefined : value);

describe('tuneRecipeOn pinned (the default keep rule and the earlier ones decide as before the fifty-first session)', () => {
  it.each(Object.keys(pinned))('When the %s shop is tuned, Then recipe and record are byte for byte the pinned ones', async (name) => {
    const [shop, tune] = [name.slice(0, name.indexOf(' ')), JSON.parse(name.slice(name.indexOf(' ') + 1)) as Record<string, unknown>];
    const recipe = parseRecipe({ ...raw, tune: { folds: 3, days: 30, ...tune } }, 'tail');
    const { timings: _timings, ...rest } = (await tuneRecipeOn({ events: shops[shop as keyof typeof shops]() }, recipe, new Date(END).toISOString())) as unknown as Record<string, unknown>;
    expect(JSON.stringify(rest, added)).toBe(JSON.stringify(pinned[name]));
  }, 120_000);
});
