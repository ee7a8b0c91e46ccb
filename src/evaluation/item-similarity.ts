import type { Dataset } from '../recommenders/dataset.js';
import { itemFeatureMatrix } from '../recommenders/tfidf.js';

/**
 * Content similarity of two items for intra-list diversity: the cosine of their TF-IDF vectors over
 * title/description terms and categories (price and attributes left out: two mugs at different prices
 * are still two mugs). Rows are sorted so a pair costs one merge of two short rows.
 */
export function contentSimilarity(ds: Pick<Dataset, 'items'>): (a: number, b: number) => number {
  const { matrix } = itemFeatureMatrix(
    ds.items,
    ds.items.map(() => null),
    { weights: { text: 1, category: 1, price: 0, attribute: 0 }, bigrams: false, priceBandRatio: 2 },
  );
  const rows = Array.from({ length: matrix.rows }, (_, i) => {
    const order = [];
    for (let k = matrix.indptr[i]; k < matrix.indptr[i + 1]; k++) order.push(k);
    order.sort((x, y) => matrix.indices[x] - matrix.indices[y]);
    return { idx: Int32Array.from(order, (k) => matrix.indices[k]), val: Float32Array.from(order, (k) => matrix.values[k]) };
  });
  return (a, b) => {
    const ra = rows[a];
    const rb = rows[b];
    let dot = 0;
    for (let i = 0, j = 0; i < ra.idx.length && j < rb.idx.length; ) {
      if (ra.idx[i] === rb.idx[j]) dot += ra.val[i++] * rb.val[j++];
      else if (ra.idx[i] < rb.idx[j]) i++;
      else j++;
    }
    return Math.min(1, Math.max(0, dot));
  };
}
