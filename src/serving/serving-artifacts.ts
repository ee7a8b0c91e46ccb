/**
 * The per-version artifacts of a serving model (artifact.ts format), decoded once per version:
 *   serving-items       item table: ids, titles, availability, price, categories; plus the model's strategies
 *   serving-neighbours  per item-based source, each item's top neighbours (co-occurrence with its statistics)
 *   serving-popular     popularity score and rank of every item, and top lists per user-attribute value
 * Per-user candidates are keyed table entries instead (see user-entry.ts).
 */
import { ArtifactFormatError, artifactLayout, decodeArtifact, encodeArtifact, type ArtifactRangeReader, type TypedArray } from '../recommenders/artifact.js';
import { indicesBelow } from '../recommenders/neighbour-lists.js';
import { packStrings, unpackStrings } from '../recommenders/string-pack.js';
import { PackedIdIndex } from './packed-id-index.js';

export const ARTIFACT_ITEMS = 'serving-items';
export const ARTIFACT_NEIGHBOURS = 'serving-neighbours';
export const ARTIFACT_POPULAR = 'serving-popular';
/** The training's user ids in model index order: serving's way to a customer's trained factors. */
export const ARTIFACT_USER_IDS = 'serving-user-ids';

const USER_IDS = { algorithm: ARTIFACT_USER_IDS, version: 1 };

export function encodeUserIdsArtifact(ids: readonly string[]): Uint8Array {
  const { bytes, offsets } = packStrings(ids);
  return encodeArtifact({ ...USER_IDS, trainedAt: new Date().toISOString() }, { bytes, offsets });
}

export function decodeUserIdsArtifact(bytes: Uint8Array): string[] {
  const { arrays } = decodeArtifact(bytes, USER_IDS);
  return unpackStrings(arrays.bytes, arrays.offsets, 'user ids artifact');
}

/**
 * The ids at some positions (`rows`) of a stored user index, from ranged reads: its header, then two offsets and
 * the id's bytes per position, not the whole index (1.1 MB at 100,000 customers). '' where an erasure blanked the
 * id (user-erasure.ts), null for a position past its end; null altogether when the artifact is not there.
 */
export async function userIdsAt(read: ArtifactRangeReader, rows: readonly number[]): Promise<(string | null)[] | null> {
  const layout = await artifactLayout(read);
  if (!layout) return null;
  if (layout.header.algorithm !== USER_IDS.algorithm) throw new ArtifactFormatError(`expected ${USER_IDS.algorithm}, got ${layout.header.algorithm}`);
  const offsetsAt = layout.arrays.get('offsets');
  const bytesAt = layout.arrays.get('bytes');
  if (offsetsAt?.type !== 'u32' || bytesAt?.type !== 'u8') throw new ArtifactFormatError('user ids artifact: missing string arrays');
  const decoder = new TextDecoder();
  return Promise.all(
    rows.map(async (row) => {
      if (!(Number.isInteger(row) && row >= 0 && row + 1 < offsetsAt.length)) return null;
      const span = await read(offsetsAt.offset + row * 4, offsetsAt.offset + row * 4 + 8);
      if (!span || span.byteLength < 8) return null;
      const [from, to] = new Uint32Array(span.slice().buffer, 0, 2);
      if (!(from <= to && to <= bytesAt.length)) throw new ArtifactFormatError('user ids artifact: bad string offsets');
      if (to === from) return '';
      const id = await read(bytesAt.offset + from, bytesAt.offset + to);
      return id ? decoder.decode(id) : null;
    }),
  );
}

/**
 * The user ids artifact as an index of rows by id, over its packed bytes (packed-id-index.ts): no string
 * per customer is made. Empty: the caller adds the rows (a part per turn, if it must not hold the thread).
 */
