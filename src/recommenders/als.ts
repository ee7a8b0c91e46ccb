import { z } from 'zod';
import { ArtifactFormatError, artifactLayout, decodeArtifact, encodeArtifact, type ArtifactPatch, type ArtifactRangeReader } from './artifact.js';
import { choleskySolve } from './cholesky.js';
import { alsLoss, conjugateGradientHalfStep, gramian, type ConfidenceRows, type HalfStepRunner } from './conjugate-gradient.js';
import type { Dataset } from './dataset.js';
import type { AlignedFactors } from './imported-factors.js';
import { transpose, weightedUserItemMatrix, type Csr } from './interactions.js';
import { itemRemap } from './item-remap.js';
import { OwnItems } from './own-items.js';
import { parseParams } from './parse-params.js';
import type { CandidateCut, Neighbour, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import { mulberry32 } from './seeded-random.js';
import type { SparseScores } from './sparse-scores.js';
import { scratchSite, TopKHeap } from './top-k-heap.js';

const ARTIFACT = { algorithm: 'als', version: 1 };

/**
 * Defaults from a temporal split of Online Retail (train before 2011-09-01, novel items, P@10): reg 10 /
 * alpha 2 scores 0.104 against 0.107 for the best pair tried (20 / 1) and 0.095 for implicit-style 0.1 / 10,
 * and unlike 20 / 1 it does not shrink every score of a few-dozen-user shop to ~0.
 */
const paramsSchema = z
  .object({
    factors: z.number().int().min(1).max(1024).default(64),
    regularization: z.number().gt(0).max(1e6).default(10),
    /** Confidence c = 1 + alpha * ln(1 + orders): how much more an observed pair weighs than an unobserved one. */
    alpha: z.number().min(0).max(1e6).default(2),
    iterations: z.number().int().min(1).max(1000).default(15),
    /** Conjugate-gradient steps per row and half-iteration. */
    cgSteps: z.number().int().min(1).max(1024).default(3),
    seed: z.number().int().default(42),
  })
  .strict();


/**
 * Dot product of a[ao..ao+n) and b[bo..bo+n) with four independent accumulators: the additions of one
 * long chain wait on each other, four chains keep the CPU's adders busy (about 2x on 64 factors).
 */
function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[ao + i] * b[bo + i];
    s1 += a[ao + i + 1] * b[bo + i + 1];
    s2 += a[ao + i + 2] * b[bo + i + 2];
    s3 += a[ao + i + 3] * b[bo + i + 3];
  }
  for (; i < n; i++) s0 += a[ao + i] * b[bo + i];
  return s0 + s1 + (s2 + s3);
}

/** x . y[o..o+k): dot() specialised to a Float64Array user factor and Float32Array item factors. */
export function dotRow(x: Float64Array, y: Float32Array, o: number, k: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < k; i += 4) {
    s0 += x[i] * y[o + i];
    s1 += x[i + 1] * y[o + i + 1];
    s2 += x[i + 2] * y[o + i + 2];
    s3 += x[i + 3] * y[o + i + 3];
  }
  for (; i < k; i++) s0 += x[i] * y[o + i];
  return s0 + s1 + (s2 + s3);
}

export type AlsParams = z.output<typeof paramsSchema>;

export interface AlsFitOptions {
  /** Called after each iteration with the normalised training loss (computing it costs about one CG step). */
  onIteration?: (iteration: number, loss: number) => void;
  /** Runs the half-steps on several threads (the factors are the same as on one). */
  threads?: HalfStepRunner;
}

interface AlsState {
  params: AlsParams;
  itemIds: string[];
  /** users x factors and items x factors, row-major. */
  userFactors: Float32Array;
  itemFactors: Float32Array;
  /** Latest training purchase per user: a history with anything newer has changed since training. */
  userLastTs: Float64Array;
  /** Y^T Y + reg I of these item factors, when already known (stored with the model since it is made). */
  yty?: Float64Array;
}

function confidenceRows(m: Csr, alpha: number): ConfidenceRows {
  const confidence = new Float64Array(m.values.length);
  for (let p = 0; p < confidence.length; p++) confidence[p] = 1 + alpha * Math.log1p(m.values[p]);
  return { rows: m.rows, indptr: m.indptr, indices: m.indices, confidence };
}

