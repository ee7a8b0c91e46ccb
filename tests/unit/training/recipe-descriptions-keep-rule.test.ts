import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../../src/training/recipe.js';

/**
 * A shipped recipe's description is published with every model trained from it (GET /v1/models, info.recipe,
 * after tuning's note): what it says of the keep rule must be the rule its tuning applies. Since e02a29f9 the
 * default (a tune section naming no keepRule) is `per-mode-majority`, which keeps a half of the blend that loses a
 * window but wins the windows' mean and most of them, so "kept only if it beats ... on every window" is false there.
 */
describe('shipped recipes describe the keep rule they are tuned by', () => {
  const files = readdirSync('models').filter((f) => f.endsWith('.json'));

  it('no recipe tuned by per-mode-majority (the default) says the blend must win every window', () => {
    const byMajority = files
      .map((f) => parseRecipe(JSON.parse(readFileSync(`models/${f}`, 'utf8')), f.replace(/\.json$/, '')))
      .filter((r) => r.tune !== undefined && (r.tune.keepRule ?? 'per-mode-majority') === 'per-mode-majority');
    // Precondition: the shipped default and robust recipes are among them.
    expect(byMajority.map((r) => r.name)).toEqual(expect.arrayContaining(['default', 'robust']));
    for (const r of byMajority) expect(r.description ?? '', r.name).not.toMatch(/kept only if it beats the best single source on every window/);
  });
});