export function userIdsIndex(bytes: Uint8Array): PackedIdIndex {
  const { arrays } = decodeArtifact(bytes, USER_IDS, { share: true });
  const { offsets, bytes: packed } = arrays;
  if (!(offsets instanceof Uint32Array) || offsets.length === 0 || !(packed instanceof Uint8Array)) throw new ArtifactFormatError('user ids artifact: missing string arrays');
  for (let k = 0; k + 1 < offsets.length; k++) {
    if (offsets[k] > offsets[k + 1] || offsets[k + 1] > packed.length) throw new ArtifactFormatError('user ids artifact: bad string offsets');
  }
  return new PackedIdIndex(packed, offsets);
}

/** What a model version offers, stored in the items artifact's header. */
export interface ServingModelInfo {
  /** `hybrid` first, then every fitted source; each is a valid `strategy` of user recommendations. */
  strategies: string[];
  /** Sources whose bits the hybrid candidates' `sourceMask` uses (bit k = hybridSources[k]). */
  hybridSources: string[];
  /** Candidates kept per user for the hybrid. */
  candidates: number;
  /** The training data's reference time (latest event, epoch ms): live events after it are news. */
  now: number;
  /** Sources of a family that scores only the customer's own items (own-item-sources.ts); absent in models trained before it. */
  ownItemSources?: string[];
  /**
   * Sources of the popularity family that are not trends, and those that are (popularity-sources.ts),
   * whatever the recipe named them; absent in models trained before they were kept.
   */
  popularitySources?: string[];
  trendSources?: string[];
  /**
   * Whether the lists of single strategies are stored per customer or scored on request
   * (ServingOptions.strategyLists); absent in models trained before the choice, which store them.
   */
  strategyLists?: 'stored' | 'on-request';
}

export interface ItemTable {
  ids: string[];
  index: Map<string, number>;
  titles: string[];
  /**
   * 1 = may be recommended. Patched in place by the catalog overlay when the catalog changes after
   * training (see catalog-overlay.ts), together with price and categories.
   */
  available: Uint8Array;
  /** Unit price, NaN when unknown (an unknown price never passes a price filter). */
  price: Float64Array;
  categories: string[][];
  /**
   * The items' product groups (sizes and colours of one style): absent while no item has one (a version trained
   * before groups were kept, or a catalogue without them). Patched by the catalog overlay too.
   */
  groups?: ItemGroups;
}

/** Product groups of an item table: each item's group number, -1 for an item that is a group of its own. */
export interface ItemGroups {
  of: Int32Array;
  /** Group ids by number; the overlay appends groups first seen after training. */
  ids: string[];
  index: Map<string, number>;
  /**
   * Per item, 1 when it shows its training-time group to the sources that learnt per group (grouped-recommender.ts:
   * the group's score is on it alone). Absent when no source learnt per group. Never patched by the overlay.
   */
  shows?: Uint8Array;
  /** Each item's group number at training (a copy the overlay never patches); present with `shows`. */
  trained?: Int32Array;
  /** The items of each group number as the catalogue has them now: built on first need, dropped by the overlay when it regroups. */
  members?: Map<number, number[]>;
}

/** The groups of items given each item's group id (null: none); undefined when no item has one. */
export function itemGroupsOf(groupIds: readonly (string | null | undefined)[]): ItemGroups | undefined {
  if (!groupIds.some((g) => g)) return undefined;
  const ids: string[] = [];
  const index = new Map<string, number>();
  const of = Int32Array.from(groupIds, (g) => {
    if (!g) return -1;
    let k = index.get(g);
    if (k === undefined) index.set(g, (k = ids.push(g) - 1));
    return k;
  });
  return { of, ids, index };
}

/** An item's top neighbours, best first: items[indptr[i] .. indptr[i + 1]). */
export interface NeighbourTable {
  indptr: Int32Array;
  items: Int32Array;
  scores: Float32Array;
  /** Co-occurrence only: orders with both items (plus weighted view/cart sessions), P(b|a), lift; aligned with items. */
  support?: Float32Array;
  confidence?: Float32Array;
  lift?: Float32Array;
}

