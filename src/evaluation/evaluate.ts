import type { HistoryEntry, UserContext } from '../recommenders/recommender.js';
import {
  ACCURACY_METRICS,
  HISTORY_BUCKETS,
  METRIC_NAMES,
  historyBucket,
  type BreakdownDimension,
  type AccuracyMetric,
  type BreakdownRow,
  type EvaluationReport,
  type MetricName,
  type ReportRow,
} from './evaluation-report.js';
import { AccuracyAccumulator, PairedLift, RunAccumulator, userAccuracy, type RunContext } from './metric-accumulator.js';
import { itemNovelty, popularTopMask } from './metrics.js';
import type { EvalMode, EvaluationSplit } from './splits.js';
import { GroupSet, groupKeysOf, groupTestSets, keysOfList, type EvalGroups } from './eval-groups.js';
import { topK, type TopKGroups } from './top-k.js';
import { userContextsOf } from './user-contexts.js';

/**
 * A fitted model seen by the runner: writes one score per train-catalog item index into `out`
 * (zeroed before each call); higher is better, <= 0 means "nothing to say" (never recommended).
 * A Recommender's `scoreUser` bound to it fits: `(ctx, out) => model.scoreUser(ctx, out)`.
 */
export type Scorer = (ctx: UserContext, out: Float32Array) => void;

export interface EvaluateOptions {
  split: EvaluationSplit;
  /** One mode or several; each test user is scored once per strategy and ranked per mode. */
  mode: EvalMode | readonly EvalMode[];
  ks: readonly number[];
  /** Strategy name -> scorer; report rows keep this order. */
  scorers: ReadonlyMap<string, Scorer>;
  /** The strategy lifts are computed against (e.g. 'popularity'). */
  baseline: string;
  /** Item-item similarity in [0, 1] for intra-list diversity; without it diversity is null. */
  itemSimilarity?: (a: number, b: number) => number;
  /** Segment of a train user index for the segment breakdown; null = no segment. */
  segmentOf?: (user: number) => string | null;
  /** Lifecycle stage (new, active, silent, churned) of a train user index at the cutoff; null = none. */
  lifecycleOf?: (user: number) => string | null;
  /**
   * The train items' product groups (eval-groups.ts), when the catalogue has them: every list keeps one product
   * per group, and in mode `novel` none of the groups of the user's train purchases, as served. Relevance is then
   * counted per group (eval-groups.ts groupTestSets): a listed product is a hit when the user bought any product of
   * its group in the test period, each group counts once, and in mode `novel` only groups the user had not bought
   * before the cutoff count. Catalog coverage counts groups too.
   */
  groups?: EvalGroups;
  /** Called after each (strategy, user) with done/total scorings. */
  onProgress?: (done: number, total: number) => void;
}

const NO_INTERVALS = Object.freeze(Object.fromEntries(ACCURACY_METRICS.map((m) => [m, null]))) as Record<AccuracyMetric, null>;

/** How many users to score between yields to the event loop, so a server stays responsive. */
const YIELD_EVERY = 64;

/**
 * Scores every test user with every strategy over the full train catalog and computes the protocol's
 * metrics (docs/DESIGN.md). Ranking keeps the top max(ks) by partial selection; in mode
 * `novel` the user's train purchases are excluded from the ranking. Async only to yield to the event loop.
 */
