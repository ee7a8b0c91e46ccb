/**
 * Turns a fitted recipe into the serving model of a version: everything a request needs, precomputed at
 * training time so the request path only reads one user entry and applies rules. Pure (no IO): training
 * writes the result with putArtifact / putEntries under a new version, then publishes.
 */
import { z } from 'zod';
import type { Dataset } from '../recommenders/dataset.js';
import { indexedHistory, recentDistinctItems, userEventIndex } from '../recommenders/history.js';
import { blendDepth, createBlendScratch, createDenseScratch, scoreSparseOf, type HybridRecommender } from '../recommenders/hybrid.js';
import { SparseScores } from '../recommenders/sparse-scores.js';
import { GroupedRecommender } from '../recommenders/grouped-recommender.js';
import { groupMapOf } from '../recommenders/group-dataset.js';
import type { Recommender, UserContext } from '../recommenders/recommender.js';
import {
  ARTIFACT_ITEMS,
  ARTIFACT_NEIGHBOURS,
  ARTIFACT_POPULAR,
  ARTIFACT_USER_IDS,
  encodeItemsArtifact,
  itemGroupsOf,
  type ItemGroups,
  encodeUserIdsArtifact,
  encodeNeighboursArtifact,
  encodePopularArtifact,
  type ServingModelInfo,
} from './serving-artifacts.js';
import { findAnchorsBySource } from './anchor-finder.js';
import { buildNeighbourTables, buildPopularTable, findSegment } from './serving-tables.js';
import { topSparseCandidates } from './top-candidates.js';
import { encodeCandidates, encodeUserEntry, strategyTable, USERS_TABLE, type Candidates, type UserEntry } from './user-entry.js';
import { OWN_ITEM_FAMILIES } from './own-item-sources.js';
import { popularitySources } from './popularity-sources.js';