export interface PopularSegment {
  name: string;
  value: string;
  buyers: number;
  /**
   * The global list's part of `scores` (the segment's list is shrunk towards the global one: score = this x
   * the item's global score + the segment's own part). Absent in versions trained before it was kept.
   */
  globalPart?: number;
  items: Int32Array;
  scores: Float32Array;
}

export interface PopularTable {
  /** Global popularity per item. */
  score: Float32Array;
  /** Every item, most popular first (never-bought items last), so backfill can always reach k. */
  order: Int32Array;
  segments: PopularSegment[];
  /**
   * The popularity source's `attributes` in the recipe's order: a customer's segment is their value of the
   * first of them with a segment (findSegment). Absent in versions trained before it was kept, and
   * without a popularity source.
   */
  attributes?: string[];
  /**
   * The popularity source's `minSegmentBuyers`: the fewest buyers an attribute value has for a list of its own.
   * The lists Postgres counts (db-popularity.ts) hold back smaller values by it too. Absent in versions trained
   * before it was kept, and without a popularity source (DEFAULT_MIN_SEGMENT_BUYERS then).
   */
  minSegmentBuyers?: number;
}

const ITEMS = { algorithm: ARTIFACT_ITEMS, version: 1 };
const NEIGHBOURS = { algorithm: ARTIFACT_NEIGHBOURS, version: 1 };
const POPULAR = { algorithm: ARTIFACT_POPULAR, version: 1 };

export function encodeItemsArtifact(info: ServingModelInfo, items: Omit<ItemTable, 'index'>): Uint8Array {
  const ids = packStrings(items.ids);
  const titles = packStrings(items.titles);
  const vocabulary: string[] = [];
  const vocabIndex = new Map<string, number>();
  const catPtr = new Uint32Array(items.ids.length + 1);
  const catIds: number[] = [];
  items.categories.forEach((cats, i) => {
    for (const c of cats) {
      let id = vocabIndex.get(c);
      if (id === undefined) vocabIndex.set(c, (id = vocabulary.push(c) - 1));
      catIds.push(id);
    }
    catPtr[i + 1] = catIds.length;
  });
  const vocab = packStrings(vocabulary);
  // Only a catalogue with groups stores them; a version without reads as one without groups.
  const groups = items.groups ? packStrings(items.groups.ids) : undefined;
  return encodeArtifact(
    { ...ITEMS, trainedAt: new Date().toISOString(), meta: { ...info } },
    {
      idBytes: ids.bytes,
      idOffsets: ids.offsets,
      titleBytes: titles.bytes,
      titleOffsets: titles.offsets,
      available: items.available,
      price: items.price,
      catPtr,
      catIds: Uint32Array.from(catIds),
      catBytes: vocab.bytes,
      catOffsets: vocab.offsets,
      ...(items.groups && groups ? { groupOf: items.groups.of, groupBytes: groups.bytes, groupOffsets: groups.offsets } : {}),
      // Only where a source learnt per group: a version without reads as one whose scores are per product.
      ...(items.groups?.shows ? { groupShows: items.groups.shows } : {}),
    },
  );
}