/** Zeroes the factor rows of `m`'s rows that hold no interaction. */
function zeroEmptyRows(m: ConfidenceRows, factors: Float64Array, k: number): void {
  for (let r = 0; r < m.rows; r++) if (m.indptr[r] === m.indptr[r + 1]) factors.fill(0, r * k, (r + 1) * k);
}

/**
 * Fits implicit-feedback ALS on the user x item matrix of distinct-order counts plus the weighted
 * views, carts and ratings (weightedUserItemMatrix): c = 1 + alpha * ln(1 + weighted count), so a pair
 * seen only in a few views is a weak positive. Exported apart from
 * the factory so training reports and tests can follow the loss per iteration.
 */
export function fitAls(ds: Dataset, params: AlsParams, options: AlsFitOptions = {}): Recommender {
  const k = params.factors;
  const ui = weightedUserItemMatrix(ds);
  const users = confidenceRows(ui, params.alpha);
  const items = confidenceRows(transpose(ui), params.alpha);
  // Small uniform init as in `implicit`; the user side is solved first, so only item factors matter.
  const random = mulberry32(params.seed);
  const alloc = (n: number) => options.threads?.allocate(n) ?? new Float64Array(n);
  const x = alloc(users.rows * k);
  const y = alloc(items.rows * k);
  for (let t = 0; t < y.length; t++) y[t] = random() * 0.01;
  for (let t = 0; t < x.length; t++) x[t] = random() * 0.01;
  // A row without interactions starts at zero and CG leaves it there (its right-hand side is zero):
  // started at random it kept a shrunken random factor, whose cosine to any item is noise.
  zeroEmptyRows(items, y, k);
  zeroEmptyRows(users, x, k);
  const halfStep = (m: ConfidenceRows, a: Float64Array, b: Float64Array, bRows: number) => {
    const yty = options.threads?.gramian?.(b, bRows, k, params.regularization) ?? gramian(b, bRows, k, params.regularization);
    if (options.threads) options.threads.halfStep(m, a, b, bRows, k, params.regularization, params.cgSteps, yty);
    else conjugateGradientHalfStep(m, a, b, bRows, k, params.regularization, params.cgSteps, { yty });
  };
  for (let it = 0; it < params.iterations; it++) {
    halfStep(users, x, y, items.rows);
    halfStep(items, y, x, users.rows);
    if (options.onIteration) options.onIteration(it, alsLoss(users, x, y, items.rows, k, params.regularization));
  }
  const userLastTs = new Float64Array(users.rows).fill(-Infinity);
  for (let u = 0; u < ui.rows; u++) {
    for (let p = ui.indptr[u]; p < ui.indptr[u + 1]; p++) userLastTs[u] = Math.max(userLastTs[u], ui.lastTs[p]);
  }
  return new AlsModel({
    params,
    itemIds: [...ds.itemIds],
    userFactors: Float32Array.from(x),
    itemFactors: Float32Array.from(y),
    userLastTs,
  });
}

/**
 * The ALS model of factors trained elsewhere (see imported-factors.ts), in place of a fit. A customer
 * with an imported row keeps it while their history is what the training saw (same rule as fitted
 * factors); one without, or who bought since, is folded in from their purchases and the imported item
 * factors with this source's `regularization` and `alpha`.
 */
export function alsFromFactors(ds: Dataset, f: AlignedFactors, params: AlsParams): Recommender {
  if (f.itemFactors.length !== ds.itemIds.length * f.factors || f.userFactors.length !== ds.userIds.length * f.factors) {
    throw new Error('als: imported factors are not laid out by this dataset');
  }
  const userLastTs = new Float64Array(ds.userIds.length).fill(-Infinity);
  for (let e = 0; e < ds.eventUser.length; e++) {
    const u = ds.eventUser[e];
    if (ds.eventTs[e] > userLastTs[u]) userLastTs[u] = ds.eventTs[e];
  }
  // A customer without an imported row must never use their (zero) row: NaN fails every `ts <= last` test.
  for (let u = 0; u < userLastTs.length; u++) if (!f.userImported[u]) userLastTs[u] = Number.NaN;
  return new AlsModel({
    params: { ...params, factors: f.factors },
    itemIds: [...ds.itemIds],
    userFactors: Float32Array.from(f.userFactors),
    itemFactors: Float32Array.from(f.itemFactors),
    userLastTs,
  });
}