/** The `serving` section a recipe may carry; every field has a default. */
export const servingOptionsSchema = z.object({
  /** Hybrid candidates kept per user (non-purchased; the user's own best purchases come on top). */
  candidates: z.int().min(1).max(10_000).default(200),
  /** Candidates kept per user for each single strategy (used for comparisons, so fewer by default). */
  strategyCandidates: z.int().min(1).max(10_000).default(100),
  /**
   * Where a customer's list of one source (`strategy=<source>`) comes from: `on-request` scores it when
   * asked, from the customer's purchases and the version's loaded recommenders, and keeps it for the
   * version; `stored` precomputes one table per source at training time. Stored tables were 60% of a
   * version at ten times Online Retail (2.1 of 3.5 GB in Redis), for lists asked only for comparisons
   * and A/B arms.
   */
  strategyLists: z.enum(['on-request', 'stored']).default('on-request'),
  /** Neighbours kept per item and item-based source. */
  neighbours: z.int().min(5).max(500).default(50),
  /** Items in each per-attribute popularity list. */
  popular: z.int().min(10).max(10_000).default(500),
  /** Latest distinct purchases kept per user as explanation anchors. */
  recentItems: z.int().min(1).max(100).default(20),
  /**
   * Customers whose latest purchase is at most this many days before the data's end get a precomputed
   * entry; the others are scored on request by serving (null = everyone). Training sets it from
   * PRECOMPUTE_DAYS unless the recipe does.
   */
  precomputeDays: z.number().min(0).nullable().default(null),
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
  /** Customers precomputed (PRECOMPUTE_DAYS), unless the recipe's serving section says; default everyone. */
  precomputeDays?: number | null;
  /**
   * True when the version will not store its recommenders: serving then cannot score a single strategy's
   * list on request, so every list is stored, whatever the recipe says.
   */
  storeStrategyLists?: boolean;
}

export interface ServingModelBuild {
  artifacts: Map<string, Uint8Array>;
  tables: Map<string, Iterable<[string, Uint8Array]>>;
  info: ServingModelInfo;
}

/** A source contributing less than this share of an item's hybrid score is not named in `sources`. */
const SOURCE_SHARE = 0.1;

const recipeSetsPrecompute = (recipe: unknown) =>
  typeof (recipe as { serving?: { precomputeDays?: unknown } } | undefined)?.serving?.precomputeDays !== 'undefined';

/** Serving options of a recipe: its `serving` section, with `candidates.perUser` as the hybrid candidate count. */
export function servingOptions(recipe: unknown): ServingOptions {
  const r = (recipe && typeof recipe === 'object' ? recipe : {}) as { serving?: unknown; candidates?: { perUser?: unknown } };
  const section = r.serving && typeof r.serving === 'object' ? r.serving : {};
  const perUser = r.candidates?.perUser;
  return servingOptionsSchema.parse(perUser === undefined ? section : { candidates: perUser, ...section });
}

/**
 * The strategies with a per-user table, in table order: every source but popularity (a popularity list
 * is the user's segment list in the popular table).
 */
export const singleStrategies = (sourceNames: readonly string[]) => sourceNames.filter((s) => s !== 'popularity');

/** The single strategies whose lists a version stores (none when they are scored on request; all in versions from before the choice). */
export const storedStrategies = (info: Pick<ServingModelInfo, 'hybridSources' | 'strategyLists'>) =>
  info.strategyLists === 'on-request' ? [] : singleStrategies(info.hybridSources);

/** Everything of a serving model but the per-user rows: item tables, artifacts, and what the rows need. */
export interface PreparedServingModel {
  artifacts: Map<string, Uint8Array>;
  info: ServingModelInfo;
  options: ServingOptions;
  sourceNames: string[];
  /** Strategies with a stored per-user table (popularity has none: its list is the segment list; none when scored on request). */
  singles: string[];
  popular: ReturnType<typeof buildPopularTable>;
  neighbours: ReturnType<typeof buildNeighbourTables>;
}

/**
 * The items' product groups, with the variant that shows each group (group-dataset.ts) marked when a source
 * learnt per group: serving lists a sibling in its place when it cannot be listed (picker.ts).
 */
function servedGroups(ds: Dataset, fitted: FittedModels): ItemGroups | undefined {
  const groups = itemGroupsOf(ds.items.map((i) => i.itemGroupId));
  if (!groups || ![...fitted.sources.values()].some((r) => r instanceof GroupedRecommender)) return groups;
  const map = groupMapOf(ds);
  if (!map) return groups;
  const shows = new Uint8Array(ds.items.length);
  for (const i of map.shown) if (groups.of[i] >= 0) shows[i] = 1;
  return { ...groups, shows };
}

/** The per-item part of the build: neighbour lists, popularity lists, the item table. */
export function prepareServingModel(input: BuildServingModelInput): PreparedServingModel {
  const { ds, fitted } = input;
  const fromRecipe = servingOptions(input.recipe);
  const precomputed = input.precomputeDays !== undefined && !recipeSetsPrecompute(input.recipe) ? { ...fromRecipe, precomputeDays: input.precomputeDays } : fromRecipe;
  const options: ServingOptions = input.storeStrategyLists ? { ...precomputed, strategyLists: 'stored' } : precomputed;
  const sourceNames = [...fitted.sources.keys()];
  if (sourceNames.length > 32) throw new Error('serving model: at most 32 sources fit the source mask');
  const popularity = popularitySources(fitted.sources);
  const info: ServingModelInfo = {
    strategies: ['hybrid', ...sourceNames.filter((s) => s !== 'hybrid')],
    hybridSources: sourceNames,
    candidates: options.candidates,
    now: ds.now,
    ownItemSources: sourceNames.filter((s) => OWN_ITEM_FAMILIES.has(fitted.sources.get(s)!.name)),
    strategyLists: options.strategyLists,
    popularitySources: popularity.popular,
    trendSources: popularity.trends,
  };

  const popular = buildPopularTable(ds, popularity.table === undefined ? undefined : fitted.sources.get(popularity.table), options.popular);
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
        groups: servedGroups(ds, fitted),
      }),
    ],
    [ARTIFACT_NEIGHBOURS, encodeNeighboursArtifact(neighbours)],
    [ARTIFACT_POPULAR, encodePopularArtifact(popular)],
    [ARTIFACT_USER_IDS, encodeUserIdsArtifact(ds.userIds)],
  ]);
  const singles = storedStrategies(info);
  return { artifacts, info, options, sourceNames, singles, popular, neighbours };
}