export function decodeItemsArtifact(bytes: Uint8Array): { info: ServingModelInfo; items: ItemTable } {
  const { header, arrays } = decodeArtifact(bytes, ITEMS);
  const info = header.meta as unknown as ServingModelInfo;
  if (!Array.isArray(info?.strategies) || !Array.isArray(info.hybridSources)) throw new ArtifactFormatError('serving-items: bad header');
  const ids = unpackStrings(arrays.idBytes, arrays.idOffsets, 'serving-items ids');
  const titles = unpackStrings(arrays.titleBytes, arrays.titleOffsets, 'serving-items titles');
  const vocab = unpackStrings(arrays.catBytes, arrays.catOffsets, 'serving-items categories');
  const { available, price, catPtr, catIds } = arrays;
  const n = ids.length;
  if (
    !(available instanceof Uint8Array && price instanceof Float64Array && catPtr instanceof Uint32Array && catIds instanceof Uint32Array) ||
    titles.length !== n ||
    available.length !== n ||
    price.length !== n ||
    catPtr.length !== n + 1 ||
    catPtr[n] !== catIds.length
  ) {
    throw new ArtifactFormatError('serving-items: arrays do not match the item count');
  }
  const categories: string[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const list: string[] = [];
    for (let p = catPtr[i]; p < catPtr[i + 1]; p++) list.push(vocab[catIds[p]]);
    categories[i] = list;
  }
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  const groups = decodeGroups(arrays, n);
  return { info, items: { ids, index, titles, available, price, categories, ...(groups ? { groups } : {}) } };
}

function decodeGroups(arrays: Record<string, TypedArray>, n: number): ItemGroups | undefined {
  const { groupOf, groupBytes, groupOffsets, groupShows } = arrays;
  if (groupOf === undefined) return undefined;
  const ids = unpackStrings(groupBytes, groupOffsets, 'serving-items groups');
  if (!(groupOf instanceof Int32Array) || groupOf.length !== n || !groupOf.every((g) => g >= -1 && g < ids.length)) {
    throw new ArtifactFormatError('serving-items: groups do not match the item count');
  }
  if (groupShows !== undefined && !(groupShows instanceof Uint8Array && groupShows.length === n)) {
    throw new ArtifactFormatError('serving-items: group shows do not match the item count');
  }
  const index = new Map<string, number>();
  ids.forEach((id, k) => index.set(id, k));
  // Decoded as a copy of the bytes (not shared): the overlay may patch it; `trained` is a copy it never does.
  return { of: groupOf, ids, index, ...(groupShows ? { shows: groupShows, trained: groupOf.slice() } : {}) };
}

export function encodeNeighboursArtifact(tables: ReadonlyMap<string, NeighbourTable>): Uint8Array {
  const arrays: Record<string, TypedArray> = {};
  for (const [name, t] of tables) {
    arrays[`${name}:indptr`] = t.indptr;
    arrays[`${name}:items`] = t.items;
    arrays[`${name}:scores`] = t.scores;
    if (t.support && t.confidence && t.lift) {
      arrays[`${name}:support`] = t.support;
      arrays[`${name}:confidence`] = t.confidence;
      arrays[`${name}:lift`] = t.lift;
    }
  }
  return encodeArtifact({ ...NEIGHBOURS, trainedAt: new Date().toISOString(), meta: { sources: [...tables.keys()] } }, arrays);
}

/**
 * The tables are views of `bytes` where aligned (a store read, not written to; 37 MB at 30,000 products,
 * whose copy held the event loop while a version was readied beside the one answering).
 */
export function decodeNeighboursArtifact(bytes: Uint8Array, itemCount: number): Map<string, NeighbourTable> {
  const { header, arrays } = decodeArtifact(bytes, NEIGHBOURS, { share: true });
  const sources = (header.meta as { sources?: unknown })?.sources;
  if (!Array.isArray(sources)) throw new ArtifactFormatError('serving-neighbours: bad header');
  const out = new Map<string, NeighbourTable>();
  for (const name of sources as string[]) {
    const indptr = arrays[`${name}:indptr`];
    const items = arrays[`${name}:items`];
    const scores = arrays[`${name}:scores`];
    if (
      !(indptr instanceof Int32Array && items instanceof Int32Array && scores instanceof Float32Array) ||
      indptr.length !== itemCount + 1 ||
      indptr[itemCount] !== items.length ||
      scores.length !== items.length ||
      !indicesBelow(items, itemCount)
    ) {
      throw new ArtifactFormatError(`serving-neighbours: ${name} lists do not match ${itemCount} items`);
    }
    const table: NeighbourTable = { indptr, items, scores };
    const { [`${name}:support`]: stored, [`${name}:confidence`]: confidence, [`${name}:lift`]: lift } = arrays;
    // Models trained before views and carts stored whole order counts as int32.
    const support = stored instanceof Int32Array ? Float32Array.from(stored) : stored;
    if (support instanceof Float32Array && confidence instanceof Float32Array && lift instanceof Float32Array) {
      if (support.length !== items.length || confidence.length !== items.length || lift.length !== items.length) {
        throw new ArtifactFormatError(`serving-neighbours: ${name} statistics do not match its lists`);
      }
      Object.assign(table, { support, confidence, lift });
    }
    out.set(name, table);
  }
  return out;
}