/**
 * The items by decreasing factor norm (ties to the lower item), their norms, and their factors in that
 * order: a copy of the item factors (items x factors x 4 bytes, 7.7 MB at 30,000 items) that scoreSparse's
 * walk reads front to back, where one through the original rows in norm order jumps about.
 */
interface ByNorm {
  order: Int32Array;
  /** rank[j]: item j's position in `order`. */
  rank: Int32Array;
  norms: Float64Array;
  factors: Float32Array;
}

function byNormOf(itemFactors: Float32Array, itemNorms: Float64Array, k: number): ByNorm {
  const order = Int32Array.from(itemNorms.keys()).sort((a, b) => itemNorms[b] - itemNorms[a] || a - b);
  const factors = new Float32Array(itemFactors.length);
  const rank = new Int32Array(order.length);
  order.forEach((i, r) => {
    factors.set(itemFactors.subarray(i * k, (i + 1) * k), r * k);
    rank[i] = r;
  });
  return { order, rank, norms: Float64Array.from(order, (i) => itemNorms[i]), factors };
}

const candidateBest = scratchSite();

class AlsModel implements Recommender {
  readonly name = 'als';
  private readonly k: number;
  private readonly items: number;
  /** Y^T Y + reg I over the item factors, for solving unknown users. */
  private readonly yty: Float64Array;
  private readonly itemNorms: Float64Array;
  /** Made with the model, so that a version being readied pays for it, not its first request. */
  private readonly byNorm: ByNorm;
  /** scoreSparse's user's own items (scratch). */
  private readonly own = new OwnItems();
  /** scoreCandidates' candidates by their rank in byNorm (scratch, grown as needed). */
  private candidateRanks = new Int32Array(1024);

  constructor(private readonly s: AlsState) {
    this.k = s.params.factors;
    this.items = s.itemFactors.length / this.k;
    this.yty = s.yty ?? gramian(s.itemFactors, this.items, this.k, s.params.regularization);
    this.itemNorms = new Float64Array(this.items);
    for (let i = 0; i < this.items; i++) {
      let sq = 0;
      for (let a = 0; a < this.k; a++) sq += s.itemFactors[i * this.k + a] ** 2;
      this.itemNorms[i] = Math.sqrt(sq);
    }
    this.byNorm = byNormOf(s.itemFactors, this.itemNorms, this.k);
  }

  /** The trained factor when it still describes the user, else one solved from the live history. */
  private userFactor(ctx: UserContext): ArrayLike<number> | null {
    const { userFactors, userLastTs } = this.s;
    const known = ctx.user >= 0 && ctx.user < userLastTs.length;
    if (known && ctx.history.every((h) => h.ts <= userLastTs[ctx.user])) {
      return userFactors.subarray(ctx.user * this.k, (ctx.user + 1) * this.k);
    }
    return this.solveUser(ctx);
  }

  /**
   * The "recalculate user" step: the exact least-squares factor for a history the model was not
   * trained on, x = (YtY + reg I + sum_i (c_i - 1) y_i y_i^T)^-1 sum_i c_i y_i, with c_i from the
   * number of distinct orders of item i in the history. One k x k Cholesky solve.
   */
  private solveUser(ctx: UserContext): Float64Array | null {
    const orders = new Map<number, Set<string | number>>();
    for (const h of ctx.history) {
      if (h.item < 0 || h.item >= this.items || this.itemNorms[h.item] === 0) continue;
      let set = orders.get(h.item);
      if (!set) orders.set(h.item, (set = new Set()));
      set.add(h.order);
    }
    if (orders.size === 0) return null;
    const { k } = this;
    const y = this.s.itemFactors;
    const a = Float64Array.from(this.yty);
    const b = new Float64Array(k);
    for (const [i, set] of orders) {
      const c = 1 + this.s.params.alpha * Math.log1p(set.size);
      const o = i * k;
      for (let r = 0; r < k; r++) {
        b[r] += c * y[o + r];
        const w = (c - 1) * y[o + r];
        for (let q = 0; q < k; q++) a[r * k + q] += w * y[o + q];
      }
    }
    return choleskySolve(a, b, k);
  }

