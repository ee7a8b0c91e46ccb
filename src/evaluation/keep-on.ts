/**
 * On which customers the keep rule judges the tuned blend (issue 11, fifty-second session). Types only.
 *
 * On a shop above tune.maxCustomers, tuning searches the blend's weights on a sample of customers and, by default
 * (`sample`), the keep rule then compares the blend with the best single source of each mode on the same sample: the
 * weights were chosen to score well on those customers, a single source's scores were not, so the comparison favours
 * the blend (bench/README "Why the validation windows over-rate the blend against EASE": on SEED 79 a quarter of the
 * blend's novel lead over EASE was the sample's own). With `left-out`, a second sample of the same bounds, disjoint
 * from the first (the next customers in the same draw, tuning-sample.ts), is validated on the same windows by the same
 * fitted sources, and the keep rule (keep-rule.ts, per fold and mode as ever) judges on it. The served weights are
 * still those searched on the first sample.
 */
import type { KeepDecision, KeepRule, ModeObjectives } from './keep-rule.js';

export type KeepOn = 'sample' | 'left-out';

export const KEEP_ON = ['sample', 'left-out'] as const satisfies readonly KeepOn[];

/** What keepOn `left-out` judged on: how many left-out customers, their objectives per mode, and what each rule kept on the sample. */
export interface LeftOutJudgement {
  on: 'left-out';
  customers: number;
  modes: { blend: ModeObjectives; sources: Record<string, ModeObjectives> };
  sampleKeptBy: Record<KeepRule, KeepDecision>;
}

/** keepOn `left-out` asked for and not possible (RollingTuneOptions.keepOn): the sample judged, and why. */
export interface SampleJudgement {
  on: 'sample';
  asked: 'left-out';
  reason: string;
}