export function encodePopularArtifact(table: PopularTable): Uint8Array {
  const segPtr = new Int32Array(table.segments.length + 1);
  table.segments.forEach((s, k) => (segPtr[k + 1] = segPtr[k] + s.items.length));
  const segItems = new Int32Array(segPtr[table.segments.length]);
  const segScores = new Float32Array(segItems.length);
  table.segments.forEach((s, k) => {
    segItems.set(s.items, segPtr[k]);
    segScores.set(s.scores, segPtr[k]);
  });
  return encodeArtifact(
    {
      ...POPULAR,
      trainedAt: new Date().toISOString(),
      meta: {
        segments: table.segments.map(({ name, value, buyers, globalPart }) => ({ name, value, buyers, ...(globalPart === undefined ? {} : { globalPart }) })),
        ...(table.attributes ? { attributes: table.attributes } : {}),
        ...(table.minSegmentBuyers !== undefined ? { minSegmentBuyers: table.minSegmentBuyers } : {}),
      },
    },
    { score: table.score, order: table.order, segPtr, segItems, segScores },
  );
}

export function decodePopularArtifact(bytes: Uint8Array, itemCount: number): PopularTable {
  const { header, arrays } = decodeArtifact(bytes, POPULAR);
  const meta = header.meta as { segments?: { name: string; value: string; buyers: number; globalPart?: unknown }[]; attributes?: unknown; minSegmentBuyers?: unknown };
  const { score, order, segPtr, segItems, segScores } = arrays;
  if (
    !Array.isArray(meta?.segments) ||
    !(score instanceof Float32Array && order instanceof Int32Array && segPtr instanceof Int32Array) ||
    !(segItems instanceof Int32Array && segScores instanceof Float32Array) ||
    score.length !== itemCount ||
    order.length !== itemCount ||
    segPtr.length !== meta.segments.length + 1 ||
    segPtr[meta.segments.length] !== segItems.length ||
    !segItems.every((i) => i >= 0 && i < itemCount)
  ) {
    throw new ArtifactFormatError('serving-popular: arrays do not match the header');
  }
  const { attributes } = meta;
  if (attributes !== undefined && !(Array.isArray(attributes) && attributes.every((a) => typeof a === 'string'))) {
    throw new ArtifactFormatError('serving-popular: bad attributes');
  }
  const segments = meta.segments.map(({ globalPart, ...s }, k) => ({
    ...s,
    ...(typeof globalPart === 'number' && globalPart >= 0 && globalPart <= 1 ? { globalPart } : {}),
    items: segItems.subarray(segPtr[k], segPtr[k + 1]),
    scores: segScores.subarray(segPtr[k], segPtr[k + 1]),
  }));
  const { minSegmentBuyers } = meta;
  if (minSegmentBuyers !== undefined && !(Number.isInteger(minSegmentBuyers) && (minSegmentBuyers as number) >= 1)) {
    throw new ArtifactFormatError('serving-popular: bad minSegmentBuyers');
  }
  return { score, order, segments, ...(attributes ? { attributes: attributes as string[] } : {}), ...(minSegmentBuyers !== undefined ? { minSegmentBuyers: minSegmentBuyers as number } : {}) };
}
