/**
 * Item-based lists: GET /v1/items/:id/similar and /bought-together. An item the model does not know
 * is a 404 unless the catalog has it (added after training): then its content neighbours and popular
 * items answer `similar` (see resolveItem), and `bought-together` is empty (nobody bought it yet).
 */
import { AppError, notFound } from '../errors.js';
import { diversify } from './diversify.js';
import { ITEM_SOURCES, RELATED_TO } from './neighbour-scores.js';
import { itemFilter, Picker } from './picker.js';
import { nameOf, popularityRun, toRecommendation, type BoughtTogetherItem, type ListQuery, type Recommendation } from './recommendation.js';
import { poolSize, type ServingDeps } from './serving-deps.js';
import { newItemDepth, newItemNeighbours } from './new-item-neighbours.js';
import { familyOf, familySource, type ServingModel } from './serving-model.js';

/** The recommender families `strategy` may name; the version's source of each answers (familySource). */
export const SIMILAR_STRATEGIES = ['item-knn', 'content', 'als', 'cooccurrence'] as const;
const isSimilarFamily = (name: string): boolean => (SIMILAR_STRATEGIES as readonly string[]).includes(name);

export interface SimilarQuery extends ListQuery {
  /**
   * Whose neighbours rank the list (default item-knn): a family of SIMILAR_STRATEGIES or one of the active
   * recipe's own sources of those families, by name (similarSource); the other families, then popularity, fill it.
   */
  strategy?: string;
}

/**
 * The version's source a similar-items `strategy` names, and its family: a family's name names the source that
 * serves it (familySource); any other name, the version's own source of that name when it is of one of those
 * families and has neighbour lists (a recipe may call its item-kNN source `knn`, or have two of one family: user
 * lists take those names as strategies too). Undefined when it names none.
 */
export function similarSource(model: ServingModel, strategy: string): { source: string; family: string } | undefined {
  if (isSimilarFamily(strategy)) {
    const source = familySource(model, strategy);
    return source === undefined ? undefined : { source, family: strategy };
  }
  const family = familyOf(model, strategy);
  return model.neighbours.has(strategy) && isSimilarFamily(family) ? { source: strategy, family } : undefined;
}

/** The 400 of a `strategy` the version has no neighbours of, naming what it offers: its families, then its own sources' names. */
function noSuchNeighbours(model: ServingModel, strategy: string): AppError {
  const families = SIMILAR_STRATEGIES.filter((f) => familySource(model, f) !== undefined);
  const own = [...model.neighbours.keys()].filter((name) => !isSimilarFamily(name) && similarSource(model, name) !== undefined);
  const offered = [...families, ...own].join(', ');
  return new AppError('VALIDATION_FAILED', `the active model has no "${strategy}" neighbours; it offers ${offered}`, [
    { path: 'querystring.strategy', message: `expected one of ${offered}` },
  ]);
}

/**
 * The 400 of a `strategy` that is no recommender family while the store answers that no version is active:
 * popularity answers the families (what any version may offer), and a recipe's own source names mean nothing
 * without one. Not while the store cannot be read (resolveItem).
 */
function noSuchFamily(strategy: string): AppError {
  const offered = SIMILAR_STRATEGIES.join(', ');
  return new AppError('VALIDATION_FAILED', `no model is active and "${strategy}" is no recommender family; strategy takes ${offered}`, [
    { path: 'querystring.strategy', message: `expected one of ${offered}` },
  ]);
}

/**
 * The model and the item's index, or the answer for an item only the catalog knows (added after
 * training), or 404. That answer is the items most like it by content (the version's content source
 * describes it: `strategy` names that source, `content` by default; `fallback` unless content was asked for), then popular items of its
 * own category, then anything popular; popularity alone (`fallback: true`) when content finds nothing.
 */
async function resolveItem(
  deps: ServingDeps,
  itemId: string,
  q: SimilarQuery,
): Promise<{ model: ServingModel; item: number } | { answer: Recommendation }> {
  const model = await deps.model();
  const item = model?.items.index.get(itemId);
  if (model && item !== undefined) return { model, item };
  // A name that is no family and none of the version's sources is refused here too; when the store answered that
  // no version is active, a name that is no family is (popularity answers the families' names until one is).
  // A process holding no model because the store cannot be read (or the active version cannot be loaded) does
  // not know what the active recipe names its sources: popularity answers any name (fallback), as user lists
  // do in an outage, rather than a 400 for a request valid on every other replica.
  const asked = q.strategy ?? 'item-knn';
  if (!model && !isSimilarFamily(asked) && deps.noneActive?.() === true) throw noSuchFamily(asked);
  if (model && !isSimilarFamily(asked) && similarSource(model, asked) === undefined) throw noSuchNeighbours(model, asked);
  const record = await deps.catalog.getItem(itemId);
  if (!record) throw notFound('item', itemId);
  const exclude = [...(q.exclude ?? []), itemId];
  // Its siblings (other sizes and colours of its style) are not listed on its page.
  const excludeGroups = record.itemGroupId ? [record.itemGroupId] : [];
  if (!model) return { answer: await deps.dbPopular.recommend({ ...q, exclude, excludeGroups }, { fallback: true }) };
  const picker = new Picker(model, itemFilter(model, { ...q, exclude }), poolSize(q));
  picker.leaveOutGroup(record.itemGroupId);
  const near = await newItemNeighbours(deps, model, record, newItemDepth(q));
  if (near) {
    const sources = [near.source];
    const explanation = RELATED_TO.content!(record.title || record.id);
    for (const n of near.neighbours) picker.offer(n.item, n.score, sources, explanation);
  }
  const byContent = picker.picks.length > 0;
  if (q.category === undefined && record.categories.length > 0) {
    const category = record.categories[0];
    const sameCategory = new Picker(model, itemFilter(model, { ...q, exclude, category }), poolSize(q));
    sameCategory.backfillPopular(-1);
    // Below what content found, as a run of popularity after other picks.
    const score = popularityRun(picker.picks);
    const explanation = `popular in ${category}`;
    for (const p of sameCategory.picks) picker.offer(p.item, score(p.score), p.sources, explanation);
  }
  picker.backfillPopular(-1);
  const picks = diversify(model, picker.picks, q.k, q.diversity ?? 0);
  if (!byContent) return { answer: toRecommendation(model, 'popularity', true, picks) };
  return { answer: toRecommendation(model, near!.source, similarSource(model, asked)?.source !== near!.source, picks) };
}

