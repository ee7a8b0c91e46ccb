import type { ItemInfo } from './dataset.js';
import { transposeLayout } from './interactions.js';
import { bigrams, tokenize } from './tokenize.js';

/** Sparse rows (CSR) of non-negative weights, e.g. item x feature. */
export interface SparseRows {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

/** Relative weight of each feature group in an item vector (0 switches a group off). */
export interface FeatureWeights {
  /** Title and description terms (and bigrams). */
  text: number;
  category: number;
  /** Log-price band. */
  price: number;
  /** String attributes as `name=value`. */
  attribute: number;
}

export interface ItemFeatureOptions {
  weights: FeatureWeights;
  bigrams: boolean;
  /** Each price band spans prices within this factor: band = floor(ln(price) / ln(ratio)). */
  priceBandRatio: number;
}

const GROUPS = ['text', 'category', 'price', 'attribute'] as const;
type Group = (typeof GROUPS)[number];

/** Prefix of the price band's feature names (`p:3`: prices in [ratio^3, ratio^4)). */
export const PRICE_FEATURE = 'p:';

/** Raw features of one item by group; repeated features count as term frequency. */
function rawFeatures(item: ItemInfo, price: number | null, opts: ItemFeatureOptions): Record<Group, string[]> {
  const tokens = [...tokenize(item.title), ...tokenize(item.description)];
  const text = tokens.map((t) => `t:${t}`);
  if (opts.bigrams) {
    // Bigrams within each field: a title's last word and the description's first are not a phrase.
    for (const field of [item.title, item.description]) for (const b of bigrams(tokenize(field))) text.push(`t:${b}`);
  }
  const category = item.categories.map((c) => `c:${c.trim().toLowerCase()}`).filter((c) => c.length > 2);
  const priceBand =
    price !== null && price > 0 ? [`${PRICE_FEATURE}${Math.floor(Math.log(price) / Math.log(opts.priceBandRatio))}`] : [];
  const attribute: string[] = [];
  for (const [name, value] of Object.entries(item.attributes ?? {})) {
    if (typeof value === 'string' && value !== '') attribute.push(`a:${name}=${value.trim().toLowerCase()}`);
  }
  return { text, category, price: priceBand, attribute };
}

/** An item's features by group with their term frequencies; `feature` maps a feature's name to its column. */
function countFeatures(
  item: ItemInfo,
  price: number | null,
  opts: ItemFeatureOptions,
  feature: (name: string) => number,
): { group: Group; tf: Map<number, number> }[] {
  const byGroup = rawFeatures(item, price, opts);
  // A price band refines similarity between items that have content; alone it would make an
  // untitled item "similar" to hundreds of unrelated items at the same price.
  if (byGroup.text.length + byGroup.category.length + byGroup.attribute.length === 0) byGroup.price = [];
  const counted: { group: Group; tf: Map<number, number> }[] = [];
  for (const group of GROUPS) {
    if (opts.weights[group] <= 0 || byGroup[group].length === 0) continue;
    const tf = new Map<number, number>();
    for (const name of byGroup[group]) {
      const f = feature(name);
      tf.set(f, (tf.get(f) ?? 0) + 1);
    }
    counted.push({ group, tf });
  }
  return counted;
}

/**
 * The weighted, L2-normalised vector of one item's counted features, appended to `indices`/`values`
 * (see itemFeatureMatrix for the weighting).
 */
function appendWeighted(
  counted: readonly { group: Group; tf: Map<number, number> }[],
  idfOf: (f: number) => number,
  weights: FeatureWeights,
  indices: number[],
  values: number[],
): void {
  const start = indices.length;
  for (const { group, tf } of counted) {
    const groupStart = indices.length;
    let sq = 0;
    for (const [f, count] of tf) {
      const w = (1 + Math.log(count)) * idfOf(f);
      indices.push(f);
      values.push(w);
      sq += w * w;
    }
    const scale = weights[group] / Math.sqrt(sq);
    for (let k = groupStart; k < indices.length; k++) values[k] *= scale;
  }
  let sq = 0;
  for (let k = start; k < indices.length; k++) sq += values[k] * values[k];
  const norm = Math.sqrt(sq);
  for (let k = start; k < indices.length; k++) values[k] /= norm;
}

/** Smoothed idf of a feature that `df` of `n` items have. */
const idfOf = (n: number, df: number) => Math.log((1 + n) / (1 + df)) + 1;

/**
 * L2-normalised TF-IDF item vectors over all feature groups.
 *
 *   w(i, f) = (1 + ln tf(i, f)) * (ln((1 + N) / (1 + df(f))) + 1)      (sublinear tf, smoothed idf)
 *
 * Each group's part of the vector is L2-normalised and scaled by the group's weight, then the whole
 * vector is L2-normalised. So the cosine of two items is sum_g W_g^2 cos_g / (norms), and a group's
 * weight means the same whether an item has 2 title words or 20; single-feature groups (price band,
 * one category) contribute exactly their weight regardless of idf.
 * `prices[i]` is the price that sets item i's band (the catalog price or a fallback the caller chose;
 * null = no band). Also returns the feature space (each column's name and idf), with which
 * `describeItem` gives an item that was not among `items` its vector in the same space.
 */
export function itemFeatureMatrix(
  items: ItemInfo[],
  prices: (number | null)[],
  opts: ItemFeatureOptions,
): { matrix: SparseRows; featureCount: number; space: FeatureSpace } {
  const vocab = new Map<string, number>();
  const names: string[] = [];
  const df: number[] = [];
  const feature = (name: string) => {
    let f = vocab.get(name);
    if (f === undefined) {
      vocab.set(name, (f = df.push(0) - 1));
      names.push(name);
    }
    return f;
  };
  const perItem = items.map((item, i) => {
    const counted = countFeatures(item, prices[i], opts, feature);
    for (const { tf } of counted) for (const f of tf.keys()) df[f]++;
    return counted;
  });

  const n = items.length;
  const idf = df.map((d) => idfOf(n, d));
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    appendWeighted(perItem[i], (f) => idf[f], opts.weights, indices, values);
    indptr[i + 1] = indices.length;
  }
  return {
    matrix: { rows: n, cols: df.length, indptr, indices: Int32Array.from(indices), values: Float32Array.from(values) },
    featureCount: df.length,
    space: { names, df: Int32Array.from(df), items: n },
  };
}