export async function evaluateScorers(opts: EvaluateOptions): Promise<EvaluationReport> {
  const { split, scorers, baseline } = opts;
  const modes: EvalMode[] = typeof opts.mode === 'string' ? [opts.mode] : [...new Set(opts.mode)];
  const ks = [...new Set(opts.ks)].sort((a, b) => a - b);
  if (modes.length === 0) throw new Error('evaluateScorers: no mode given');
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) throw new Error('evaluateScorers: ks must be positive integers');
  if (!scorers.has(baseline)) throw new Error(`evaluateScorers: baseline '${baseline}' is not among the scorers`);
  const maxK = ks[ks.length - 1];
  const strategies = [...scorers.keys()];

  const ds = split.train;
  const m = split.trainMatrix;
  const nItems = ds.itemIds.length;
  const groupsOf = opts.groups;
  const keys = groupsOf && groupKeysOf(groupsOf);
  // Relevant items, or with groups the relevant groups' keys, per test user and mode.
  const tests = groupsOf && keys ? groupTestSets(split.test, groupsOf, keys, (u) => m.indices.subarray(m.indptr[u], m.indptr[u + 1])) : split.test;
  const run = runContext(split, opts.itemSimilarity, keys?.key, keys?.count);

  // Every user who is a test user in at least one requested mode, ascending.
  const userSet = new Set<number>();
  for (const mode of modes) for (const u of tests[mode].keys()) userSet.add(u);
  const users = [...userSet].sort((a, b) => a - b);
  const contexts = userContextsOf(split, userSet);

  const runAcc = strategies.map(() => modes.map(() => ks.map(() => new RunAccumulator(run))));
  const groups = new Map<string, Group>();
  const groupAcc = (dimension: BreakdownDimension, group: string): Group => {
    const key = `${dimension}\u0000${group}`;
    let g = groups.get(key);
    if (!g) {
      const per = <T>(make: () => T) => strategies.map(() => modes.map(() => ks.map(make)));
      groups.set(key, (g = { dimension, group, acc: per(() => new AccuracyAccumulator()), paired: per(() => new PairedLift()) }));
    }
    return g;
  };

  // The baseline is scored first and its users' metrics kept, so each other strategy's lift can be
  // paired user by user (PairedLift): per mode and k, the metrics of user users[i] at i * METRICS.
  const b = strategies.indexOf(baseline);
  const baseValues = modes.map(() => ks.map(() => new Float64Array(users.length * ACCURACY_METRICS.length)));
  const paired = strategies.map(() => modes.map(() => ks.map(() => new PairedLift())));
  const values = new Float64Array(ACCURACY_METRICS.length);

  const scores = new Float32Array(nItems);
  const exclude = new Uint8Array(nItems);
  const bought = groupsOf ? new GroupSet(groupsOf.count) : undefined;
  const allGroups: TopKGroups | undefined = groupsOf && { of: groupsOf.of };
  const novelGroups: TopKGroups | undefined = groupsOf && { of: groupsOf.of, blocked: bought };
  const total = strategies.length * users.length;
  let done = 0;
  for (const s of [b, ...[...strategies.keys()].filter((s) => s !== b)]) {
    const scorer = scorers.get(strategies[s]) as Scorer;
    for (const [i, u] of users.entries()) {
      scores.fill(0);
      scorer(contexts.get(u) as UserContext, scores);
      const history = groupAcc('history', historyBucket(split.trainOrders[u]));
      const segment = opts.segmentOf?.(u) ?? null;
      const segmentAcc = segment !== null ? groupAcc('segment', segment) : null;
      const lifecycle = opts.lifecycleOf?.(u) ?? null;
      const lifecycleAcc = lifecycle !== null ? groupAcc('lifecycle', lifecycle) : null;
      for (let mi = 0; mi < modes.length; mi++) {
        const relevant = tests[modes[mi]].get(u);
        if (!relevant) continue;
        const novel = modes[mi] === 'novel';
        if (novel) for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) exclude[m.indices[p]] = 1;
        if (novel && groupsOf) for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) bought!.add(groupsOf.of[m.indices[p]]);
        const ranked = topK(scores, maxK, novel ? exclude : undefined, undefined, novel ? novelGroups : allGroups);
        if (novel) for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) exclude[m.indices[p]] = 0;
        bought?.clear();
        for (let ki = 0; ki < ks.length; ki++) {
          const list = ranked.length > ks[ki] ? ranked.slice(0, ks[ki]) : ranked;
          userAccuracy(relevant, keys ? keysOfList(keys, list) : list, ks[ki], values);
          runAcc[s][mi][ki].addList(values, list);
          const base = baseValues[mi][ki].subarray(i * ACCURACY_METRICS.length, (i + 1) * ACCURACY_METRICS.length);
          if (s === b) base.set(values);
          else paired[s][mi][ki].add(values, base);
          for (const g of [history, segmentAcc, lifecycleAcc]) {
            if (!g) continue;
            g.acc[s][mi][ki].addUser(values);
            if (s !== b) g.paired[s][mi][ki].add(values, base);
          }
        }
      }
      done++;
      opts.onProgress?.(done, total);
      if (done % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  const rows: ReportRow[] = [];
  for (let mi = 0; mi < modes.length; mi++) {
    for (let ki = 0; ki < ks.length; ki++) {
      const base = runAcc[b][mi][ki].all();
      for (let s = 0; s < strategies.length; s++) {
        const metrics = runAcc[s][mi][ki].all();
        const row = { strategy: strategies[s], mode: modes[mi], k: ks[ki], users: runAcc[s][mi][ki].users, metrics, lift: liftOver(metrics, base, METRIC_NAMES) };
        // The baseline's own lift is 0 by definition: no interval.
        rows.push({ ...row, liftInterval: s === b ? NO_INTERVALS : paired[s][mi][ki].intervals() });
      }
    }
  }

  return {
    split: {
      kind: split.kind,
      cutoff: split.cutoff !== null ? new Date(split.cutoff).toISOString() : null,
      testEnd: split.testEnd !== null ? new Date(split.testEnd).toISOString() : null,
      trainUsers: ds.userIds.length,
      trainItems: nItems,
      trainEvents: ds.eventUser.length,
      testUsers: Object.fromEntries(modes.map((mode) => [mode, tests[mode].size])),
      testPurchases: split.testPurchases,
    },
    modes,
    ks,
    strategies,
    baseline,
    rows,
    breakdowns: breakdownRows(groups, strategies, b, modes, ks),
    relevance: keys ? 'group' : 'product',
  };
}

