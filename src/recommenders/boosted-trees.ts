/**
 * Gradient-boosted regression trees for a 0/1 label under the logistic loss (Friedman 2001), with
 * second-order leaf values and split gains as in XGBoost (Chen & Guestrin 2016). Every tree has the
 * same depth and is stored complete: node i splits to 2i + 1 (x <= threshold) and 2i + 2, and a node
 * with no useful split sends every row left (threshold +Infinity). Splits are searched over at most
 * `bins` quantile cut points per feature, so a fit costs rows x features per level, not a sort.
 */
export interface BoostParams {
  /** Trees added one after another. */
  trees: number;
  /** Levels of splits per tree (2^depth leaves). */
  depth: number;
  /** Shrinkage of each tree's leaf values. */
  learningRate: number;
  /** L2 penalty on leaf values (lambda in G^2 / (H + lambda)). */
  l2: number;
  /** Least sum of p(1 - p) on each side of a split, so a leaf is not fitted to a handful of rows. */
  minChildWeight: number;
  /** Most cut points searched per feature. */
  bins: number;
}

export interface BoostedTrees {
  /** Features per row. */
  width: number;
  depth: number;
  /** The margin every row starts from: the log-odds of the labels. */
  base: number;
  /** Per tree, its 2^depth - 1 split features (-1: none) and thresholds, tree after tree. */
  feature: Int32Array;
  threshold: Float64Array;
  /** Per tree, its 2^depth leaf values (already shrunk). */
  leaf: Float64Array;
}

/** The model's margin (log-odds) for the row of `width` values at `x[offset...]`. */
export function boostedMargin(model: BoostedTrees, x: ArrayLike<number>, offset = 0): number {
  const inner = (1 << model.depth) - 1;
  const trees = model.leaf.length >> model.depth;
  let s = model.base;
  for (let t = 0; t < trees; t++) {
    const at = t * inner;
    let node = 0;
    while (node < inner) {
      const f = model.feature[at + node];
      node = f < 0 || x[offset + f] <= model.threshold[at + node] ? 2 * node + 1 : 2 * node + 2;
    }
    s += model.leaf[(t << model.depth) + node - inner];
  }
  return s;
}

/**
 * Up to `bins` - 1 cut points between a feature's distinct values, so each bin holds about the same
 * number of a sample of its rows. A cut goes midway between two neighbouring distinct values, after the
 * value where the running count passes the next quantile, so a feature with few values (a count, a
 * share) gets a cut between every two of them rather than losing the quantiles that fall on a repeat.
 */
function cutPoints(x: Float64Array, width: number, f: number, bins: number): Float64Array {
  const rows = x.length / width;
  const stride = Math.max(1, Math.floor(rows / 50_000));
  const values: number[] = [];
  for (let i = 0; i < rows; i += stride) values.push(x[i * width + f]);
  values.sort((a, b) => a - b);
  const cuts: number[] = [];
  const step = values.length / bins;
  let next = step;
  for (let i = 0; i + 1 < values.length && cuts.length < bins - 1; i++) {
    if (values[i] === values[i + 1] || i + 1 < next) continue;
    cuts.push((values[i] + values[i + 1]) / 2);
    while (next <= i + 1) next += step;
  }
  return Float64Array.from(cuts);
}

