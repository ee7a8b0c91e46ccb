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
    price !== null && price > 0 ? [`p:${Math.floor(Math.log(price) / Math.log(opts.priceBandRatio))}`] : [];
  const attribute: string[] = [];
  for (const [name, value] of Object.entries(item.attributes ?? {})) {
    if (typeof value === 'string' && value !== '') attribute.push(`a:${name}=${value.trim().toLowerCase()}`);
  }
  return { text, category, price: priceBand, attribute };
}

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
 * null = no band).
 */
export function itemFeatureMatrix(
  items: ItemInfo[],
  prices: (number | null)[],
  opts: ItemFeatureOptions,
): { matrix: SparseRows; featureCount: number } {
  const vocab = new Map<string, number>();
  const df: number[] = [];
  const perItem = items.map((item, i) => {
    const byGroup = rawFeatures(item, prices[i], opts);
    // A price band refines similarity between items that have content; alone it would make an
    // untitled item "similar" to hundreds of unrelated items at the same price.
    if (byGroup.text.length + byGroup.category.length + byGroup.attribute.length === 0) byGroup.price = [];
    const counted: { group: Group; tf: Map<number, number> }[] = [];
    for (const group of GROUPS) {
      if (opts.weights[group] <= 0 || byGroup[group].length === 0) continue;
      const tf = new Map<number, number>();
      for (const name of byGroup[group]) {
        let f = vocab.get(name);
        if (f === undefined) vocab.set(name, (f = df.push(0) - 1));
        tf.set(f, (tf.get(f) ?? 0) + 1);
      }
      for (const f of tf.keys()) df[f]++;
      counted.push({ group, tf });
    }
    return counted;
  });

  const n = items.length;
  const idf = df.map((d) => Math.log((1 + n) / (1 + d)) + 1);
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = indices.length;
    for (const { group, tf } of perItem[i]) {
      const groupStart = indices.length;
      let sq = 0;
      for (const [f, count] of tf) {
        const w = (1 + Math.log(count)) * idf[f];
        indices.push(f);
        values.push(w);
        sq += w * w;
      }
      const scale = opts.weights[group] / Math.sqrt(sq);
      for (let k = groupStart; k < indices.length; k++) values[k] *= scale;
    }
    let sq = 0;
    for (let k = start; k < indices.length; k++) sq += values[k] * values[k];
    const norm = Math.sqrt(sq);
    for (let k = start; k < indices.length; k++) values[k] /= norm;
    indptr[i + 1] = indices.length;
  }
  return {
    matrix: { rows: n, cols: df.length, indptr, indices: Int32Array.from(indices), values: Float32Array.from(values) },
    featureCount: df.length,
  };
}

/** Column-major copy (feature -> items): the inverted index used for cosine accumulation. */
export function transposeRows(m: SparseRows): SparseRows {
  const { indptr, indices, from } = transposeLayout(m);
  return { rows: m.cols, cols: m.rows, indptr, indices, values: Float32Array.from(from, (k) => m.values[k]) };
}
