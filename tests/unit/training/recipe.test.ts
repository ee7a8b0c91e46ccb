import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { hybridConfigSchema } from '../../../src/recommenders/hybrid.js';
import { recipeToRaw } from '../../../src/training/tune-for-training.js';
import { fitRecipe, listRecipes, loadRecipe, parseRecipe } from '../../../src/training/recipe.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';

const MODELS = fileURLToPath(new URL('../../../models', import.meta.url));

const small = () => ({
  sources: {
    popularity: { params: { minSegmentBuyers: 5 } },
    'item-knn': { params: { shrink: 1 } },
    'knn-binary': { recommender: 'item-knn', params: { weighting: 'binary' } },
  },
  hybrid: { weights: { cold: { popularity: 1 }, warm: { 'item-knn': 1, 'knn-binary': 0.5 } }, fullHistoryOrders: 5 },
});

/** The AppError a call throws, for asserting on code, message and details. */
function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('recipes', () => {
  it('loads the default recipe with every recommender family and its defaults filled in', async () => {
    const recipe = await loadRecipe('default', MODELS);
    expect(recipe.name).toBe('default');
    expect(Object.keys(recipe.sources).sort()).toEqual(['als', 'buy-again', 'content', 'cooccurrence', 'ease', 'item-knn', 'popularity', 'repurchase', 'trend']);
    // Tuned values change with each tuning run; the shape and the filled-in defaults do not.
    expect(Object.keys(recipe.sources['item-knn'].params as object).sort()).toEqual(['alpha', 'beta', 'historyHalfLifeDays', 'maxHistoryItems', 'neighbours', 'shrink', 'similarity', 'weighting']);
    expect(recipe.sources.trend).toMatchObject({ recommender: 'popularity', params: { attributes: [], minSegmentBuyers: 20 } });
    expect(Object.keys(recipe.hybrid.weights.warm)).toContain('buy-again');
    // The written weights were tuned on windows that end at the first benchmark cutoff: no test period reaches them.
    expect(recipe.validation).toMatchObject({ kind: 'rolling-origin', days: 30 });
    const folds = (recipe.validation as { folds: { end: string }[] }).folds;
    expect(folds.map((f) => f.end).sort().at(-1)).toBe('2011-09-01T00:00:00.000Z');
    expect(recipe.hybrid.repeatWeights?.warm).toHaveProperty('buy-again');
    // The learned repurchase model ranks own items only, so it has no weight on new ones.
    expect(recipe.sources.repurchase).toMatchObject({ recommender: 'repurchase', params: { labelDays: 30, maxPairs: 200_000 } });
    expect(recipe.hybrid.repeatWeights?.warm).toHaveProperty('repurchase');
    expect(recipe.hybrid.weights.warm).not.toHaveProperty('repurchase');
    expect(recipe.candidates.perUser).toBe(200);
    expect(await listRecipes(MODELS)).toContain('default');
  });

  it('loads models/robust.json: EASE among the sources and a tune section with its defaults filled in', async () => {
    const recipe = await loadRecipe('robust', MODELS);
    expect(recipe.sources.ease).toMatchObject({ recommender: 'ease', params: { lambda: 400, maxItems: 5000 } });
    expect(recipe.tune).toEqual({ folds: 3, days: 30, minCoverage: 0.3, maxCoverageCost: 0.1, variants: true, maxCustomers: 5_000 });
  });

  it('names a bad tune setting by its path', () => {
    const err = errorOf(() => parseRecipe({ ...small(), tune: { folds: 0 } }, 'bad'));
    expect(err.message).toMatch(/^recipe "bad": tune\.folds: /);
  });

  it('takes tuning\'s rules (keepRule, coverageFloor, foldWeights) in the tune section, leaves them absent when unset, and names a bad one', () => {
    const rules = { keepRule: 'sum', coverageFloor: 'best-single', foldWeights: 'recency' };
    expect(parseRecipe({ ...small(), tune: rules }, 'r').tune).toMatchObject(rules);
    const plain = parseRecipe({ ...small(), tune: {} }, 'r').tune;
    for (const key of Object.keys(rules)) expect(plain).not.toHaveProperty(key);
    for (const [key, bad] of [['keepRule', 'majority'], ['coverageFloor', 'none'], ['foldWeights', 'latest'], ['keepRule', 1]] as const) {
      const err = errorOf(() => parseRecipe({ ...small(), tune: { [key]: bad } }, 'bad'));
      expect(err.code).toBe('INVALID_RECIPE');
      expect(err.details).toEqual([{ path: `tune.${key}`, message: expect.any(String) }]);
    }
  });

  it('takes a tune.maxPurchases of 100 or more whole purchases, leaves it absent when unset, and names a bad one', () => {
    expect(parseRecipe({ ...small(), tune: { maxPurchases: 100 } }, 'r').tune?.maxPurchases).toBe(100);
    expect(parseRecipe({ ...small(), tune: {} }, 'r').tune).not.toHaveProperty('maxPurchases');
    for (const bad of [0, 99, -5, 1500.5, '500000', null]) {
      const err = errorOf(() => parseRecipe({ ...small(), tune: { maxPurchases: bad } }, 'bad'));
      expect(err.code).toBe('INVALID_RECIPE');
      expect(err.details).toEqual([{ path: 'tune.maxPurchases', message: expect.any(String) }]);
      expect(err.message).toMatch(/^recipe "bad": tune\.maxPurchases: /);
    }
  });

  it('fills the documented event weights when a recipe has none, keeps purchase as the unit, and names a bad weight', () => {
    expect(parseRecipe(small(), 'r').eventWeights).toEqual({ purchase: 1, add_to_cart: 0.3, view: 0.1, rating: 0.5 });
    expect(parseRecipe({ ...small(), eventWeights: { view: 0 } }, 'r').eventWeights).toEqual({ purchase: 1, add_to_cart: 0.3, view: 0, rating: 0.5 });
    expect(errorOf(() => parseRecipe({ ...small(), eventWeights: { view: -1 } }, 'r')).details).toEqual([{ path: 'eventWeights.view', message: expect.any(String) }]);
    expect(errorOf(() => parseRecipe({ ...small(), eventWeights: { purchase: 2 } }, 'r')).details).toEqual([{ path: 'eventWeights.purchase', message: expect.any(String) }]);
    expect(errorOf(() => parseRecipe({ ...small(), eventWeights: { click: 1 } }, 'r')).message).toMatch(/eventWeights.click/);
  });

  it('keeps a serving section as written (what serving stores), and names a bad field of it', () => {
    const recipe = parseRecipe({ ...small(), serving: { strategyLists: 'stored', strategyCandidates: 50 } }, 'r');
    expect(recipe.serving).toEqual({ strategyLists: 'stored', strategyCandidates: 50 });
    // Absent fields stay absent: PRECOMPUTE_DAYS applies unless a recipe sets precomputeDays.
    expect(parseRecipe(recipeToRaw(recipe), 'r').serving).toEqual({ strategyLists: 'stored', strategyCandidates: 50 });
    expect(parseRecipe(small(), 'r').serving).toBeUndefined();
    expect(errorOf(() => parseRecipe({ ...small(), serving: { strategyLists: 'sometimes' } }, 'r')).details).toEqual([{ path: 'serving.strategyLists', message: expect.any(String) }]);
    expect(errorOf(() => parseRecipe({ ...small(), serving: { strategyList: 'stored' } }, 'r')).details).toEqual([{ path: 'serving.strategyList', message: expect.any(String) }]);
  });

  it('names the offending hyperparameter by its path in the recipe', () => {
    const raw = small();
    (raw.sources['item-knn'].params as Record<string, unknown>).shrink = -1;
    const err = errorOf(() => parseRecipe(raw, 'bad'));
    expect(err.code).toBe('INVALID_RECIPE');
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/^recipe "bad": sources\.item-knn\.params\.shrink: /);
    expect(err.details).toEqual([{ path: 'sources.item-knn.params.shrink', message: expect.any(String) }]);
  });

  it.each([
    ['an unknown hyperparameter', (r: any) => (r.sources.popularity.params.halfLife = 3), 'sources.popularity.params.halfLife'],
    ['an unknown family', (r: any) => (r.sources.x = { recommender: 'magic' }), 'sources.x.recommender'],
    ['a weight for a missing source', (r: any) => (r.hybrid.weights.warm.als = 1), 'hybrid.weights.warm.als'],
    ['a negative weight', (r: any) => (r.hybrid.weights.cold.popularity = -1), 'hybrid.weights.cold.popularity'],
    ['a repeat weight for a missing source', (r: any) => (r.hybrid.repeatWeights = { cold: {}, warm: { als: 1 } }), 'hybrid.repeatWeights.warm.als'],
    ['a misspelt section', (r: any) => (r.candidate = { perUser: 5 }), 'candidate'],
    ['a nested hyperparameter of another family', (r: any) => (r.sources.content = { params: { weights: { text: -1 } } }), 'sources.content.params.weights.text'],
    ['a bad normalisation', (r: any) => (r.hybrid.normalisation = 'z'), 'hybrid.normalisation'],
    ['a blend level whose weights are all 0', (r: any) => (r.hybrid.weights.warm = { 'item-knn': 0, 'knn-binary': 0 }), 'hybrid.weights.warm'],
    ['a blend level without weights', (r: any) => (r.hybrid.weights.cold = {}), 'hybrid.weights.cold'],
    ['a capped source the recipe does not have', (r: any) => (r.hybrid.sourceCap = { sources: ['popularity', 'populartiy'], share: 0.5 }), 'hybrid.sourceCap.sources.1'],
  ])('rejects %s, naming %s', (_what, mutate, path) => {
    const raw = small();
    mutate(raw);
    expect(errorOf(() => parseRecipe(raw, 'r')).details).toEqual([{ path, message: expect.any(String) }]);
  });

  // Such a recipe used to train, publish and be activated: every customer then got popularity backfill
  // served as strategy "hybrid", fallback false. POST /v1/training-jobs loads the recipe before queuing.
  it('When every blend weight of a recipe is 0, Then it is refused with INVALID_RECIPE naming the level', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recipes-'));
    const zero = JSON.parse(await readFile(join(MODELS, 'default.json'), 'utf8'));
    for (const set of ['weights', 'repeatWeights']) for (const level of ['cold', 'warm']) for (const k of Object.keys(zero.hybrid[set][level])) zero.hybrid[set][level][k] = 0;
    await writeFile(join(dir, 'zero.json'), JSON.stringify(zero));
    await expect(loadRecipe('zero', dir)).rejects.toMatchObject({ code: 'INVALID_RECIPE', status: 422, details: [{ path: 'hybrid.weights.cold', message: expect.any(String) }] });
  });

  it('refuses recipe names that are paths, and reports a missing recipe as not found', async () => {
    await expect(loadRecipe('../package', MODELS)).rejects.toMatchObject({ code: 'INVALID_RECIPE' });
    await expect(loadRecipe('a/b', MODELS)).rejects.toMatchObject({ code: 'INVALID_RECIPE' });
    await expect(loadRecipe('no-such-recipe', MODELS)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reports a file that is not JSON as an invalid recipe', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recipes-'));
    await writeFile(join(dir, 'broken.json'), '{ "sources": ');
    await expect(loadRecipe('broken', dir)).rejects.toMatchObject({ code: 'INVALID_RECIPE', message: /not valid JSON/ });
  });

  it('fits every source and the hybrid, reporting each step', async () => {
    const { ds } = twoGroups();
    const steps: string[] = [];
    const fitted = await fitRecipe(ds, parseRecipe(small(), 'small'), ({ step, done, total, ms }) =>
      steps.push(`${step} ${done}/${total}${ms === null ? ' start' : ''}`),
    );
    expect([...fitted.sources.keys()]).toEqual(['popularity', 'item-knn', 'knn-binary']);
    expect(fitted.sources.get('knn-binary')!.name).toBe('item-knn');
    expect(Object.keys(fitted.durations)).toEqual(['popularity', 'item-knn', 'knn-binary', 'hybrid']);
    expect(steps).toEqual([
      'popularity 0/4 start',
      'popularity 1/4',
      'item-knn 1/4 start',
      'item-knn 2/4',
      'knn-binary 2/4 start',
      'knn-binary 3/4',
      'hybrid 3/4 start',
      'hybrid 4/4',
    ]);
    expect(fitted.hybrid.weightsFor(0)).toEqual({ popularity: 1 });
  });

  it('writes a recipe (as npm run tune does) that a process on the code before the discount share still loads, unless the share is its own', async () => {
    const raw = recipeToRaw(await loadRecipe('default', MODELS));
    const before = hybridConfigSchema.omit({ discountShare: true });
    expect(before.safeParse(raw.hybrid).success).toBe(true);
    const own = recipeToRaw(parseRecipe({ ...small(), hybrid: { ...small().hybrid, discountShare: 0.01 } }, 'small'));
    expect((own.hybrid as { discountShare?: number }).discountShare).toBe(0.01);
    expect(parseRecipe(own, 'small').hybrid.discountShare).toBe(0.01);
  });

  it('gives the hybrid the customers it was trained on, which its artifact keeps for the discount\'s unit', async () => {
    // Twelve buyers in each of the two groups; the served model must count its discount in the same unit as tuning did.
    const { ds } = twoGroups();
    const fitted = await fitRecipe(ds, parseRecipe({ ...small(), hybrid: { ...small().hybrid, popularityDiscount: 0.5 } }, 'small'));
    expect(decodeArtifact(fitted.hybrid.toArtifact(), { algorithm: 'hybrid', version: 1 }).header.meta).toEqual({ customers: 24, discountShare: 0.001 });
  });
});