/**
 * The list of a trained item: the neighbours of the asked-for source first (a family's, or the recipe's own by
 * name: similarSource; the list and its items name that source as the recipe does), then the other families'
 * in ITEM_SOURCES order.
 */
export async function similarItems(deps: ServingDeps, itemId: string, q: SimilarQuery): Promise<Recommendation> {
  const resolved = await resolveItem(deps, itemId, q);
  if ('answer' in resolved) return resolved.answer;
  const { model, item } = resolved;
  const asked = similarSource(model, q.strategy ?? 'item-knn');
  if (asked === undefined) throw noSuchNeighbours(model, q.strategy ?? 'item-knn');
  const strategy = asked.source;
  const base = itemFilter(model, q);
  const picker = new Picker(model, (i) => i !== item && base(i), poolSize(q));
  // Its siblings (other sizes and colours of its style) are not listed on its page.
  picker.leaveOutGroupOf(item);
  const name = nameOf(model, item);
  // The asked-for neighbours first, then the other item-based families' (one source each), then popularity.
  const order = [asked, ...ITEM_SOURCES.filter((f) => f !== asked.family).map((f) => ({ family: f, source: familySource(model, f) }))];
  let floor = Infinity;
  for (const { family: f, source } of order) {
    const t = source === undefined ? undefined : model.neighbours.get(source);
    if (!t || picker.full) continue;
    const sources = [source!];
    const explanation = RELATED_TO[f]?.(name);
    const start = t.indptr[item];
    const top = t.scores[start] > 0 ? t.scores[start] : 1;
    for (let p = start; p < t.indptr[item + 1] && !picker.full; p++) {
      // Later sources rank below earlier ones: their scores are rescaled under the last score taken.
      const score = source === strategy ? t.scores[p] : Math.min(floor, 1) * 0.99 * (t.scores[p] / top);
      if (picker.offer(t.items[p], score, sources, explanation)) floor = score;
    }
  }
  picker.backfillPopular(-1);
  const picks = diversify(model, picker.picks, q.k, q.diversity ?? 0);
  // Nothing from the asked-for neighbours (an item it does not relate to anything): the list is another
  // source's, and says so.
  if (picks.some((p) => p.sources[0] === strategy)) return toRecommendation(model, strategy, false, picks);
  return toRecommendation(model, picks[0]?.sources[0] ?? 'popularity', true, picks);
}

/** Co-occurrence pairs with support, confidence and lift; only true pairs, never padded. */
export async function boughtTogether(deps: ServingDeps, itemId: string, q: ListQuery): Promise<Recommendation<BoughtTogetherItem>> {
  const model = await deps.model();
  const item = model?.items.index.get(itemId);
  if (!model || item === undefined) {
    if (!(await deps.catalog.getItem(itemId))) throw notFound('item', itemId);
    return toRecommendation(model, 'cooccurrence', true, []) as Recommendation<BoughtTogetherItem>;
  }
  // The co-occurrence family's source, by whatever name the recipe gives it (it names the list and its items).
  const source = familySource(model, 'cooccurrence');
  const t = source === undefined ? undefined : model.neighbours.get(source);
  if (!t?.support || !t.confidence || !t.lift) return toRecommendation(model, 'cooccurrence', true, []) as Recommendation<BoughtTogetherItem>;
  const base = itemFilter(model, q);
  const picker = new Picker(model, (i) => i !== item && base(i), poolSize(q));
  // Another size of the same style is not "bought together" with it.
  picker.leaveOutGroupOf(item);
  const sources = [source!];
  const explanation = RELATED_TO.cooccurrence!(nameOf(model, item));
  for (let p = t.indptr[item]; p < t.indptr[item + 1] && !picker.full; p++) {
    if (picker.offer(t.items[p], t.scores[p], sources, explanation)) {
      picker.picks[picker.picks.length - 1].stats = { support: t.support[p], confidence: t.confidence[p], lift: t.lift[p] };
    }
  }
  // Every pick carries its statistics, so every item has support, confidence and lift.
  return toRecommendation(model, source!, false, diversify(model, picker.picks, q.k, q.diversity ?? 0)) as Recommendation<BoughtTogetherItem>;
}
