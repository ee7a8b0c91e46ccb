import type { Dataset } from '../../src/recommenders/dataset.js';
import { datasetHistories, userContext } from '../../src/recommenders/history.js';
import type { ServingDeps } from '../../src/serving/serving-deps.js';
import { createUserScorer, prepareServingModel } from '../../src/serving/serving-model-builder.js';
import { loadServingModel } from '../../src/serving/serving-model.js';
import { encodeUserEntry, USERS_TABLE } from '../../src/serving/user-entry.js';
import { createMemoryModelStore } from '../../src/store/memory-model-store.js';
import type { ModelStore } from '../../src/store/model-store.js';
import type { fitRecipe, Recipe } from '../../src/training/recipe.js';
import { writeModelVersion } from '../../src/training/write-model-version.js';

/**
 * Serving as a training would leave it, in memory: the recipe's serving model of `ds` with the entries of
 * the customers at `users` (dataset indices) built as training builds them, published in an in-process
 * store, and the dependencies `recommendForUser` takes (no Postgres: catalog reads find nothing).
 */
export async function benchServing(ds: Dataset, fitted: Awaited<ReturnType<typeof fitRecipe>>, recipe: Recipe, users: Iterable<number>): Promise<{ deps: ServingDeps; store: ModelStore; histories: ReturnType<typeof datasetHistories> }> {
  const prepared = prepareServingModel({ ds, fitted, recipe });
  const score = createUserScorer({ ...prepared, fitted, itemCount: ds.itemIds.length });
  const histories = datasetHistories(ds);
  const rows: [string, Uint8Array][] = [];
  for (const u of users) {
    const scored = score(userContext(ds, histories, u), ds.userAttributes[u] ?? {});
    if (scored) rows.push([ds.userIds[u], encodeUserEntry(scored.entry)]);
  }
  const store = await createMemoryModelStore();
  await writeModelVersion(store, 'bench', { artifacts: prepared.artifacts, tables: new Map([[USERS_TABLE, rows]]) });
  const meta = { version: 'bench', recipe: recipe.name, trainedAt: new Date().toISOString(), info: { serving: prepared.info } };
  await store.publish(meta);
  const model = (await loadServingModel(store, meta))!;
  const deps: ServingDeps = {
    model: async () => model,
    store,
    catalog: { getUser: async () => null, getItem: async () => null, getItems: async () => [] },
    // Asked only when no model is active.
    dbPopular: undefined as unknown as ServingDeps['dbPopular'],
  };
  return { deps, store, histories };
}
