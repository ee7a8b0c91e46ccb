import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { AnswerCache } from './answer-cache.js';
import type { NewItemDescriber } from './new-item-neighbours.js';
import type { NewItemRecords } from './new-item-records.js';
import type { OnRequestScorer } from './on-request-scorer.js';
import { EntryCache } from './entry-cache.js';
import {
  ARTIFACT_ITEMS,
  ARTIFACT_NEIGHBOURS,
  ARTIFACT_POPULAR,
  decodeItemsArtifact,
  decodeNeighboursArtifact,
  decodePopularArtifact,
  type ItemTable,
  type NeighbourTable,
  type PopularTable,
  type ServingModelInfo,
} from './serving-artifacts.js';

/** One model version, decoded for serving: kept in process memory for as long as the version is active. */
export interface ServingModel {
  meta: ModelMeta;
  info: ServingModelInfo;
  items: ItemTable;
  neighbours: Map<string, NeighbourTable>;
  popular: PopularTable;
  /** `name\0value` -> index into popular.segments. */
  segmentIndex: Map<string, number>;
  /** Source-name lists by hybrid source mask and dominant source, built on first use so responses share them. */
  sourceSets: Map<number, readonly string[]>;
  /** Decoded per-user entries of this version read so far (immutable, so cacheable), keyed by table and user. */
  entries: EntryCache<unknown>;
  /** Finished answers of this version, cleared when the catalog overlay changes an item. */
  answers: AnswerCache;
  /** This version's scorer of customers it has no entry for, loaded on first need (see on-request-scorer.ts). */
  onRequest?: Promise<OnRequestScorer | null>;
  /** This version's content source, to place items added after training among its items; loaded on first need (see new-item-neighbours.ts). */
  newItems?: Promise<NewItemDescriber | null>;
  /** Catalog records of products added after training that carts named, kept until they change (new-item-records.ts). */
  newItemRecords?: NewItemRecords;
  /** Erasures seen by this version's caches: a computation that spans one keeps nothing. */
  erasures: number;
  /**
   * Customers erased while this process served this version: it knows nothing of them any more (their
   * entries and recommender rows are scrubbed), so they are answered as customers it never saw, with a
   * cold start, and never scored on request. A training after the erasure knows them again if they came back.
   */
  erased: Set<string>;
  /** Which of this version's sources serves each recommender family's neighbours (familySource), resolved on first use. */
  families?: FamilySources;
}

/** Default bound of the per-version entry cache: the full Online Retail users table takes ~16 MB. */
export const DEFAULT_ENTRY_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * The names behind a hybrid candidate's source mask (bit k = info.hybridSources[k]), the dominant source
 * (index `dominant`, the one that put the item on the list) first, the others in recipe order.
 */
export function sourcesOfMask(model: ServingModel, mask: number, dominant = -1): readonly string[] {
  const key = (mask >>> 0) + (dominant + 1) * 2 ** 32;
  let names = model.sourceSets.get(key);
  if (!names) {
    const all = model.info.hybridSources;
    const rest = all.filter((_, k) => k !== dominant && mask & (1 << k));
    model.sourceSets.set(key, (names = dominant >= 0 && dominant < all.length ? [all[dominant], ...rest] : rest));
  }
  return names;
}

export const segmentKey = (name: string, value: string) => `${name}\u0000${value}`;

/** What serving reads of the recipe a version was trained with (kept in its metadata). */
export interface TrainedRecipe {
  sources?: Record<string, { recommender?: string }>;
}

/** The recipe a version was trained with, from its metadata ({} when it kept none). */
export const trainedRecipe = (model: ServingModel): TrainedRecipe => ((model.meta.info as { recipe?: TrainedRecipe } | undefined)?.recipe ?? {});

/** The recommender family of one of a version's sources: the recipe's `recommender`, else the source's name. */
export const familyOf = (model: ServingModel, source: string): string => trainedRecipe(model).sources?.[source]?.recommender ?? source;

