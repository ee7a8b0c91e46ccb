import type { Dataset, PurchaseRow } from '../../../src/recommenders/dataset.js';
import type { FittedModels, ServingModelBuild } from '../../../src/serving/serving-model-builder.js';
import { loadServingModel, type ServingModel } from '../../../src/serving/serving-model.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { writeModelVersion } from '../../../src/training/write-model-version.js';

/** A customer's purchases in `ds`, as Postgres would return them to serving (`ServingDeps.purchases`). */
export function purchaseRowsOf(ds: Dataset, userId: string): PurchaseRow[] {
  const u = ds.userIndex.get(userId);
  const rows: PurchaseRow[] = [];
  for (let e = 0; e < ds.eventUser.length; e++) {
    if (ds.eventUser[e] !== u) continue;
    rows.push({ userId, itemId: ds.itemIds[ds.eventItem[e]], orderId: `o${ds.eventOrder[e]}`, ts: ds.eventTs[e], quantity: ds.eventQuantity[e], price: null });
  }
  return rows;
}

/**
 * A version written to `store` and published, with (or without) the fitted recommenders training keeps
 * beside it (serving scores on request with them), as a serving process would load it.
 */
export async function publishVersion(store: ModelStore, version: string, build: ServingModelBuild, fitted: FittedModels | null): Promise<ServingModel> {
  await writeModelVersion(store, version, build);
  if (fitted) {
    for (const [name, r] of fitted.sources) await store.putArtifact(version, `recommender:${name}`, r.toArtifact());
    await store.putArtifact(version, 'recommender:hybrid', fitted.hybrid.toArtifact());
  }
  const meta = { version, recipe: 'fixture', trainedAt: new Date().toISOString(), info: { serving: build.info } };
  await store.publish(meta);
  return (await loadServingModel(store, meta))!;
}
