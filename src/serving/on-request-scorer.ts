/**
 * Serving's own scoring of one customer, for customers training did not precompute (no purchase in
 * PRECOMPUTE_DAYS): the version's fitted recommenders, loaded from their stored artifacts once per
 * version, score the customer's purchase history exactly as training would have (same scorer, same
 * trained factors), and the result is kept like a precomputed entry.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PurchaseRow } from '../recommenders/dataset.js';
import { hybridFromArtifact } from '../recommenders/hybrid.js';
import type { HistoryEntry, Recommender, UserContext } from '../recommenders/recommender.js';
import { recommenderFactory } from '../recommenders/registry.js';
import type { ModelStore } from '../store/model-store.js';
import { ARTIFACT_USER_IDS, userIdsIndex } from './serving-artifacts.js';
import { createStrategyScorer, createUserScorer, servingOptions, storedStrategies, type ScoredUser } from './serving-model-builder.js';
import type { Candidates } from './user-entry.js';
import { familyOf, trainedRecipe, type ServingModel } from './serving-model.js';

/** Customer ids put in the scorer's index per turn of the event loop (about 15-20 ms of work at 450,000 customers). */
const IDS_PER_TURN = 100_000;

export interface OnRequestScorer {
  (history: readonly PurchaseRow[], attributes: Record<string, unknown>): ScoredUser | null;
  /**
   * The customer's list of one single strategy, for versions that score them on request
   * (ServingOptions.strategyLists): null without purchases of the version's items. The source alone, as
   * training stores a list, from every purchase Postgres holds of them (purchases since training too).
   */
  strategy(history: readonly PurchaseRow[], name: string, attributes: Record<string, unknown>): Candidates | null;
  /** Whether the version's training had this customer (their row is in the loaded recommenders). */
  knows(userId: string): boolean;
  /**
   * Forgets an erased customer in place: their id no longer maps to a row, and the recommenders that
   * keep a row per customer (ALS factors, user-kNN baskets) wipe theirs, as the erasure does to the
   * stored artifacts. The scorer then scores everyone as one loaded after the erasure would, and
   * nothing is loaded again (a load decodes every artifact of the version on the event loop).
   */
  forget(userId: string): void;
  /** One of the version's sources as loaded here (the describer of new items reuses content's: new-item-neighbours.ts). */
  source(name: string): Recommender | undefined;
}

/**
 * The scorer of a version, or null when the version did not store its recommenders (or cannot be read):
 * such a version answers unprecomputed customers with the cold-start fallback, as before.
 *
 * Decoding is synchronous and costs in proportion to the shop (ALS's customer factors, content's
 * feature index, the customer ids): at 150,000 customers about 0.6 s in one stretch, during which the
 * process answered nothing. Each source, the hybrid and the customer index (over the packed ids, no
 * string per customer) are therefore made in a turn of their own, so requests are answered between them
 * (bench/scorer-load.ts).
 */
export async function loadOnRequestScorer(store: Pick<ModelStore, 'getArtifact'>, model: ServingModel): Promise<OnRequestScorer | null> {
  const version = model.meta.version;
  const recipe = trainedRecipe(model);
  const names = model.info.hybridSources;
  const [userIdsBytes, hybridBytes, ...sourceBytes] = await Promise.all([
    store.getArtifact(version, ARTIFACT_USER_IDS),
    store.getArtifact(version, 'recommender:hybrid'),
    ...names.map((name) => store.getArtifact(version, `recommender:${name}`)),
  ]);
  if (!userIdsBytes || !hybridBytes || sourceBytes.some((b) => !b)) return null;
  const itemIds = model.items.ids;
  const sources = new Map<string, Recommender>();
  for (const [k, name] of names.entries()) {
    const factory = recommenderFactory(familyOf(model, name));
    if (!factory) throw new Error(`model ${version}: unknown recommender family of source "${name}"`);
    await nextTurn();
    sources.set(name, factory.fromArtifact(sourceBytes[k]!, { itemIds }));
  }
  await nextTurn();
  const hybrid = hybridFromArtifact(hybridBytes, sources);
  // The customer index over the ids' packed bytes, IDS_PER_TURN rows a turn: decoding 450,000 ids and
  // filling a map with them held the serving thread about 450 ms per version, and left as much garbage.
  const userIndex = userIdsIndex(userIdsBytes);
  for (let from = 0; from < userIndex.count; from += IDS_PER_TURN) {
    await nextTurn();
    userIndex.add(from, from + IDS_PER_TURN);
  }
  const options = servingOptions(recipe);
  const input = {
    fitted: { sources, hybrid },
    options,
    sourceNames: names,
    singles: storedStrategies(model.info),
    popular: model.popular,
    neighbours: model.neighbours,
    itemCount: itemIds.length,
  };
  const score = createUserScorer(input);
  const scoreStrategy = createStrategyScorer(input);
  /** The customer's context from their purchase rows, as the dataset would have it. */
  const contextOf = (rows: readonly PurchaseRow[], attributes: Record<string, string>): UserContext => {
    const history: HistoryEntry[] = [];
    for (const r of rows) {
      const item = model.items.index.get(r.itemId);
      // Without an order id, the purchases of one moment are one basket (as the dataset builds them).
      if (item !== undefined) history.push({ item, ts: r.ts, quantity: r.quantity, order: r.orderId ?? `@${r.ts}` });
    }
    history.sort((a, b) => a.ts - b.ts);
    const userId = rows[0]?.userId;
    const user = userId === undefined ? -1 : (userIndex.get(userId) ?? -1);
    return { user, history, attributes, now: model.info.now };
  };
  const strings = (attributes: Record<string, unknown>) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(attributes)) if (typeof v === 'string') out[k] = v;
    return out;
  };
  const scorer = (rows: readonly PurchaseRow[], attributes: Record<string, unknown>) => {
    const known = strings(attributes);
    return score(contextOf(rows, known), known);
  };
  return Object.assign(scorer, {
    strategy: (rows: readonly PurchaseRow[], name: string, attributes: Record<string, unknown>) => scoreStrategy(contextOf(rows, strings(attributes)), name),
    knows: (userId: string) => userIndex.has(userId),
    source: (name: string) => sources.get(name),
    forget(userId: string) {
      const row = userIndex.get(userId);
      if (row === undefined) return;
      userIndex.forget(userId);
      for (const source of sources.values()) source.forgetUsers?.(new Set([row]));
    },
  });
}