  /** score(j) = x_u . y_j: the model's predicted preference. */
  scoreUser(ctx: UserContext, out: Float32Array): void {
    const x = this.userFactor(ctx);
    out.fill(0);
    if (!x) return;
    const { k } = this;
    const y = this.s.itemFactors;
    const n = Math.min(out.length, this.items);
    for (let j = 0; j < n; j++) out[j] = dot(x, 0, y, j * k, k);
  }

  /**
   * The `limit` best items by x_u . y_j (ties to the lower item) among those the user has not bought,
   * exactly, and the user's own items scoring above 0. Items are taken by decreasing factor norm, and the
   * walk stops once |x_u| |y_j| (which no later score can exceed) falls below the heap's threshold:
   * implicit ALS gives the rarely bought tail tiny factors, so a customer's best 120 of 30,000 items read
   * about 4,300 of them (bench/README, "The serving build at ten times Online Retail").
   */
  scoreSparse(ctx: UserContext, out: SparseScores, limit: number): void {
    const found = this.userFactor(ctx);
    if (!found) return;
    const { k } = this;
    const x = Float64Array.from(found);
    const n = Math.min(out.itemCount, this.items);
    const { order, norms, factors } = this.byNorm;
    let xNorm = 0;
    for (let a = 0; a < k; a++) xNorm += x[a] * x[a];
    // The rounding of a k-term dot product stays far inside this margin: the bound never cuts a score it could reach.
    xNorm = Math.sqrt(xNorm) * (1 + 1e-9);
    const { own } = this;
    own.mark(ctx.history, n);
    const heap = new TopKHeap(limit);
    let min = heap.threshold;
    for (let r = 0; r < order.length; r++) {
      // Scores are ranked as `out` keeps them, in float32 (as the brute-force scoreUser and scoreCandidates'
      // cut rank them: two scores apart only in float64 tie, to the lower item); fround keeps the bound above them.
      const bound = Math.fround(xNorm * norms[r]);
      if (bound < min || bound === 0) break;
      const j = order[r];
      if (j >= n || own.mask[j] === 1) continue;
      const s = Math.fround(dotRow(x, factors, r * k, k));
      if (s <= 0 || s < min) continue;
      heap.push(j, s);
      min = heap.threshold;
    }
    heap.forEach((item, score) => out.set(item, score));
    const y = this.s.itemFactors;
    for (const j of own.items) {
      const s = dotRow(x, y, j * k, k);
      if (s > 0) out.set(j, s);
    }
  }

  /**
   * x_u . y_j for each touched item j of `items`. With `best` (Recommender.scoreCandidates), the user's own
   * candidates are scored and the others are taken by decreasing factor norm, stopping, as scoreSparse
   * does, once |x_u| |y_j| falls below the `best.limit`-th best score found: the same best, without
   * scoring the candidates that cannot reach them.
   */
  scoreCandidates(ctx: UserContext, items: SparseScores, out: SparseScores, best?: CandidateCut): void {
    const found = this.userFactor(ctx);
    if (!found) return;
    const { k } = this;
    const x = Float64Array.from(found);
    const y = this.s.itemFactors;
    if (best && items.size > best.limit) return this.scoreBestCandidates(x, items, out, best);
    for (let p = 0; p < items.size; p++) {
      const j = items.item(p);
      if (j >= this.items) continue;
      const s = dotRow(x, y, j * k, k);
      if (s > 0) out.set(j, s);
    }
  }

