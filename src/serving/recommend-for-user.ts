/**
 * GET /v1/users/:id/recommendations. A known user costs one user entry read and one live-events read,
 * concurrently, from the model store; everything else is in process memory. A user the model does not
 * know gets a cold-start answer (fallback: true), and with no model at all the database's popularity.
 */
import { AppError } from '../errors.js';
import { diversify } from './diversify.js';
import { BECAUSE_YOU_BOUGHT, explainByAnchors, scoreByNeighbours } from './neighbour-scores.js';
import { itemFilter, Picker } from './picker.js';
import { popularityPhraseFor } from './popularity-phrase.js';
import { toRecommendation, type Pick, type Recommendation, type UserQuery } from './recommendation.js';
import { liveItems, poolSize, preferredAttribute, type ServingDeps } from './serving-deps.js';
import { sourcesOfMask, type ServingModel } from './serving-model.js';
import { findSegment } from './serving-tables.js';
import { decodeCandidates, decodeUserEntry, sortedHas, strategyTable, USERS_TABLE, type UserEntry } from './user-entry.js';

/** Share of the blended score given to neighbours of purchases made since training. */
const LIVE_WEIGHT = 0.5;
/** Newest live purchases whose neighbours are blended in (weights 1, 1/2, 1/3, ...). */
const LIVE_ANCHORS = 5;
const LIVE_SOURCES = { 'item-knn': 1, content: 0.3 };
const BOUGHT_BEFORE = 'you bought this before';

export async function recommendForUser(deps: ServingDeps, userId: string, q: UserQuery): Promise<Recommendation> {
  const model = await deps.model();
  const strategy = q.strategy ?? 'hybrid';
  const excludePurchased = q.excludePurchased ?? true;
  if (!model) {
    const user = await deps.catalog.getUser(userId);
    return deps.dbPopular.recommend(
      { ...q, attribute: preferredAttribute(user?.attributes ?? {}), excludeBoughtBy: excludePurchased ? userId : undefined },
      { fallback: true },
    );
  }
  if (!model.info.strategies.includes(strategy)) {
    throw new AppError('VALIDATION_FAILED', `unknown strategy "${strategy}"; the active model offers ${model.info.strategies.join(', ')}`, [
      { path: 'querystring.strategy', message: `expected one of ${model.info.strategies.join(', ')}` },
    ]);
  }
  const version = model.meta.version;
  const single = strategy !== 'hybrid' && strategy !== 'popularity';
  const [rows, singleRows, live] = await Promise.all([
    deps.store.getEntries(version, USERS_TABLE, [userId]),
    single ? deps.store.getEntries(version, strategyTable(strategy), [userId]) : undefined,
    deps.store.getUserEvents(userId),
  ]);
  if (!rows[0]) return coldStart(deps, model, userId, q, live);

  const entry = decodeUserEntry(rows[0]);
  // Purchases since training: items not bought before, or bought again after the training data ends.
  const fresh = liveItems(model, live, (item, ts) => ts > entry.lastTs || !sortedHas(entry.purchased, item));
  const freshSet = new Set(fresh.map((f) => f.item));
  const bought = excludePurchased ? (item: number) => sortedHas(entry.purchased, item) || freshSet.has(item) : undefined;
  const picker = new Picker(model, itemFilter(model, q, bought), poolSize(q));

  if (strategy === 'hybrid') {
    for (const p of blendLive(model, entry, fresh)) if (picker.offer(p.item, p.score, p.sources) && picker.full) break;
  } else if (singleRows?.[0]) {
    const c = decodeCandidates(singleRows[0]);
    const sources = [strategy];
    for (let k = 0; k < c.items.length && !picker.full; k++) picker.offer(c.items[k], c.scores[k], sources);
  }
  picker.backfillPopular(entry.segment);

  const picks = diversify(model, picker.picks, q.k, q.diversity ?? 0);
  explain(model, picks, entry, fresh);
  return toRecommendation(model, strategy, false, picks);
}

