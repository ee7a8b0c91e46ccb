import { describe, expect, it } from 'vitest';
import { fitInWorker } from '../../../src/training/fit-in-worker.js';
import { fitRecipe, parseRecipe } from '../../../src/training/recipe.js';
import { recommenderFactory } from '../../../src/recommenders/registry.js';
import { datasetHistories, userContext } from '../../../src/recommenders/history.js';
import type { Dataset } from '../../../src/recommenders/dataset.js';
import type { Recommender } from '../../../src/recommenders/recommender.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';

/** Every user's scores of every item. */
function allScores(ds: Dataset, model: Recommender): number[][] {
  const histories = datasetHistories(ds);
  return ds.userIds.map((_, u) => {
    const out = new Float32Array(ds.itemIds.length);
    model.scoreUser(userContext(ds, histories, u), out);
    return [...out];
  });
}

const recipe = () =>
  parseRecipe(
    {
      sources: { popularity: { params: {} }, ease: { params: { lambda: 10 } }, 'item-knn': { params: { shrink: 1 } } },
      hybrid: { weights: { cold: { popularity: 1 }, warm: { ease: 1, 'item-knn': 0.5 } } },
    },
    'off-thread',
  );

describe('fitting a source on a thread of its own', () => {
  it('gives the model a fit in this thread gives: the same scores for every user and item', async () => {
    const { ds } = twoGroups();
    const factory = recommenderFactory('ease')!;
    const params = factory.parseParams({ lambda: 10 });
    const { model, ms } = await fitInWorker(ds, 'ease', params);
    expect(ms).toBeGreaterThanOrEqual(0);
    const here = allScores(ds, factory.fit(ds, params));
    expect(here.some((row) => row.some((v) => v > 0))).toBe(true);
    expect(allScores(ds, model)).toEqual(here);
  });

  it('rejects with the fit\u2019s own error, and for an unknown family', async () => {
    const { ds } = twoGroups();
    // Unparsed params reach the fit as they are: a lambda that is not a number leaves no positive pivot.
    await expect(fitInWorker(ds, 'ease', { lambda: 'not a number' })).rejects.toThrow(/not positive definite/);
    await expect(fitInWorker(ds, 'no-such-family', {})).rejects.toThrow(/unknown recommender "no-such-family"/);
  });

  it('ends the thread and rejects with the reason when aborted, before or while it fits', async () => {
    const { ds } = twoGroups();
    const params = recommenderFactory('ease')!.parseParams({ lambda: 10 });
    const stop = new AbortController();
    const fit = fitInWorker(ds, 'ease', params, stop.signal);
    stop.abort(new Error('stopped'));
    await expect(fit).rejects.toThrow('stopped');
    await expect(fitInWorker(ds, 'ease', params, stop.signal)).rejects.toThrow('stopped');
  });

  it('lets fitRecipe fit the others meanwhile: sources stay in recipe order and the hybrid blends the same', async () => {
    const { ds } = twoGroups();
    const r = recipe();
    const steps: string[] = [];
    const offThread = new Map([['ease', fitInWorker(ds, 'ease', r.sources.ease.params)]]);
    const fitted = await fitRecipe(ds, r, ({ step, ms }) => steps.push(`${step}${ms === null ? ' start' : ''}`), undefined, { offThread });
    expect([...fitted.sources.keys()]).toEqual(['popularity', 'ease', 'item-knn']);
    // The thread's fit is reported after the fits done here, when it is awaited.
    expect(steps).toEqual(['popularity start', 'popularity', 'item-knn start', 'item-knn', 'ease start', 'ease', 'hybrid start', 'hybrid']);
    const inThread = await fitRecipe(ds, r);
    expect(allScores(ds, fitted.hybrid)).toEqual(allScores(ds, inThread.hybrid));
  });
});
