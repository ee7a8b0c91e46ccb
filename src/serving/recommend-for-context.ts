/**
 * POST /v1/recommendations: an anonymous or new visitor described by a context (cart or session item
 * ids, oldest first) and optional attributes. Neighbours of the context items (item-kNN, co-occurrence,
 * content) rank the list; the attribute segment's popularity, then global popularity, fill it.
 */
import { diversify } from './diversify.js';
import { RELATED_TO, scoreByNeighbours } from './neighbour-scores.js';
import { itemFilter, Picker } from './picker.js';
import { toRecommendation, type ListQuery, type Recommendation } from './recommendation.js';
import { poolSize, preferredAttribute, type ServingDeps } from './serving-deps.js';
import { findSegment } from './serving-tables.js';

export interface ContextQuery extends ListQuery {
  /** Item ids of the cart or session, oldest first; unknown ids are ignored. */
  items: readonly string[];
  attributes?: Record<string, unknown>;
}

/** The most recent context items used; older ones add little and cost time. */
const MAX_ANCHORS = 20;
const CONTEXT_SOURCES = { 'item-knn': 1, cooccurrence: 0.7, content: 0.5 };

export async function recommendForContext(deps: ServingDeps, q: ContextQuery): Promise<Recommendation> {
  const model = await deps.model();
  const attributes = q.attributes ?? {};
  // Context items are never recommended back.
  const exclude = [...(q.exclude ?? []), ...q.items];
  if (!model) return deps.dbPopular.recommend({ ...q, exclude, attribute: preferredAttribute(attributes) }, { fallback: true });

  const known = q.items.map((id) => model.items.index.get(id)).filter((i): i is number => i !== undefined);
  const recent = known.slice(-MAX_ANCHORS);
  // The last item is the freshest intent: weights 1, 1/2, 1/3, ... going back.
  const anchors = recent.map((item, k) => ({ item, weight: 1 / (recent.length - k) }));
  const picker = new Picker(model, itemFilter(model, { ...q, exclude }), poolSize(q));
  for (const p of scoreByNeighbours(model, anchors, CONTEXT_SOURCES, RELATED_TO)) {
    if (picker.offer(p.item, p.score, p.sources, p.explanation) && picker.full) break;
  }
  const fromContext = picker.picks.length > 0;
  picker.backfillPopular(findSegment(model.popular.segments, attributes));
  const picks = diversify(model, picker.picks, q.k, q.diversity ?? 0);
  return toRecommendation(model, fromContext ? 'context' : 'popularity', !fromContext, picks);
}
