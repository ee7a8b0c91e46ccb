import type { BreakdownDimension, EvaluationReport, MetricName, ReportRow } from './evaluation-report.js';
import type { EvalMode } from './splits.js';

/**
 * Renders an evaluation report as plain-text tables for the terminal: one block per mode x k with
 * strategies as rows and metric columns (plus NDCG lift over the baseline with its paired 95% confidence
 * interval), then NDCG@k per history-length bucket and per segment.
 */
export interface FormatOptions {
  /** Include the history/segment NDCG tables (default true). */
  breakdowns?: boolean;
}

const COLUMNS: { metric: MetricName; label: (k: number) => string }[] = [
  { metric: 'precision', label: (k) => `P@${k}` },
  { metric: 'recall', label: (k) => `R@${k}` },
  { metric: 'ndcg', label: (k) => `NDCG@${k}` },
  { metric: 'map', label: (k) => `MAP@${k}` },
  { metric: 'hitRate', label: (k) => `HR@${k}` },
  { metric: 'catalogCoverage', label: () => 'catCov' },
  { metric: 'userCoverage', label: () => 'userCov' },
  { metric: 'diversity', label: () => 'divers' },
  { metric: 'novelty', label: () => 'novelty' },
  { metric: 'popularTop100Share', label: () => 'top100' },
];

export function formatReport(report: EvaluationReport, options: FormatOptions = {}): string {
  const s = report.split;
  const testUsers = Object.entries(s.testUsers)
    .map(([mode, n]) => `${mode} ${n}`)
    .join(', ');
  const out: string[] = [
    `${s.kind} split${s.cutoff ? `, test from ${s.cutoff}` : ''}${s.testEnd ? ` to ${s.testEnd}` : ''}`,
    `train: ${s.trainUsers} users, ${s.trainItems} items, ${s.trainEvents} events; test users: ${testUsers}; baseline: ${report.baseline}`,
  ];
  const p = s.testPurchases;
  if (p && p.total > 0) {
    const share = (n: number) => `${((100 * n) / p.total).toFixed(1)}%`;
    out.push(
      `test purchases: ${p.total}, counted ${p.counted} (${share(p.counted)}); left out: ${p.newCustomers} (${share(p.newCustomers)}) of customers with none before, ` +
        `${p.newItems} (${share(p.newItems)}) of products first bought in the test period`,
    );
  }
  if (report.relevance === 'group') {
    out.push('relevance per product group: a listed product counts when the customer bought any product of its group, each group once; catCov counts groups');
  }
  for (const mode of report.modes) {
    for (const k of report.ks) {
      const rows = report.rows.filter((r) => r.mode === mode && r.k === k);
      if (rows.length === 0) continue;
      out.push('', `mode ${mode}, k = ${k} (${rows[0].users} users)`);
      out.push(table(['strategy', ...COLUMNS.map((c) => c.label(k)), 'NDCG lift', '95% CI'], rows.map(metricCells)));
    }
  }
  if (options.breakdowns ?? true) {
    for (const dimension of ['history', 'segment', 'lifecycle'] as BreakdownDimension[]) out.push(...breakdownBlocks(report, dimension));
  }
  return out.join('\n');
}

function metricCells(r: ReportRow): string[] {
  const ci = r.liftInterval?.ndcg;
  return [r.strategy, ...COLUMNS.map((c) => num(r.metrics[c.metric])), pct(r.lift.ndcg), ci ? `${pct(ci.low)}..${pct(ci.high)}` : '-'];
}

/** NDCG@k per group (columns) and strategy (rows), one block per mode x k. */
function breakdownBlocks(report: EvaluationReport, dimension: BreakdownDimension): string[] {
  const rows = report.breakdowns.filter((b) => b.dimension === dimension);
  if (rows.length === 0) return [];
  const out: string[] = [];
  const title = { history: 'by train orders', segment: 'by segment', lifecycle: 'by lifecycle stage' }[dimension];
  for (const mode of report.modes as EvalMode[]) {
    for (const k of report.ks) {
      const here = rows.filter((b) => b.mode === mode && b.k === k);
      if (here.length === 0) continue;
      const groups = [...new Set(here.map((b) => b.group))];
      const users = groups.map((g) => here.find((b) => b.group === g)?.users ?? 0);
      const body = report.strategies.map((strategy) => [
        strategy,
        ...groups.map((g) => num(here.find((b) => b.group === g && b.strategy === strategy)?.metrics.ndcg ?? null)),
      ]);
      out.push('', `NDCG@${k} ${title}, mode ${mode}`);
      out.push(table(['strategy', ...groups.map((g, i) => `${g} (${users[i]})`)], body));
    }
  }
  return out;
}

function num(v: number | null): string {
  return v === null ? '-' : v.toFixed(4);
}

function pct(v: number | null): string {
  return v === null ? '-' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
}

/** Left-aligned first column, right-aligned numbers, two spaces between columns. */
function table(header: string[], body: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