/** `coverageKey` (with `coverageKeys` of them): what catalog coverage counts each item as, e.g. its group. */
function runContext(split: EvaluationSplit, similarity?: (a: number, b: number) => number, coverageKey?: Int32Array, coverageKeys?: number): RunContext {
  const m = split.trainMatrix;
  const nItems = split.train.itemIds.length;
  // Each (user, item) pair appears once in the CSR, so counting entries per column = distinct buyers.
  const buyers = new Int32Array(nItems);
  for (let p = 0; p < m.indices.length; p++) buyers[m.indices[p]]++;
  let trainUsers = 0;
  for (let u = 0; u < m.rows; u++) if (m.indptr[u + 1] > m.indptr[u]) trainUsers++;
  const novelty = new Float64Array(nItems);
  for (let i = 0; i < nItems; i++) novelty[i] = itemNovelty(buyers[i], trainUsers);
  return { catalogSize: coverageKey ? (coverageKeys as number) : nItems, coverageKey, itemNovelty: novelty, top100: popularTopMask(buyers, 100), similarity };
}

/** value / baseline - 1 per metric of `names`; null where either is null or the baseline is 0. */
function liftOver<M extends string>(metrics: Record<M, number | null>, base: Record<M, number | null>, names: readonly M[]): Record<M, number | null> {
  const lift = {} as Record<M, number | null>;
  for (const name of names) {
    const v = metrics[name];
    const b = base[name];
    lift[name] = v === null || b === null || b === 0 ? null : v / b - 1;
  }
  return lift;
}

/** One breakdown group's accumulators, by strategy, mode and k: metrics, and lifts paired with the baseline. */
interface Group {
  dimension: BreakdownDimension;
  group: string;
  acc: AccuracyAccumulator[][][];
  paired: PairedLift[][][];
}

function breakdownRows(groups: Map<string, Group>, strategies: string[], b: number, modes: EvalMode[], ks: number[]): BreakdownRow[] {
  const rank = (g: { dimension: BreakdownDimension; group: string }) =>
    g.dimension === 'history' ? (HISTORY_BUCKETS as readonly string[]).indexOf(g.group) : 0;
  const ordered = [...groups.values()].sort(
    (a, b) => a.dimension.localeCompare(b.dimension) || rank(a) - rank(b) || a.group.localeCompare(b.group),
  );
  const rows: BreakdownRow[] = [];
  for (const g of ordered) {
    for (let mi = 0; mi < modes.length; mi++) {
      for (let ki = 0; ki < ks.length; ki++) {
        for (let s = 0; s < strategies.length; s++) {
          const acc = g.acc[s][mi][ki];
          // A group can be empty in one mode (e.g. users who only repurchased exist only in `all`).
          if (acc.users === 0) continue;
          const metrics = acc.means();
          const lift = liftOver(metrics, g.acc[b][mi][ki].means(), ACCURACY_METRICS);
          const liftInterval = s === b ? NO_INTERVALS : g.paired[s][mi][ki].intervals();
          rows.push({ dimension: g.dimension, group: g.group, strategy: strategies[s], mode: modes[mi], k: ks[ki], users: acc.users, metrics, lift, liftInterval });
        }
      }
    }
  }
  return rows;
}
