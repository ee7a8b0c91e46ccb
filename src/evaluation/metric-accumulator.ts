import { averagePrecisionAt, hitRateAt, intraListDiversity, ndcgAt, precisionAt, recallAt } from './metrics.js';
import { ACCURACY_METRICS, type AccuracyMetric, type MetricName } from './evaluation-report.js';

type UserMetric = (relevant: ReadonlySet<number>, list: readonly number[], k: number) => number;
const BY_NAME: Record<AccuracyMetric, UserMetric> = { precision: precisionAt, recall: recallAt, ndcg: ndcgAt, map: averagePrecisionAt, hitRate: hitRateAt };
const IN_ORDER: readonly UserMetric[] = ACCURACY_METRICS.map((name) => BY_NAME[name]);

/** One user's accuracy metrics of one list (already cut to k), in ACCURACY_METRICS order, written into `out`. */
export function userAccuracy(relevant: ReadonlySet<number>, list: readonly number[], k: number, out: Float64Array = new Float64Array(ACCURACY_METRICS.length)): Float64Array {
  for (let m = 0; m < IN_ORDER.length; m++) out[m] = IN_ORDER[m](relevant, list, k);
  return out;
}

/**
 * Streaming sums of the metrics of one (strategy, mode, k), fed one user at a time so the runner never
 * keeps every list in memory. The arithmetic is the same as the run-level functions in metrics.ts
 * (catalogCoverage, userCoverage, meanIntraListDiversity, novelty, maskedShare).
 */
export class AccuracyAccumulator {
  users = 0;
  private readonly sums = new Float64Array(ACCURACY_METRICS.length);

  /** One user's metrics as userAccuracy gives them. */
  addUser(values: ArrayLike<number>): void {
    this.users++;
    for (let m = 0; m < ACCURACY_METRICS.length; m++) this.sums[m] += values[m];
  }

  means(): Record<AccuracyMetric, number> {
    const n = Math.max(this.users, 1);
    return Object.fromEntries(ACCURACY_METRICS.map((name, m) => [name, this.sums[m] / n])) as Record<AccuracyMetric, number>;
  }
}

/** A 95% confidence interval. */
export interface Interval {
  low: number;
  high: number;
}

/** The two-sided 95% point of the standard normal. */
const Z95 = 1.959963984540054;

/** Fewer users than this with a non-zero value on either side, and the normal approximation says nothing. */
export const MIN_NONZERO_USERS = 10;

/**
 * The lift of one strategy over the baseline, mean(x) / mean(b) - 1 per accuracy metric, with a 95%
 * confidence interval paired over the same test users: the delta method for a ratio of means,
 * var(R) ~ var(x - R b) / (n mean(b)^2) with sample (co)variances, so what the users' lists have in
 * common (the same hard users, the same easy ones) does not count as noise. The interval is taken on
 * log R (se(log R) = se(R) / R), so it stays above -100% and is skewed as a ratio's spread is. Fed
 * user by user.
 */
export class PairedLift {
  private n = 0;
  private readonly nzx = new Int32Array(ACCURACY_METRICS.length);
  private readonly nzb = new Int32Array(ACCURACY_METRICS.length);
  private readonly sx = new Float64Array(ACCURACY_METRICS.length);
  private readonly sb = new Float64Array(ACCURACY_METRICS.length);
  private readonly sxx = new Float64Array(ACCURACY_METRICS.length);
  private readonly sbb = new Float64Array(ACCURACY_METRICS.length);
  private readonly sxb = new Float64Array(ACCURACY_METRICS.length);

  /** One user's metrics for the strategy (`x`) and the baseline (`b`), as userAccuracy gives them. */
  add(x: ArrayLike<number>, b: ArrayLike<number>): void {
    this.n++;
    for (let m = 0; m < ACCURACY_METRICS.length; m++) {
      this.sx[m] += x[m];
      this.sb[m] += b[m];
      this.sxx[m] += x[m] * x[m];
      this.sbb[m] += b[m] * b[m];
      this.sxb[m] += x[m] * b[m];
      if (x[m] !== 0) this.nzx[m]++;
      if (b[m] !== 0) this.nzb[m]++;
    }
  }