/** The serving model from its prepared part and the rows of its users' chunks (in any order). */
export function assembleServingModel(prepared: PreparedServingModel, chunks: UserRows[]): ServingModelBuild {
  const parts = [...chunks].sort((a, b) => a.chunk - b.chunk);
  const tables = new Map<string, Iterable<[string, Uint8Array]>>([[USERS_TABLE, parts.flatMap((r) => r.users)]]);
  prepared.singles.forEach((name, k) => tables.set(strategyTable(name), parts.flatMap((r) => r.strategies[k])));
  return { artifacts: prepared.artifacts, tables, info: prepared.info };
}

/** Rows of the per-user tables, by table name: what a build hands on as it goes (see userRowChunks). */
export type TableEntries = [string, [string, Uint8Array][]][];

/** The per-user tables' entries of some user rows (`singles` as in PreparedServingModel). */
export function userRowTables(singles: readonly string[], rows: UserRows): TableEntries {
  return [[USERS_TABLE, rows.users], ...singles.map((name, k): [string, [string, Uint8Array][]] => [strategyTable(name), rows.strategies[k]])];
}

/**
 * Builds the serving model in the calling thread. Per known user (>= 1 purchase): top candidates of the
 * hybrid (with the sources behind each) and of every single source, the purchased set and latest
 * purchases; per item: neighbour lists; popularity lists; the item table. A user costs what their
 * sources touch (buildUserRows), so the build grows with the data, not with users x items.
 */
export function buildServingModel(input: BuildServingModelInput): ServingModelBuild {
  const prepared = prepareServingModel(input);
  const rows = buildUserRows({ ...prepared, ds: input.ds, fitted: input.fitted, users: { from: 0, to: input.ds.userIds.length } });
  return assembleServingModel(prepared, [rows]);
}

export interface UserRowsInput extends Omit<PreparedServingModel, 'artifacts' | 'info'> {
  ds: Dataset;
  fitted: FittedModels;
  /** The range of user indices [from, to) to build. */
  users: { from: number; to: number };
}

/** Per user of a chunk with purchases: the users-table row and one row per single strategy (same order as `singles`). */
export interface UserRows {
  users: [string, Uint8Array][];
  strategies: [string, Uint8Array][][];
  /** The chunk's index (UserChunk): rows assembled in this order are the single-thread build's. */
  chunk: number;
}

/** What scoring one user needs besides the user: the fitted models and the version's item tables. */
export type UserScorerInput = Pick<UserRowsInput, 'fitted' | 'options' | 'sourceNames' | 'singles' | 'popular' | 'neighbours'> & { itemCount: number };

/** One user's serving entry and single-strategy candidates (in `singles` order). */
export interface ScoredUser {
  entry: UserEntry;
  singles: Candidates[];
}

/**
 * Scores one user at a time into their serving entry: what training precomputes for active customers
 * and what serving computes on request for the others. Keeps per-thread scratch buffers, so one scorer
 * serves one thread; each result depends only on the user.
 */