/**
 * The stored hybrid candidates, with neighbours of the newest live purchases blended in:
 *   score = (1 - LIVE_WEIGHT) * hybrid / max hybrid + LIVE_WEIGHT * live / max live
 * Without live purchases the stored order is used as is (no allocation beyond the picks).
 */
function* blendLive(model: ServingModel, entry: UserEntry, fresh: readonly { item: number }[]): Generator<Pick> {
  const { items, scores, sourceMask } = entry.hybrid;
  if (fresh.length === 0) {
    for (let k = 0; k < items.length; k++) yield { item: items[k], score: scores[k], sources: sourcesOfMask(model, sourceMask[k]) };
    return;
  }
  const anchors = fresh.slice(0, LIVE_ANCHORS).map((f, r) => ({ item: f.item, weight: 1 / (1 + r) }));
  const live = scoreByNeighbours(model, anchors, LIVE_SOURCES, BECAUSE_YOU_BOUGHT);
  const hybridMax = scores.length > 0 ? scores[0] : 1;
  const liveMax = live.length > 0 ? live[0].score : 1;
  const merged = new Map<number, Pick>();
  for (let k = 0; k < items.length; k++) {
    merged.set(items[k], { item: items[k], score: ((1 - LIVE_WEIGHT) * scores[k]) / hybridMax, sources: sourcesOfMask(model, sourceMask[k]) });
  }
  for (const p of live) {
    const score = (LIVE_WEIGHT * p.score) / liveMax;
    const seen = merged.get(p.item);
    if (!seen) merged.set(p.item, { ...p, score });
    else merged.set(p.item, { ...seen, score: seen.score + score, sources: [...new Set([...seen.sources, ...p.sources])], explanation: p.explanation });
  }
  yield* [...merged.values()].sort((a, b) => b.score - a.score || a.item - b.item);
}

/** "because you bought X" from the newest purchases (live first), then buy-again and popularity phrases. */
function explain(model: ServingModel, picks: Pick[], entry: UserEntry, fresh: readonly { item: number }[]): void {
  const anchors = fresh.length === 0 ? entry.recentItems : [...fresh.map((f) => f.item), ...entry.recentItems];
  explainByAnchors(model, picks, anchors, BECAUSE_YOU_BOUGHT);
  for (let i = 0; i < picks.length; i++) {
    const p = picks[i];
    if (p.explanation !== undefined) continue;
    if (sortedHas(entry.purchased, p.item)) picks[i] = { ...p, explanation: BOUGHT_BEFORE };
    else if (p.sources.includes('popularity')) picks[i] = { ...p, explanation: popularityPhraseFor(model, entry.segment, p.item) };
  }
}

/**
 * A user the model has not seen (created after training, or unknown): their live purchases as a
 * context when they have some, then the popularity of their attribute segment (from Postgres
 * attributes), then global popularity. Always `fallback: true`.
 */
async function coldStart(
  deps: ServingDeps,
  model: ServingModel,
  userId: string,
  q: UserQuery,
  live: readonly { itemId: string; ts: number }[],
): Promise<Recommendation> {
  const user = await deps.catalog.getUser(userId);
  const segment = findSegment(model.popular.segments, user?.attributes ?? {});
  const fresh = liveItems(model, live);
  const freshSet = new Set(fresh.map((f) => f.item));
  const bought = (q.excludePurchased ?? true) ? (item: number) => freshSet.has(item) : undefined;
  const picker = new Picker(model, itemFilter(model, q, bought), poolSize(q));
  if (fresh.length > 0) {
    const anchors = fresh.slice(0, LIVE_ANCHORS).map((f, r) => ({ item: f.item, weight: 1 / (1 + r) }));
    for (const p of scoreByNeighbours(model, anchors, { 'item-knn': 1, cooccurrence: 0.7, content: 0.5 }, BECAUSE_YOU_BOUGHT)) {
      if (picker.offer(p.item, p.score, p.sources, p.explanation) && picker.full) break;
    }
  }
  const fromContext = picker.picks.length > 0;
  picker.backfillPopular(segment);
  return toRecommendation(model, fromContext ? 'context' : 'popularity', true, diversify(model, picker.picks, q.k, q.diversity ?? 0));
}
