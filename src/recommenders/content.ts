import { z } from 'zod';
import { decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset, ItemInfo } from './dataset.js';
import { createNeighbourSearch, pushContentNeighbours, type NeighbourSearch } from './content-neighbours.js';
import { itemRemap } from './item-remap.js';
import { NeighbourListBuilder } from './neighbour-lists.js';
import { parseParams } from './parse-params.js';
import type { Neighbour, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import { describeItem, itemFeatureMatrix, PRICE_FEATURE, transposeRows, type FeatureSpace, type SparseRows } from './tfidf.js';
import { packStrings, unpackStrings } from './string-pack.js';
import type { SparseScores } from './sparse-scores.js';
import { TopKHeap } from './top-k-heap.js';

const ARTIFACT = { algorithm: 'content', version: 1 };
const DAY_MS = 86_400_000;

const weightSchema = (fallback: number) => z.number().min(0).max(100).default(fallback);
const paramsSchema = z
  .object({
    /** Neighbours kept per item for `similarItems`. */
    neighbours: z.number().int().min(1).max(1000).default(50),
    /** Half-life of a purchase's weight in the user profile; 0 = no decay. */
    halfLifeDays: z.number().min(0).default(90),
    bigrams: z.boolean().default(true),
    /** Prices within this factor share a band: band = floor(ln(price) / ln(ratio)). */
    priceBandRatio: z.number().gt(1).max(100).default(2),
    weights: z
      .object({ text: weightSchema(1), category: weightSchema(0.7), price: weightSchema(0.3), attribute: weightSchema(0.5) })
      .strict()
      .prefault({}),
  })
  .strict();

export type ContentParams = z.output<typeof paramsSchema>;

/** A fitted content model: L2-normalised TF-IDF item vectors and each item's top-N cosine neighbours. */
interface ContentState {
  params: ContentParams;
  itemIds: string[];
  /** item x feature, rows L2-normalised (empty row: the item has no content). */
  vectors: SparseRows;
  /** Per item, its neighbours (best first) in nbrItems/nbrScores[nbrIndptr[i] .. nbrIndptr[i + 1]). */
  nbrIndptr: Int32Array;
  nbrItems: Int32Array;
  nbrScores: Float32Array;
  /** The vectors' feature space, for items added after training; absent in artifacts written before it was kept. */
  space?: FeatureSpace;
}

/** Per-item median unit price from events: the price band of items the catalog has no price for. */
function eventMedianPrices(ds: Dataset): (number | null)[] {
  const byItem: number[][] = ds.itemIds.map(() => []);
  for (let e = 0; e < ds.eventItem.length; e++) {
    const p = ds.eventPrice[e];
    if (p > 0) byItem[ds.eventItem[e]].push(p);
  }
  return byItem.map((ps) => (ps.length === 0 ? null : ps.sort((a, b) => a - b)[ps.length >> 1]));
}

function topNeighbours(search: NeighbourSearch, item: number, k: number) {
  const heap = new TopKHeap(k);
  pushContentNeighbours(search, item, heap, k);
  return heap.result();
}

/** The content recommender's own abilities beside a Recommender's: items added to the catalog after its fit. */
export interface ContentRecommender extends Recommender {
  /** Whether it kept its feature space (artifacts written before it was kept did not). */
  readonly describesNewItems: boolean;
  /** The k fitted items most like `item` (not among them); null when it cannot describe new items. */
  similarToNewItem(item: ItemInfo, k: number): Neighbour[] | null;
}

export const isContentRecommender = (r: Recommender): r is ContentRecommender => r instanceof ContentModel;

class ContentModel implements ContentRecommender {
  readonly name = 'content';
  private readonly inverted: SparseRows;
  /** Scratch of similarItems beyond the stored neighbours, made on the first such call. */
  private search?: NeighbourSearch;
  /** Feature name -> column, built on the first item added after training. */
  private featureIndex?: Map<string, number>;

  constructor(private readonly s: ContentState) {
    this.inverted = transposeRows(s.vectors);
  }

  /**
   * score(j) = sum over the user's items h of w_h * cos(x_h, x_j), over h itself (cos 1) and its
   * stored top-N content neighbours j, with w_h = sum over h's purchases of 2^(-age / halfLife). This is
   * the profile dot product (profile = recency-weighted sum of purchased item vectors) truncated to
   * each item's nearest neighbours: a user costs history x N, not a pass over the item-feature
   * non-zeros, which grows with the catalogue. Ages are taken from the newest purchase, not `now`:
   * the same ranking, and old histories cannot underflow to zero.
   */
  scoreUser(ctx: UserContext, out: Float32Array): void {
    out.fill(0);
    this.walk(ctx, out.length, (j, v) => (out[j] += v));
  }

  scoreSparse(ctx: UserContext, out: SparseScores): void {
    this.walk(ctx, out.itemCount, (j, v) => out.add(j, v));
  }

  private walk(ctx: UserContext, n: number, add: (item: number, v: number) => void): void {
    const { vectors, nbrIndptr, nbrItems, nbrScores } = this.s;
    const halfLife = this.s.params.halfLifeDays * DAY_MS;
    let newest = -Infinity;
    for (const h of ctx.history) newest = Math.max(newest, h.ts);
    const weight = new Map<number, number>();
    for (const h of ctx.history) {
      if (!(h.item >= 0 && h.item < vectors.rows && h.item < n) || vectors.indptr[h.item] === vectors.indptr[h.item + 1]) continue;
      const w = halfLife > 0 ? Math.pow(2, -(newest - h.ts) / halfLife) : 1;
      if (w > 0) weight.set(h.item, (weight.get(h.item) ?? 0) + w);
    }
    for (const [h, w] of weight) {
      add(h, w);
      for (let p = nbrIndptr[h]; p < nbrIndptr[h + 1]; p++) if (nbrItems[p] < n) add(nbrItems[p], w * nbrScores[p]);
    }
  }

  /** Precomputed top-N neighbours; asking for more than N computes them on the spot (one item is cheap). */
  similarItems(item: number, k: number): Neighbour[] {
    const { nbrIndptr, nbrItems, nbrScores, vectors } = this.s;
    if (item < 0 || item >= vectors.rows) return [];
    const start = nbrIndptr[item];
    const stored = nbrIndptr[item + 1] - start;
    if (k > stored && stored === this.s.params.neighbours) {
      this.search ??= createNeighbourSearch(vectors, this.inverted);
      return topNeighbours(this.search, item, k);
    }
    const out: Neighbour[] = [];
    for (let p = start; p < start + Math.min(k, stored); p++) out.push({ item: nbrItems[p], score: nbrScores[p] });
    return out;
  }

  get describesNewItems(): boolean {
    return this.s.space !== undefined;
  }

  /**
   * The top-k fitted items most similar to an item the model was not fitted on (added to the catalog
   * since), by the cosine of its vector in the fitted feature space (tfidf.ts describeItem) with theirs;
   * null when this fitted copy has no feature space (an artifact from before it was kept).
   */
  similarToNewItem(item: ItemInfo, k: number): Neighbour[] | null {
    const { space, params, vectors } = this.s;
    if (!space) return null;
    this.featureIndex ??= new Map(space.names.map((name, f) => [name, f]));
    const price = item.price !== null && item.price > 0 ? item.price : null;
    const v = describeItem(item, price, params, space, this.featureIndex);
    const heap = new TopKHeap(k);
    const acc = new Map<number, number>();
    // Its only neighbours are these: a price band alone does not make a product page's "similar" item.
    const alike = new Set<number>();
    for (let t = 0; t < v.indices.length; t++) {
      const f = v.indices[t];
      const byPrice = space.names[f].startsWith(PRICE_FEATURE);
      for (let p = this.inverted.indptr[f]; p < this.inverted.indptr[f + 1]; p++) {
        const j = this.inverted.indices[p];
        if (j >= vectors.rows) continue;
        acc.set(j, (acc.get(j) ?? 0) + v.values[t] * this.inverted.values[p]);
        if (!byPrice) alike.add(j);
      }
    }
    for (const j of alike) heap.push(j, acc.get(j)!);
    return heap.result();
  }

  toArtifact(): Uint8Array {
    const { params, itemIds, vectors, nbrIndptr, nbrItems, nbrScores, space } = this.s;
    const names = space && packStrings(space.names);
    return encodeArtifact(
      { ...ARTIFACT, trainedAt: new Date().toISOString(), params, meta: { itemIds, featureCount: vectors.cols, ...(space && { featureItems: space.items }) } },
      {
        indptr: vectors.indptr, indices: vectors.indices, values: vectors.values, nbrIndptr, nbrItems, nbrScores,
        ...(space && names && { featureNameBytes: names.bytes, featureNameOffsets: names.offsets, featureDf: space.df }),
      },
    );
  }
}

function computeNeighbours(vectors: SparseRows, n: number) {
  const search = createNeighbourSearch(vectors, transposeRows(vectors), n);
  const lists = new NeighbourListBuilder(vectors.rows, n);
  const heap = new TopKHeap(n);
  for (let i = 0; i < vectors.rows; i++) {
    pushContentNeighbours(search, i, heap, n);
    lists.add(heap);
  }
  const { indptr, items, scores } = lists.finish();
  return { nbrIndptr: indptr, nbrItems: items, nbrScores: scores };
}

/** Re-indexes a fitted state onto the current item list (items unknown to the model get no content). */
function remapState(s: ContentState, currentIds: readonly string[]): ContentState {
  const map = itemRemap(s.itemIds, currentIds);
  if (!map) return s;
  const toCurrent = new Int32Array(s.itemIds.length).fill(-1);
  map.forEach((fitted, current) => fitted >= 0 && (toCurrent[fitted] = current));
  const rowsOf = (indptr: Int32Array, copy: (from: number, to: number) => boolean) => {
    const out = new Int32Array(map.length + 1);
    for (let i = 0; i < map.length; i++) {
      let len = 0;
      if (map[i] >= 0) for (let k = indptr[map[i]]; k < indptr[map[i] + 1]; k++) if (copy(k, out[i] + len)) len++;
      out[i + 1] = out[i] + len;
    }
    return out;
  };
  const v = s.vectors;
  const indices = new Int32Array(v.indices.length);
  const values = new Float32Array(v.values.length);
  const indptr = rowsOf(v.indptr, (k, to) => ((indices[to] = v.indices[k]), (values[to] = v.values[k]), true));
  const nbrItems = new Int32Array(s.nbrItems.length);
  const nbrScores = new Float32Array(s.nbrScores.length);
  const nbrIndptr = rowsOf(s.nbrIndptr, (k, to) => {
    const j = toCurrent[s.nbrItems[k]];
    if (j < 0) return false;
    nbrItems[to] = j;
    nbrScores[to] = s.nbrScores[k];
    return true;
  });
  return {
    ...s,
    itemIds: [...currentIds],
    vectors: { rows: map.length, cols: v.cols, indptr, indices: indices.slice(0, indptr[map.length]), values: values.slice(0, indptr[map.length]) },
    nbrIndptr,
    nbrItems: nbrItems.slice(0, nbrIndptr[map.length]),
    nbrScores: nbrScores.slice(0, nbrIndptr[map.length]),
  };
}

/**
 * Content-based recommender: TF-IDF over title/description terms, categories, log-price band and
 * string attributes (see tfidf.ts), item-item cosine neighbours, and a recency-weighted user profile.
 * Needs no purchases of an item to recommend it, so it covers new catalog items and anonymous carts.
 */
export const contentFactory: RecommenderFactory<ContentParams> = {
  name: 'content',
  parseParams: (raw) => parseParams('content', paramsSchema, raw),
  fit(ds, params) {
    const fallbackPrices = eventMedianPrices(ds);
    const prices = ds.items.map((item, i) => (item.price !== null && item.price > 0 ? item.price : fallbackPrices[i]));
    const { matrix, space } = itemFeatureMatrix(ds.items, prices, params);
    return new ContentModel({
      params,
      itemIds: [...ds.itemIds],
      vectors: matrix,
      ...computeNeighbours(matrix, params.neighbours),
      space,
    });
  },
  fromArtifact: (bytes, ds) => contentFromArtifact(bytes, ds),
};

/** A fitted content recommender from its artifact, re-indexed onto `ds`'s items (contentFactory.fromArtifact). */
export function contentFromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): ContentRecommender {
  const { header, arrays } = decodeArtifact(bytes, ARTIFACT);
  const meta = header.meta as { itemIds: string[]; featureCount: number; featureItems?: number };
  const indptr = arrays.indptr as Int32Array;
  const state: ContentState = {
    params: paramsSchema.parse(header.params),
    itemIds: meta.itemIds,
    vectors: {
      rows: indptr.length - 1,
      cols: meta.featureCount,
      indptr,
      indices: arrays.indices as Int32Array,
      values: arrays.values as Float32Array,
    },
    nbrIndptr: arrays.nbrIndptr as Int32Array,
    nbrItems: arrays.nbrItems as Int32Array,
    nbrScores: arrays.nbrScores as Float32Array,
    space: featureSpaceOf(meta, arrays),
  };
  return new ContentModel(remapState(state, ds.itemIds));
}

/**
 * The feature space an artifact kept, or undefined when it kept none (written before it was) or one that
 * does not fit its vectors: the recommender then scores as always and only cannot describe new items.
 */
function featureSpaceOf(meta: { featureCount: number; featureItems?: number }, arrays: Record<string, unknown>): FeatureSpace | undefined {
  const df = arrays.featureDf;
  if (meta.featureItems === undefined || !(df instanceof Int32Array) || df.length !== meta.featureCount) return undefined;
  try {
    const names = unpackStrings(arrays.featureNameBytes, arrays.featureNameOffsets, 'content feature names');
    return names.length === df.length ? { names, df, items: meta.featureItems } : undefined;
  } catch {
    return undefined;
  }
}
