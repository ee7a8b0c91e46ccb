/**
 * Turns a fitted recipe into the serving model of a version: everything a request needs, precomputed at
 * training time so the request path only reads one user entry and applies rules. Pure (no IO): training
 * writes the result with putArtifact / putEntries under a new version, then publishes.
 */
import { z } from 'zod';
import type { Dataset } from '../recommenders/dataset.js';
import { datasetHistories, recentDistinctItems, userContext } from '../recommenders/history.js';
import { itemBuyerCounts } from '../recommenders/hybrid.js';
import type { Recommender } from '../recommenders/recommender.js';
import {
  ARTIFACT_ITEMS,
  ARTIFACT_NEIGHBOURS,
  ARTIFACT_POPULAR,
  encodeItemsArtifact,
  encodeNeighboursArtifact,
  encodePopularArtifact,
  type ServingModelInfo,
} from './serving-artifacts.js';
import { findAnchors } from './anchor-finder.js';
import { buildNeighbourTables, buildPopularTable, findSegment } from './serving-tables.js';
import { topCandidates } from './top-candidates.js';
import { encodeCandidates, encodeUserEntry, strategyTable, USERS_TABLE } from './user-entry.js';

/** The `serving` section a recipe may carry; every field has a default. */
export const servingOptionsSchema = z.object({
  /** Hybrid candidates kept per user (non-purchased; the user's own best purchases come on top). */
  candidates: z.int().min(1).max(10_000).default(200),
  /** Candidates kept per user for each single strategy (used for comparisons, so fewer by default). */
  strategyCandidates: z.int().min(1).max(10_000).default(100),
  /** Neighbours kept per item and item-based source. */
  neighbours: z.int().min(5).max(500).default(50),
  /** Items in each per-attribute popularity list. */
  popular: z.int().min(10).max(10_000).default(500),
  /** Latest distinct purchases kept per user as explanation anchors. */
  recentItems: z.int().min(1).max(100).default(20),
});
export type ServingOptions = z.output<typeof servingOptionsSchema>;

/** What fitRecipe returns, as far as serving needs it. */
export interface FittedModels {
  sources: ReadonlyMap<string, Recommender>;
  hybrid: Recommender;
}

export interface BuildServingModelInput {
  ds: Dataset;
  fitted: FittedModels;
  /** The recipe; only `candidates.perUser` and an optional `serving` section (ServingOptions) are read. */
  recipe?: unknown;
}

export interface ServingModelBuild {
  artifacts: Map<string, Uint8Array>;
  tables: Map<string, Iterable<[string, Uint8Array]>>;
  info: ServingModelInfo;
}

/** A source contributing less than this share of an item's hybrid score is not named in `sources`. */
const SOURCE_SHARE = 0.1;

type BySource = (ctx: ReturnType<typeof userContext>, out: Float32Array) => Record<string, Float32Array>;

/** Serving options of a recipe: its `serving` section, with `candidates.perUser` as the hybrid candidate count. */
export function servingOptions(recipe: unknown): ServingOptions {
  const r = (recipe && typeof recipe === 'object' ? recipe : {}) as { serving?: unknown; candidates?: { perUser?: unknown } };
  const section = r.serving && typeof r.serving === 'object' ? r.serving : {};
  const perUser = r.candidates?.perUser;
  return servingOptionsSchema.parse(perUser === undefined ? section : { candidates: perUser, ...section });
}

/**
 * Builds the serving model. Per known user (>= 1 purchase): top candidates of the hybrid (with the sources
 * behind each) and of every single source, the purchased set and latest purchases; per item: neighbour
 * lists; popularity lists; the item table. Cost: one or two full-catalogue scorings per user and source
 * (the hybrid's per-source parts double as single-strategy scores when they keep the source's order),
 * plus the item-based neighbour lists.
 */
