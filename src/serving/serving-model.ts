import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { AnswerCache } from './answer-cache.js';
import type { NewItemDescriber } from './new-item-neighbours.js';
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
  /** Erasures seen by this version's caches: a computation that spans one keeps nothing. */
  erasures: number;
  /**
   * Customers erased while this process served this version: it knows nothing of them any more (their
   * entries and recommender rows are scrubbed), so they are answered as customers it never saw, with a
   * cold start, and never scored on request. A training after the erasure knows them again if they came back.
   */
  erased: Set<string>;
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