export function createUserScorer(input: UserScorerInput): (ctx: UserContext, attributes: Record<string, string>) => ScoredUser | null {
  const { fitted, options, sourceNames, singles, popular, neighbours, itemCount } = input;
  const hybrid = fitted.hybrid as Partial<HybridRecommender>;
  if (!hybrid.blendSparse) throw new Error('serving model: the hybrid must be a blend of sources');
  const blendSparse = hybrid.blendSparse.bind(fitted.hybrid);
  const rankedDeep = hybrid.config ? blendDepth(hybrid.config) : 0;
  const purchasedMask = new Uint8Array(itemCount);
  const scratch = createBlendScratch(itemCount);
  // A stored single list of a pooled source (ALS) is ranked from the blend's raw scores of the pool: they must hold as many.
  if (singles.length > 0) scratch.pooledDepth = options.strategyCandidates;
  const scoreSingle = singleSourceScorer(fitted, options);
  const single = new SparseScores(itemCount);
  // The customer's distinct purchases as they are marked (grown as needed).
  let distinct = new Int32Array(64);
  return (ctx, attributes) => {
    const history = ctx.history.filter((h) => h.item >= 0 && h.item < itemCount);
    if (history.length === 0) return null;
    if (distinct.length < history.length) distinct = new Int32Array(Math.max(history.length, 2 * distinct.length));
    let bought = 0;
    for (const h of history) {
      if (purchasedMask[h.item] === 1) continue;
      purchasedMask[h.item] = 1;
      distinct[bought++] = h.item;
    }
    const purchased = distinct.slice(0, bought).sort();
    try {
      blendSparse(ctx, scratch);
      const top = topSparseCandidates(scratch.blend, purchasedMask, options.candidates);
      const sourceMask = new Uint32Array(top.items.length);
      const dominant = new Uint8Array(top.items.length);
      // Each source's parts, looked up once per user rather than per candidate and source.
      // Only the sources the blend scored have parts (the others' are 0, so never named), kept with their index.
      const partsOf: Float32Array[] = [];
      const partIndex: number[] = [];
      sourceNames.forEach((name, k) => {
        const values = scratch.sources.get(name)?.part.values;
        if (values) partsOf.push(values), partIndex.push(k);
      });
      // The candidate's part from each of partsOf.
      const parts = new Float64Array(partsOf.length);
      for (let c = 0; c < top.items.length; c++) {
        const item = top.items[c];
        // Shares of the sum of the parts (the blend itself may be lowered by a source cap), and the
        // dominant source (as dominantSource finds it: the largest part, ties to the first source).
        let total = 0;
        let best = -1;
        let bestPart = 0;
        for (let q = 0; q < partsOf.length; q++) {
          const part = partsOf[q][item];
          total += parts[q] = part;
          if (part > bestPart) {
            best = partIndex[q];
            bestPart = part;
          }
        }
        for (let q = 0; q < parts.length; q++) if (parts[q] > 0 && parts[q] >= SOURCE_SHARE * total) sourceMask[c] |= 1 << partIndex[q];
        // The dominant source is always named, whatever its share.
        if (best >= 0) {
          dominant[c] = best;
          sourceMask[c] |= 1 << best;
        }
      }
      const recent = recentDistinctItems(history, itemCount, options.recentItems);
      const recentItems = Int32Array.from(recent, (r) => r.item);
      const because = findAnchorsBySource(neighbours, itemCount, top.items, (c) => sourceNames[dominant[c]], recentItems, recentItems.length);
      const orders = new Set(history.map((h) => h.order)).size;
      const entry: UserEntry = {
        segment: findSegment(popular, attributes),
        orders,
        lastTs: history[history.length - 1].ts,
        purchased,
        recentItems,
        recentTs: Float64Array.from(recent, (r) => r.ts),
        hybrid: { items: top.items, scores: top.scores, sourceMask, dominant, because },
      };
      // A source the blend scored for this user is ranked by its raw scores from that pass; the others
      // (weight 0 at this history length) are scored now.
      const lists = singles.map((name) => {
        // The blend's raw scores of a source hold its blendDepth best new items (a list as long or shorter is
        // ranked from them), or, for ALS, its scores of the blend's pool (its list ranks that pool).
        const blended = scratch.blended.includes(name) ? scratch.sources.get(name) : undefined;
        let raw = blended && (options.strategyCandidates <= rankedDeep || blended.pooled) ? blended.raw : undefined;
        if (!raw) {
          single.clear();
          scoreSingle(fitted.sources.get(name)!, ctx, single);
          raw = single;
        }
        return topSparseCandidates(raw, purchasedMask, options.strategyCandidates);
      });
      return { entry, singles: lists };
    } finally {
      for (const i of purchased) purchasedMask[i] = 0;
    }
  };
}

/**
 * Scores one source alone for a customer into `out`: its `depth` best new items (the hybrid's source
 * depth) and its scores of the customer's purchases wherever they fall, as the blend takes them. One whose
 * ranking is a pass over the catalogue and that can score given items (ALS) is asked for no more new
 * items than the list keeps: the list's new items are the ones its `depth` best would give.
 */
function singleSourceScorer(fitted: FittedModels, options: ServingOptions) {
  const depth = (fitted.hybrid as Partial<HybridRecommender>).config?.sourceDepth ?? 1000;
  const dense = createDenseScratch();
  return (source: Recommender, ctx: UserContext, out: SparseScores) =>
    scoreSparseOf(source, ctx, out, source.scoreSparse && source.scoreCandidates ? Math.min(depth, options.strategyCandidates) : depth, dense);
}