  /**
   * Per metric the interval of the lift; null unless at least MIN_NONZERO_USERS users have a non-zero
   * value for the strategy and as many for the baseline (with a handful of hits, or none, an interval
   * would claim a certainty the data does not have).
   */
  intervals(): Record<AccuracyMetric, Interval | null> {
    const { n } = this;
    const out = {} as Record<AccuracyMetric, Interval | null>;
    ACCURACY_METRICS.forEach((name, m) => {
      const mb = this.sb[m] / n;
      const mx = this.sx[m] / n;
      if (this.nzx[m] < MIN_NONZERO_USERS || this.nzb[m] < MIN_NONZERO_USERS || !(mb > 0) || !(mx > 0)) {
        out[name] = null;
        return;
      }
      const r = mx / mb;
      const vx = (this.sxx[m] - n * mx * mx) / (n - 1);
      const vb = (this.sbb[m] - n * mb * mb) / (n - 1);
      const cxb = (this.sxb[m] - n * mx * mb) / (n - 1);
      // Rounding can leave a tiny negative variance where x and b are (nearly) the same lists.
      const seLog = Math.sqrt(Math.max(0, vx - 2 * r * cxb + r * r * vb) / n) / mb / r;
      out[name] = { low: r * Math.exp(-Z95 * seLog) - 1, high: r * Math.exp(Z95 * seLog) - 1 };
    });
    return out;
  }
}

export interface RunContext {
  /** What catalog coverage divides by: the train items, or with coverageKey the keys they count as. */
  catalogSize: number;
  /** Each item's key for catalog coverage (< catalogSize), e.g. its product group's: absent, each item counts itself. */
  coverageKey?: Int32Array;
  /** -log2(buyers / trainUsers) per item (see itemNovelty). */
  itemNovelty: Float64Array;
  /** 1 for the popularity top-100 items. */
  top100: Uint8Array;
  similarity?: (a: number, b: number) => number;
}

export class RunAccumulator extends AccuracyAccumulator {
  private readonly recommended: Uint8Array;
  private distinct = 0;
  private covered = 0;
  private diversitySum = 0;
  private diversityLists = 0;
  private noveltySum = 0;
  private noveltyLists = 0;
  private slots = 0;
  private topSlots = 0;

  constructor(private readonly ctx: RunContext) {
    super();
    this.recommended = new Uint8Array(ctx.catalogSize);
  }

  /** One user's list (cut to k) with its metrics as userAccuracy gives them. */
  addList(values: ArrayLike<number>, list: readonly number[]): void {
    this.addUser(values);
    if (list.length === 0) return;
    this.covered++;
    let nov = 0;
    const key = this.ctx.coverageKey;
    for (const item of list) {
      const c = key ? key[item] : item;
      if (!this.recommended[c]) {
        this.recommended[c] = 1;
        this.distinct++;
      }
      nov += this.ctx.itemNovelty[item];
      if (this.ctx.top100[item]) this.topSlots++;
    }
    this.slots += list.length;
    this.noveltySum += nov / list.length;
    this.noveltyLists++;
    if (this.ctx.similarity) {
      const d = intraListDiversity(list, this.ctx.similarity);
      if (d !== null) {
        this.diversitySum += d;
        this.diversityLists++;
      }
    }
  }

  all(): Record<MetricName, number | null> {
    return {
      ...this.means(),
      catalogCoverage: this.ctx.catalogSize > 0 ? this.distinct / this.ctx.catalogSize : 0,
      userCoverage: this.users > 0 ? this.covered / this.users : 0,
      diversity: this.diversityLists > 0 ? this.diversitySum / this.diversityLists : null,
      novelty: this.noveltyLists > 0 ? this.noveltySum / this.noveltyLists : null,
      popularTop100Share: this.slots > 0 ? this.topSlots / this.slots : null,
    };
  }
}
