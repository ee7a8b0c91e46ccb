import { averagePrecisionAt, hitRateAt, intraListDiversity, ndcgAt, precisionAt, recallAt } from './metrics.js';
import type { AccuracyMetric, MetricName } from './evaluation-report.js';

/**
 * Streaming sums of the metrics of one (strategy, mode, k), fed one user at a time so the runner never
 * keeps every list in memory. The arithmetic is the same as the run-level functions in metrics.ts
 * (catalogCoverage, userCoverage, meanIntraListDiversity, novelty, maskedShare).
 */
export class AccuracyAccumulator {
  users = 0;
  private readonly sums: Record<AccuracyMetric, number> = { precision: 0, recall: 0, ndcg: 0, map: 0, hitRate: 0 };

  /** `list` is already cut to k. */
  add(relevant: ReadonlySet<number>, list: readonly number[], k: number): void {
    this.users++;
    this.sums.precision += precisionAt(relevant, list, k);
    this.sums.recall += recallAt(relevant, list, k);
    this.sums.ndcg += ndcgAt(relevant, list, k);
    this.sums.map += averagePrecisionAt(relevant, list, k);
    this.sums.hitRate += hitRateAt(relevant, list, k);
  }

  means(): Record<AccuracyMetric, number> {
    const n = Math.max(this.users, 1);
    const s = this.sums;
    return { precision: s.precision / n, recall: s.recall / n, ndcg: s.ndcg / n, map: s.map / n, hitRate: s.hitRate / n };
  }
}

export interface RunContext {
  catalogSize: number;
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

  override add(relevant: ReadonlySet<number>, list: readonly number[], k: number): void {
    super.add(relevant, list, k);
    if (list.length === 0) return;
    this.covered++;
    let nov = 0;
    for (const item of list) {
      if (!this.recommended[item]) {
        this.recommended[item] = 1;
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