  /** scoreCandidates with a cut: the candidates' ranks by norm, sorted, walked until the bound stops. */
  private scoreBestCandidates(x: Float64Array, items: SparseScores, out: SparseScores, best: CandidateCut): void {
    const { k } = this;
    const y = this.s.itemFactors;
    const { order, rank, norms, factors } = this.byNorm;
    let ranks = this.candidateRanks;
    if (ranks.length < items.size) ranks = this.candidateRanks = new Int32Array(Math.max(items.size, 2 * ranks.length));
    let n = 0;
    for (let p = 0; p < items.size; p++) {
      const j = items.item(p);
      if (j >= this.items) continue;
      if (best.own[j] === 1) {
        const s = dotRow(x, y, j * k, k);
        if (s > 0) out.set(j, s);
      } else ranks[n++] = rank[j];
    }
    const sorted = ranks.subarray(0, n).sort();
    let xNorm = 0;
    for (let a = 0; a < k; a++) xNorm += x[a] * x[a];
    // As in scoreSparse: the rounding of a k-term dot product stays far inside this margin.
    xNorm = Math.sqrt(xNorm) * (1 + 1e-9);
    const { heap } = candidateBest(best.limit);
    let min = heap.threshold;
    for (let q = 0; q < n; q++) {
      const r = sorted[q];
      // Scores are ranked as `out` keeps them, in float32 (as setBestPositive ranks the uncut scores: two
      // scores apart only in float64 tie, to the lower item); fround keeps the bound above them.
      const bound = Math.fround(xNorm * norms[r]);
      if (bound < min || bound === 0) break;
      const s = Math.fround(dotRow(x, factors, r * k, k));
      if (s <= 0 || s < min) continue;
      heap.push(order[r], s);
      min = heap.threshold;
    }
    heap.forEach((item, score) => out.set(item, score));
  }

  /** similarItems restricted to a pool of candidate items (a catalogue too large to scan per item). */
  similarAmong(item: number, pool: readonly number[], k: number): Neighbour[] {
    if (item < 0 || item >= this.items || this.itemNorms[item] === 0) return [];
    const y = this.s.itemFactors;
    const f = this.k;
    const heap = new TopKHeap(k);
    for (const j of pool) {
      if (j === item || j < 0 || j >= this.items || this.itemNorms[j] === 0) continue;
      const cos = dot(y, item * f, y, j * f, f) / (this.itemNorms[item] * this.itemNorms[j]);
      if (cos > 0) heap.push(j, cos);
    }
    return heap.result();
  }

  /** Cosine of item factors; only positively related items count as similar. */
  similarItems(item: number, k: number): Neighbour[] {
    if (item < 0 || item >= this.items || this.itemNorms[item] === 0) return [];
    const y = this.s.itemFactors;
    const f = this.k;
    const heap = new TopKHeap(k);
    for (let j = 0; j < this.items; j++) {
      if (j === item || this.itemNorms[j] === 0) continue;
      const cos = dot(y, item * f, y, j * f, f) / (this.itemNorms[item] * this.itemNorms[j]);
      if (cos > 0) heap.push(j, cos);
    }
    return heap.result();
  }

  /** In this copy, what the factory's withoutUsers does to the artifact (see alsWithoutUsers). */
  forgetUsers(rows: ReadonlySet<number>): void {
    wipeUserRows(this.s, this.k, rows);
  }

  toArtifact(): Uint8Array {
    const { params, itemIds, userFactors, itemFactors, userLastTs } = this.s;
    // The gramian too (k x k, 32 KB at 64 factors): a serving process loading the model then skips its
    // pass over every item factor (about 60 ms at 30,000 items, on the event loop). Older code ignores it.
    return encodeArtifact(
      { ...ARTIFACT, trainedAt: new Date().toISOString(), params, meta: { itemIds } },
      { userFactors, itemFactors, userLastTs, yty: this.yty },
    );
  }
}

function loadState(bytes: Uint8Array, currentIds: readonly string[]): AlsState {
  // Views of the bytes (a store read, owned here): the customers' factors are most of them.
  const { header, arrays } = decodeArtifact(bytes, ARTIFACT, { share: true });
  const params = paramsSchema.parse(header.params);
  const { itemIds } = header.meta as { itemIds: string[] };
  const { userFactors, itemFactors, userLastTs } = arrays;
  const k = params.factors;
  if (
    !(userFactors instanceof Float32Array && itemFactors instanceof Float32Array && userLastTs instanceof Float64Array) ||
    !Array.isArray(itemIds) ||
    itemFactors.length !== itemIds.length * k ||
    userFactors.length !== userLastTs.length * k
  ) {
    throw new ArtifactFormatError('als: factor matrices do not match the stored item and user counts');
  }
  const map = itemRemap(itemIds, currentIds);
  const yty = arrays.yty instanceof Float64Array && arrays.yty.length === k * k ? arrays.yty : undefined;
  if (!map) return { params, itemIds, userFactors, itemFactors, userLastTs, yty };
  // Items the model has not seen get a zero factor: no score, no neighbours, ignored in histories.
  const remapped = new Float32Array(map.length * k);
  map.forEach((fitted, i) => fitted >= 0 && remapped.set(itemFactors.subarray(fitted * k, (fitted + 1) * k), i * k));
  return { params, itemIds: [...currentIds], userFactors, itemFactors: remapped, userLastTs };
}