export function buildServingModel(input: BuildServingModelInput): ServingModelBuild {
  const { ds, fitted } = input;
  const options = servingOptions(input.recipe);
  const itemCount = ds.itemIds.length;
  const sourceNames = [...fitted.sources.keys()];
  if (sourceNames.length > 32) throw new Error('serving model: at most 32 sources fit the source mask');
  const info: ServingModelInfo = {
    strategies: ['hybrid', ...sourceNames.filter((s) => s !== 'hybrid')],
    hybridSources: sourceNames,
    candidates: options.candidates,
    now: ds.now,
  };

  const popular = buildPopularTable(ds, fitted.sources.get('popularity'), options.popular);
  const neighbours = buildNeighbourTables(ds, fitted.sources, options.neighbours);
  const artifacts = new Map<string, Uint8Array>([
    [
      ARTIFACT_ITEMS,
      encodeItemsArtifact(info, {
        ids: ds.itemIds,
        titles: ds.items.map((i) => i.title ?? ''),
        available: Uint8Array.from(ds.items, (i) => (i.available === false ? 0 : 1)),
        price: Float64Array.from(ds.items, (i) => (typeof i.price === 'number' ? i.price : Number.NaN)),
        categories: ds.items.map((i) => i.categories ?? []),
      }),
    ],
    [ARTIFACT_NEIGHBOURS, encodeNeighboursArtifact(neighbours)],
    [ARTIFACT_POPULAR, encodePopularArtifact(popular)],
  ]);

  // Popularity needs no per-user entry: its list is the user's segment list in the popular table.
  const singles = sourceNames.filter((s) => s !== 'popularity');
  const userRows: [string, Uint8Array][] = [];
  const strategyRows = new Map<string, [string, Uint8Array][]>(singles.map((s) => [s, []]));
  const histories = datasetHistories(ds);
  const purchasedMask = new Uint8Array(itemCount);
  const blended = new Float32Array(itemCount);
  const scratch = new Float32Array(itemCount);
  const hybrid = fitted.hybrid as {
    scoreUserBySource?: BySource;
    weightsFor?: (orders: number) => Record<string, number>;
    config?: { normalisation?: string; popularityDiscount?: number };
  };
  const bySource = hybrid.scoreUserBySource?.bind(fitted.hybrid);
  // A source's part of the blend keeps the source's own order under max/minmax normalisation once the
  // weight and the hybrid's discovery discount (1 + buyers)^-beta of unbought items are divided out;
  // otherwise single strategies are scored on their own (twice the scoring work).
  const partsKeepOrder = ['max', 'minmax'].includes(hybrid.config?.normalisation ?? 'max');
  const weightsFor = partsKeepOrder ? hybrid.weightsFor?.bind(fitted.hybrid) : undefined;
  const beta = hybrid.config?.popularityDiscount ?? 0;
  const undiscount = beta > 0 ? Float32Array.from(itemBuyerCounts(ds), (b) => Math.pow(1 + b, beta)) : null;

  for (let u = 0; u < ds.userIds.length; u++) {
    const history = histories[u];
    if (history.length === 0) continue;
    const ctx = userContext(ds, histories, u);
    const purchased = Int32Array.from(new Set(history.map((h) => h.item))).sort();
    for (const i of purchased) purchasedMask[i] = 1;

    const parts = bySource ? bySource(ctx, blended) : (fitted.hybrid.scoreUser(ctx, blended), {});
    const top = topCandidates(blended, purchasedMask, options.candidates);
    const sourceMask = new Uint32Array(top.items.length);
    top.items.forEach((item, c) => {
      let best = -1;
      let bestPart = 0;
      sourceNames.forEach((name, k) => {
        const part = parts[name]?.[item] ?? 0;
        if (part > 0 && part >= SOURCE_SHARE * blended[item]) sourceMask[c] |= 1 << k;
        if (part > bestPart) [best, bestPart] = [k, part];
      });
      if (sourceMask[c] === 0 && best >= 0) sourceMask[c] = 1 << best;
    });
    const recent = recentDistinctItems(history, itemCount, options.recentItems);
    const recentItems = Int32Array.from(recent, (r) => r.item);
    const orders = new Set(history.map((h) => h.order)).size;
    userRows.push([
      ds.userIds[u],
      encodeUserEntry({
        segment: findSegment(popular.segments, ds.userAttributes[u] ?? {}),
        orders,
        lastTs: history[history.length - 1].ts,
        purchased,
        recentItems,
        recentTs: Float64Array.from(recent, (r) => r.ts),
        hybrid: { ...top, sourceMask, because: findAnchors(neighbours, itemCount, top.items, recentItems) },
      }),
    ]);

    // A source the hybrid already scored for this user is ranked by its normalised part of the blend
    // when that keeps the source's own order (see partsKeepOrder), which halves the scoring work.
    const weights = weightsFor?.(orders);
    for (const name of singles) {
      const part = partsKeepOrder ? parts[name] : undefined;
      let scores: Float32Array = scratch;
      if (part && weights?.[name]) {
        const w = weights[name];
        // The hybrid discounts only items outside the user's history (their purchases), so only those are restored.
        if (undiscount) for (let i = 0; i < itemCount; i++) scratch[i] = purchasedMask[i] ? part[i] / w : (part[i] / w) * undiscount[i];
        else for (let i = 0; i < itemCount; i++) scratch[i] = part[i] / w;
      } else if (part && !undiscount) scores = part;
      else fitted.sources.get(name)!.scoreUser(ctx, scratch);
      strategyRows.get(name)!.push([ds.userIds[u], encodeCandidates(topCandidates(scores, purchasedMask, options.strategyCandidates))]);
    }
    for (const i of purchased) purchasedMask[i] = 0;
  }

  const tables = new Map<string, Iterable<[string, Uint8Array]>>([[USERS_TABLE, userRows]]);
  for (const [name, rows] of strategyRows) tables.set(strategyTable(name), rows);
  return { artifacts, tables, info };
}