/** A version's family -> source resolution, and family-keyed weights resolved through it (by weights object). */
interface FamilySources {
  byFamily: ReadonlyMap<string, string>;
  /** Weak: a caller passing a new object each time costs a resolution, not a growing map. */
  weights: WeakMap<object, readonly WeightedSource[]>;
}

/** One family of a family-keyed weighting, with the version's source that serves it. */
export interface WeightedSource {
  family: string;
  source: string;
  weight: number;
}

function familySources(model: ServingModel): FamilySources {
  if (model.families) return model.families;
  const byFamily = new Map<string, string>();
  // Recipe order first; then any source with neighbour lists the kept recipe does not name (a version without one).
  for (const name of new Set([...Object.keys(trainedRecipe(model).sources ?? {}), ...model.neighbours.keys()])) {
    if (!model.neighbours.has(name)) continue;
    const family = familyOf(model, name);
    if (family === name || !byFamily.has(family)) byFamily.set(family, name);
  }
  return (model.families = { byFamily, weights: new WeakMap() });
}

/**
 * The source whose stored neighbour lists stand for recommender `family` (a registry name: `item-knn`,
 * `cooccurrence`, `content`, `als`, ...) wherever serving reads neighbours by what they are (live
 * blending, cart lists, similar items, bought-together, diversity): the source named as the family when
 * it is of that family, else the first source of the family in recipe order that has neighbour lists;
 * undefined when none has. One source per family, so a recipe with two of one family does not count
 * that family twice. Resolved once per version (a recipe names its sources freely; their families are
 * in the version's recipe).
 */
export const familySource = (model: ServingModel, family: string): string | undefined => familySources(model).byFamily.get(family);

/**
 * Family-keyed weights (e.g. `{ 'item-knn': 1, content: 0.3 }`) as the version's sources that serve
 * those families, in the weights' order, families the version lacks left out. Cached per version and
 * weights object: pass a constant.
 */
export function weightedSources(model: ServingModel, weights: Readonly<Record<string, number>>): readonly WeightedSource[] {
  const f = familySources(model);
  let out = f.weights.get(weights);
  if (!out) {
    out = Object.entries(weights).flatMap(([family, weight]) => {
      const source = f.byFamily.get(family);
      return source === undefined ? [] : [{ family, source, weight }];
    });
    f.weights.set(weights, out);
  }
  return out;
}

/** Decodes the three serving artifacts of a version (throws ArtifactFormatError on damaged bytes). */
export function decodeServingModel(
  meta: ModelMeta,
  bytes: { items: Uint8Array; neighbours: Uint8Array; popular: Uint8Array },
  opts: { entryCacheBytes?: number; answerCacheBytes?: number } = {},
): ServingModel {
  const { info, items } = decodeItemsArtifact(bytes.items);
  const n = items.ids.length;
  const popular = decodePopularArtifact(bytes.popular, n);
  const segmentIndex = new Map<string, number>();
  popular.segments.forEach((s, k) => segmentIndex.set(segmentKey(s.name, s.value), k));
  return { meta, info, items, neighbours: decodeNeighboursArtifact(bytes.neighbours, n), popular, segmentIndex, sourceSets: new Map(),
    entries: new EntryCache(opts.entryCacheBytes ?? DEFAULT_ENTRY_CACHE_BYTES),
    answers: new AnswerCache(opts.answerCacheBytes),
    erasures: 0,
    erased: new Set(),
  };
}

/**
 * Reads and decodes a version's serving artifacts from the store: three reads, once per version.
 * Null when the version has no serving model (e.g. it was published without one).
 */
export async function loadServingModel(
  store: ModelStore,
  meta: ModelMeta,
  opts: { entryCacheBytes?: number; answerCacheBytes?: number } = {},
): Promise<ServingModel | null> {
  const [items, neighbours, popular] = await Promise.all(
    [ARTIFACT_ITEMS, ARTIFACT_NEIGHBOURS, ARTIFACT_POPULAR].map((name) => store.getArtifact(meta.version, name)),
  );
  if (!items || !neighbours || !popular) return null;
  return decodeServingModel(meta, { items, neighbours, popular }, opts);
}
