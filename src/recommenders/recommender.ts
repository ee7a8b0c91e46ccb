import type { ArtifactPatch, ArtifactRangeReader } from './artifact.js';
import type { Dataset } from './dataset.js';
import type { HalfStepRunner } from './conjugate-gradient.js';
import type { SparseScores } from './sparse-scores.js';

/** One past purchase of the user being scored, in model indices. */
export interface HistoryEntry {
  readonly item: number;
  /** Epoch milliseconds. */
  readonly ts: number;
  readonly quantity: number;
  /** Order (basket) key; entries with the same key were bought together. */
  readonly order: string | number;
}

/**
 * Who is being scored. `user` is the model's user index, or -1 for someone the model has not seen
 * (a new or anonymous visitor), in which case only `history` (e.g. cart/session items) and
 * `attributes` are known. `history` always holds the full known history, including events that
 * arrived after training, sorted by ts ascending. A recommender only reads it: tuning scores every
 * source with the same contexts.
 */
export interface UserContext {
  user: number;
  history: readonly HistoryEntry[];
  attributes: Record<string, string>;
  /** Reference time for recency (epoch ms); defaults to the dataset's `now`. */
  now?: number;
}

export interface Neighbour {
  item: number;
  score: number;
}

/** Recommender.scoreCandidates' cut: the `limit` best new candidates and the user's own items (marked 1 in `own`). */
export interface CandidateCut {
  limit: number;
  own: Uint8Array;
}

/**
 * A fitted recommender. Scoring is full-catalogue: `scoreUser` writes one score per item index into
 * `out` (length = number of items); higher is better; items it has nothing to say about get 0 or less.
 * Recommenders never filter: excluding bought or unavailable items is the caller's rule.
 */
export interface Recommender {
  readonly name: string;
  scoreUser(ctx: UserContext, out: Float32Array): void;
  /**
   * The same scores as `scoreUser`, written sparsely into `out` (cleared by the caller): every item the
   * source scores above 0 when that is a small set (neighbours of the user's items, their own items),
   * else (ALS, EASE, popularity) the `limit` best-scored items the user has not bought (not in
   * `ctx.history`) and its positive scores of the user's own items beside them: a cut over both would give
   * a customer who bought `limit` of the source's favourites nothing new from it. Candidate generation
   * calls this so that a user costs what they touch, not the catalogue; a source without it is scored
   * densely (and cut the same way).
   */
  scoreSparse?(ctx: UserContext, out: SparseScores, limit: number): void;
  /**
   * Scores only the given candidate items (sets each positive score in `out`). A source whose full
   * ranking costs a pass over the catalogue per user (ALS: items x factors) offers this so that a blend
   * can rank the candidates the sparse sources found instead, at a cost independent of the catalogue.
   * With `best`, `out` need hold no more than the `best.limit` best positive scores of candidates not
   * marked 1 in `best.own` (ties to the lower item) and the positive scores of the marked ones: all a
   * blend cut to its `sourceLimit` takes, so the source may pass over candidates that cannot be among them.
   */
  scoreCandidates?(ctx: UserContext, items: SparseScores, out: SparseScores, best?: CandidateCut): void;
  /** Top-k neighbours of an item, best first (item-based recommenders only). */
  similarItems?(item: number, k: number): Neighbour[];
  /** Serializes the fitted state to the explicit binary artifact format (see artifact.ts). */
  toArtifact(): Uint8Array;
  /**
   * Wipes the customers at `rows` (training positions) from this fitted copy, so that it scores every
   * customer as `fromArtifact(factory.withoutUsers(artifact, rows))` would: a process that loaded the
   * recommender before an erasure forgets the customer in place instead of loading it again. Present
   * exactly on the families whose factory has `withoutUsers`.
   */
  forgetUsers?(rows: ReadonlySet<number>): void;
}

/** Help a fit may take: a runner of ALS half-steps on several threads (the result is the same without it). */
export interface FitContext {
  halfSteps?: HalfStepRunner;
}

/** A recommender family: a name, validated hyperparameters, and fit. */
export interface RecommenderFactory<P = unknown> {
  readonly name: string;
  /** Fills defaults and validates; throws with the offending field's name. */
  parseParams(raw: unknown): P;
  fit(ds: Dataset, params: P, ctx?: FitContext): Recommender;
  /** May keep views of `bytes` (ALS, item-kNN), which `forgetUsers` then writes to: pass bytes nobody else uses. */
  fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): Recommender;
  /**
   * For families whose artifact keeps something per training customer (ALS's user factors, user-kNN's
   * baskets): the artifact with those of the customers at `rows` (training positions) wiped, so an
   * erased customer's data is gone and the rest is unchanged; null when none of them had any. Families
   * that keep only aggregates over all customers leave this out.
   */
  withoutUsers?(bytes: Uint8Array, rows: ReadonlySet<number>): Uint8Array | null;
  /**
   * withoutUsers done in place: the byte ranges of the stored artifact that hold the customers at `rows`,
   * with what withoutUsers writes there, found from the artifact's header alone (artifactLayout), so an
   * erasure reads and writes a few bytes per customer instead of the whole artifact (ALS's customer
   * factors: 43 MB at 100,000 customers). Null when the artifact is not there or not laid out as this code
   * knows (the caller then rewrites it whole with withoutUsers). Families whose customer rows have a fixed
   * width offer it.
   */
  rowPatches?(read: ArtifactRangeReader, rows: ReadonlySet<number>): Promise<ArtifactPatch[] | null>;
}
