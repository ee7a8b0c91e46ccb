/**
 * GET /v1/popular: the model's popularity lists (global or per attribute value); with a time window, or
 * with no model yet, Postgres counts the buyers instead.
 */
import { diversify, diversifyItems } from './diversify.js';
import { itemFilter, Picker } from './picker.js';
import { toRecommendation, type ListQuery, type Recommendation } from './recommendation.js';
import { poolSize, type ServingDeps } from './serving-deps.js';
import { segmentKey } from './serving-model.js';

export interface PopularQuery extends ListQuery {
  /** e.g. { name: 'country', value: 'France' }. */
  attribute?: { name: string; value: string };
  /** Only purchases in the last N days (before the latest purchase). */
  windowDays?: number;
}

export async function popularItems(deps: ServingDeps, q: PopularQuery): Promise<Recommendation> {
  const model = await deps.model();
  if (!model || q.windowDays !== undefined) {
    // An attribute value is held back below the model's own least number of buyers (its default without a model).
    const opts = { modelVersion: model?.meta.version ?? null, fallback: !model, minAttributeBuyers: model?.popular.minSegmentBuyers };
    // Diversity needs the model's neighbours: without a model the list is plain popularity.
    if (!model || !(q.diversity && q.diversity > 0)) return deps.dbPopular.recommend(q, opts);
    // A pool of what the kept lists give, down to k (else every request excluding some of them counts anew).
    const pool = await deps.dbPopular.recommend({ ...q, k: poolSize(q) }, { ...opts, minItems: q.k });
    return { ...pool, items: diversifyItems(model, pool.items, q.k, q.diversity) };
  }
  const segment = q.attribute ? (model.segmentIndex.get(segmentKey(q.attribute.name, q.attribute.value)) ?? -1) : -1;
  const picker = new Picker(model, itemFilter(model, q), poolSize(q));
  // The segment's list first (when it has one), then everyone's; each item's score relative to the list's head.
  picker.backfillPopular(segment);
  // An attribute value without a list of its own (too few buyers, unknown) is answered globally.
  return toRecommendation(model, 'popularity', q.attribute !== undefined && segment < 0, diversify(model, picker.picks, q.k, q.diversity ?? 0));
}