/** The feature space of a fitted item-feature matrix: column f is `names[f]`, which `df[f]` of its `items` items have. */
export interface FeatureSpace {
  names: readonly string[];
  df: Int32Array;
  items: number;
}

/**
 * The vector of an item outside the fitted matrix (added to the catalog after training) in its feature
 * space, weighted as if it had been one more item: a feature no fitted item has gets the idf of a feature
 * of one item, and counts in the vector's norm, but is left out of the result (no fitted item shares it).
 * `index` maps a feature's name to its column (built once from `space.names`).
 */
export function describeItem(
  item: ItemInfo,
  price: number | null,
  opts: ItemFeatureOptions,
  space: FeatureSpace,
  index: ReadonlyMap<string, number>,
): { indices: Int32Array; values: Float32Array } {
  // Features the space lacks get negative columns, kept apart until the norm is taken.
  const unseen = new Map<string, number>();
  const counted = countFeatures(item, price, opts, (name) => index.get(name) ?? unseen.get(name) ?? (unseen.set(name, -1 - unseen.size), -unseen.size));
  const n = space.items + 1;
  const indices: number[] = [];
  const values: number[] = [];
  // One more item: this one has each of its features once more than the fitted ones did.
  appendWeighted(counted, (f) => idfOf(n, f < 0 ? 1 : space.df[f] + 1), opts.weights, indices, values);
  const keep = indices.flatMap((f, k) => (f >= 0 ? [k] : []));
  return { indices: Int32Array.from(keep, (k) => indices[k]), values: Float32Array.from(keep, (k) => values[k]) };
}

/** Column-major copy (feature -> items): the inverted index used for cosine accumulation. */
export function transposeRows(m: SparseRows): SparseRows {
  const { indptr, indices, from } = transposeLayout(m);
  // A plain loop: Float32Array.from with a map function took several times as long, on the event loop
  // of every process readying a version (content's constructor; bench/scorer-load.ts).
  const values = new Float32Array(from.length);
  for (let p = 0; p < from.length; p++) values[p] = m.values[from[p]];
  return { rows: m.cols, cols: m.rows, indptr, indices, values };
}