/**
 * Implicit-feedback matrix factorisation (Hu, Koren & Volinsky) trained by alternating least squares
 * with conjugate-gradient row updates. Users unseen at training time (or whose history has grown
 * since) are folded in on the fly from their history.
 */
export const alsFactory: RecommenderFactory<AlsParams> = {
  name: 'als',
  parseParams: (raw) => parseParams('als', paramsSchema, raw),
  fit: (ds, params, ctx) => fitAls(ds, params, { threads: ctx?.halfSteps }),
  fromArtifact: (bytes, ds) => new AlsModel(loadState(bytes, ds.itemIds)),
  withoutUsers: alsWithoutUsers,
  rowPatches: alsRowPatches,
};

/**
 * What alsWithoutUsers changes, as patches: each customer's factor (k f32 zeros) and last purchase time
 * (f64 -Infinity), at their places in the stored artifact. Every other byte stays, so the artifact read
 * afterwards is the one alsWithoutUsers would have written (a row already wiped is written again, the
 * same bytes). Null for an artifact laid out otherwise.
 */
async function alsRowPatches(read: ArtifactRangeReader, rows: ReadonlySet<number>): Promise<ArtifactPatch[] | null> {
  const layout = await artifactLayout(read);
  if (!layout) return null;
  const { header, arrays } = layout;
  if (header.algorithm !== ARTIFACT.algorithm || header.version !== ARTIFACT.version) return null;
  const k = paramsSchema.parse(header.params).factors;
  const factors = arrays.get('userFactors');
  const lastTs = arrays.get('userLastTs');
  if (factors?.type !== 'f32' || lastTs?.type !== 'f64' || factors.length !== lastTs.length * k) return null;
  const zeros = new Uint8Array(4 * k);
  const never = new Uint8Array(Float64Array.of(Number.NEGATIVE_INFINITY).buffer);
  const patches: ArtifactPatch[] = [];
  for (const u of [...rows].sort((a, b) => a - b)) {
    if (!Number.isInteger(u) || u < 0 || u >= lastTs.length) continue;
    patches.push({ offset: factors.offset + 4 * k * u, bytes: zeros }, { offset: lastTs.offset + 8 * u, bytes: never });
  }
  return patches;
}

/**
 * The customers' factors zeroed and their last purchase time set to -Infinity: a customer scored at such
 * a row has every purchase after it, so their factor is solved from what they bought since (a new customer).
 */
function alsWithoutUsers(bytes: Uint8Array, rows: ReadonlySet<number>): Uint8Array | null {
  const { header, arrays } = decodeArtifact(bytes, ARTIFACT);
  const { userFactors, itemFactors, userLastTs } = arrays;
  if (!(userFactors instanceof Float32Array && itemFactors instanceof Float32Array && userLastTs instanceof Float64Array)) {
    throw new ArtifactFormatError('als: unexpected arrays');
  }
  const changed = wipeUserRows({ userFactors, userLastTs }, paramsSchema.parse(header.params).factors, rows);
  // Every array as it was but the customers' rows (the gramian is of the item factors alone).
  return changed ? encodeArtifact(header, { ...arrays, userFactors, itemFactors, userLastTs }) : null;
}

/**
 * Zeroes the rows' factors and sets their last purchase time to -Infinity; false when every row already
 * was so. A -Infinity time alone does not mean a zero factor: an imported model (Spark, implicit) gives
 * a vector to customers with no purchase in the training's data.
 */
function wipeUserRows(s: Pick<AlsState, 'userFactors' | 'userLastTs'>, k: number, rows: ReadonlySet<number>): boolean {
  let changed = false;
  for (const u of rows) {
    if (u < 0 || u >= s.userLastTs.length) continue;
    const factor = s.userFactors.subarray(u * k, (u + 1) * k);
    if (s.userLastTs[u] === Number.NEGATIVE_INFINITY && factor.every((x) => x === 0)) continue;
    factor.fill(0);
    s.userLastTs[u] = Number.NEGATIVE_INFINITY;
    changed = true;
  }
  return changed;
}