/**
 * Scores one customer's list of a single source (`strategy=<source>`) on request, for versions that do
 * not store them (ServingOptions.strategyLists): the source alone, as a stored list of a source the blend
 * did not weigh for the customer is made. Scratch buffers are kept, so one scorer serves one thread.
 * Null for a customer without purchases of the version's items or a name that is no single strategy.
 */
export function createStrategyScorer(input: Pick<UserScorerInput, 'fitted' | 'options' | 'itemCount'>): (ctx: UserContext, name: string) => Candidates | null {
  const { fitted, options, itemCount } = input;
  const scoreSingle = singleSourceScorer(fitted, options);
  const purchasedMask = new Uint8Array(itemCount);
  const out = new SparseScores(itemCount);
  return (ctx, name) => {
    const source = fitted.sources.get(name);
    if (!source || !singleStrategies([name]).includes(name)) return null;
    const history = ctx.history.filter((h) => h.item >= 0 && h.item < itemCount);
    if (history.length === 0) return null;
    const purchased = Int32Array.from(new Set(history.map((h) => h.item))).sort();
    for (const i of purchased) purchasedMask[i] = 1;
    try {
      out.clear();
      scoreSingle(source, ctx, out);
      return topSparseCandidates(out, purchasedMask, options.strategyCandidates);
    } finally {
      for (const i of purchased) purchasedMask[i] = 0;
    }
  };
}

/** Whether a customer whose latest purchase is at `lastTs` gets a precomputed entry (see ServingOptions.precomputeDays). */
export const isPrecomputed = (options: ServingOptions, now: number, lastTs: number) =>
  options.precomputeDays === null || lastTs >= now - options.precomputeDays * 86_400_000;

/**
 * The per-user entries of a range of users: the users precomputed by `options.precomputeDays`. Each
 * user costs what their sources touch (see HybridRecommender.blendSparse), so the whole build grows
 * with users x history, not users x items. Each user's rows depend on nothing but the user, so chunks
 * of users can be built on separate threads (userRowChunks).
 */
export function buildUserRows(input: UserRowsInput): UserRows {
  // One chunk as large as the range: the whole range's rows, or none when no user has any.
  for (const rows of userRowChunks(input, [{ index: 0, ...input.users }])) return rows;
  return { users: [], strategies: input.singles.map(() => []), chunk: 0 };
}

/** Users per chunk of userRowChunks when a build hands its rows on as it goes: a few MB of rows. */
export const ROWS_CHUNK_USERS = 2000;

/** Consecutive users [from, to), the `index`-th chunk of a build's users. */
export interface UserChunk {
  index: number;
  from: number;
  to: number;
}

/**
 * The rows of each chunk of users as it is taken from `chunks` (chunks without a precomputed user give
 * none), so a caller can write and drop each chunk's rows while the next is built, and threads can take
 * chunks from one shared sequence: together the chunks' rows are exactly buildUserRows' rows.
 */
export function* userRowChunks(input: Omit<UserRowsInput, 'users'>, chunks: Iterable<UserChunk>): Generator<UserRows> {
  const { ds, options, singles } = input;
  const score = createUserScorer({ ...input, itemCount: ds.itemIds.length });
  const index = userEventIndex(ds);
  for (const chunk of chunks) {
    const out: UserRows = { users: [], strategies: singles.map(() => []), chunk: chunk.index };
    for (let u = chunk.from; u < chunk.to; u++) {
      const history = indexedHistory(ds, index, u);
      if (history.length === 0 || !isPrecomputed(options, ds.now, history[history.length - 1].ts)) continue;
      const attributes = ds.userAttributes[u] ?? {};
      const scored = score({ user: u, history, attributes, now: ds.now }, attributes);
      if (scored) {
        out.users.push([ds.userIds[u], encodeUserEntry(scored.entry)]);
        scored.singles.forEach((c, k) => out.strategies[k].push([ds.userIds[u], encodeCandidates(c)]));
      }
    }
    if (out.users.length > 0) yield out;
  }
}
