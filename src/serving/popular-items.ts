/**
 * GET /v1/popular: the model's popularity lists (global or per attribute value); with a time window, or
 * with no model yet, Postgres counts the buyers instead.
 */
import { itemFilter, Picker } from './picker.js';
import { toRecommendation, type ListQuery, type Recommendation } from './recommendation.js';
import type { ServingDeps } from './serving-deps.js';
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
    return deps.dbPopular.recommend(q, { modelVersion: model?.meta.version ?? null, fallback: !model });
  }
  const segment = q.attribute ? (model.segmentIndex.get(segmentKey(q.attribute.name, q.attribute.value)) ?? -1) : -1;
  const picker = new Picker(model, itemFilter(model, q), q.k);
  // The segment's list first (when it has one), then everyone's; each item's score relative to the list's head.
  picker.backfillPopular(segment);
  // An attribute value without a list of its own (too few buyers, unknown) is answered globally.
  return toRecommendation(model, 'popularity', q.attribute !== undefined && segment < 0, picker.picks);
}