/** The bin of `v` among ascending `cuts`: the number of cuts below it. */
function binOf(cuts: Float64Array, v: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= cuts[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Fits the trees to rows `x` (row-major, `width` features each) and labels `y`. Returns null when every
 * label is the same: there is nothing to learn.
 */
export function fitBoostedTrees(x: Float64Array, y: Uint8Array, width: number, params: BoostParams): BoostedTrees | null {
  const rows = y.length;
  if (x.length !== rows * width) throw new Error(`fitBoostedTrees: ${x.length} values for ${rows} rows of ${width}`);
  let positives = 0;
  for (const v of y) positives += v;
  if (positives === 0 || positives === rows) return null;
  const { depth, l2, minChildWeight, learningRate } = params;
  const cuts = Array.from({ length: width }, (_, f) => cutPoints(x, width, f, params.bins));
  const nb = Math.max(1, ...cuts.map((c) => c.length + 1));
  const bin = new Uint8Array(rows * width);
  if (nb > 256) throw new Error('fitBoostedTrees: at most 256 bins');
  for (let i = 0; i < rows; i++) for (let f = 0; f < width; f++) bin[i * width + f] = binOf(cuts[f], x[i * width + f]);

  const inner = (1 << depth) - 1;
  const base = Math.log(positives / (rows - positives));
  const feature = new Int32Array(params.trees * inner).fill(-1);
  const threshold = new Float64Array(params.trees * inner).fill(Number.POSITIVE_INFINITY);
  const leaf = new Float64Array(params.trees << depth);
  const margin = new Float64Array(rows).fill(base);
  const g = new Float64Array(rows);
  const h = new Float64Array(rows);
  const node = new Int32Array(rows);
  // Per node of a level, per feature and bin: sums of gradients and of hessians.
  const hg = new Float64Array((1 << Math.max(0, depth - 1)) * width * nb);
  const hh = new Float64Array(hg.length);
  const gain = (gs: number, hs: number) => (gs * gs) / (hs + l2);

  for (let t = 0; t < params.trees; t++) {
    for (let i = 0; i < rows; i++) {
      const p = 1 / (1 + Math.exp(-margin[i]));
      g[i] = p - y[i];
      h[i] = Math.max(p * (1 - p), 1e-12);
    }
    node.fill(0);
    const at = t * inner;
    for (let level = 0; level < depth; level++) {
      const first = (1 << level) - 1;
      const count = 1 << level;
      hg.fill(0, 0, count * width * nb);
      hh.fill(0, 0, count * width * nb);
      for (let i = 0; i < rows; i++) {
        const base = (node[i] - first) * width * nb;
        const gi = g[i];
        const hi = h[i];
        for (let f = 0; f < width; f++) {
          const k = base + f * nb + bin[i * width + f];
          hg[k] += gi;
          hh[k] += hi;
        }
      }
      for (let n = 0; n < count; n++) {
        let best = 0;
        for (let f = 0; f < width; f++) {
          const from = (n * width + f) * nb;
          let gs = 0;
          let hs = 0;
          for (let b = 0; b < nb; b++) (gs += hg[from + b]), (hs += hh[from + b]);
          const whole = gain(gs, hs);
          let gl = 0;
          let hl = 0;
          for (let b = 0; b < cuts[f].length; b++) {
            gl += hg[from + b];
            hl += hh[from + b];
            if (hl < minChildWeight) continue;
            if (hs - hl < minChildWeight) break;
            const score = gain(gl, hl) + gain(gs - gl, hs - hl) - whole;
            if (score > best + 1e-12) {
              best = score;
              feature[at + first + n] = f;
              threshold[at + first + n] = cuts[f][b];
            }
          }
        }
      }
      for (let i = 0; i < rows; i++) {
        const k = at + node[i];
        const f = feature[k];
        node[i] = f < 0 || x[i * width + f] <= threshold[k] ? 2 * node[i] + 1 : 2 * node[i] + 2;
      }
    }
    // Newton leaf values: -G / (H + l2), shrunk.
    const leaves = 1 << depth;
    const gs = new Float64Array(leaves);
    const hs = new Float64Array(leaves);
    for (let i = 0; i < rows; i++) (gs[node[i] - inner] += g[i]), (hs[node[i] - inner] += h[i]);
    for (let l = 0; l < leaves; l++) leaf[(t << depth) + l] = hs[l] > 0 ? (-learningRate * gs[l]) / (hs[l] + l2) : 0;
    for (let i = 0; i < rows; i++) margin[i] += leaf[(t << depth) + node[i] - inner];
  }
  return { width, depth, base, feature, threshold, leaf };
}
