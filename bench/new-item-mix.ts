/**
 * Does the held-out month's novel coverage move with its new-item mix? (issue 11, fifty-eighth session, helper q5;
 * the rule pre-registered in bench/README "The new-item mix as the cause of the held-out month's coverage gap").
 * Nested as bench/coverage-buyer-count.ts: at an outer date D the last 30 days [D-30, D) stand in for the held-out
 * month and the three 30-day windows before them for tuning's; only purchases before D are read (they are cut here,
 * before any split). Per period [s, s+30 d) it prints, from the fold's own split (validationSplit; group keys as the
 * blend cache counts them):
 *   S1 fresh-target share: the novel lists with a target key first bought in [s-30 d, s), over the novel lists;
 *   S2 launch share: known customers' purchase lines of products first bought in the period, over all theirs;
 *   S3 fresh catalogue share: the train catalogue's keys first bought in [s-30 d, s), over its keys;
 *   W  warm share (exploratory, found after the rule was judged): the novel lists' mean cold-to-warm weight
 *      interpolation factor (hybrid.ts interpolateWeights: log1p(orders - 1) / log(fullHistoryOrders), at most 1);
 * and per date each one's gap (stand-in minus the windows' mean). With --coverage F1,F2 (outputs of
 * coverage-buyer-count.ts --dumps, their `summary` lines) it also prints the written blend's coverage gap g (truth
 * minus `every`) and whether each statistic's gap has its sign (|g| >= 0.005). With --dumps F1,F2 (coverage-buyer-count.ts
 * --dump files) each period's own written-blend novel coverage (distinct shown keys over the catalogue) is printed too.
 *
 *   npx tsx bench/new-item-mix.ts [DIR] [--data FILE] [--dates D1,D2] [--coverage F1,F2] [--dumps F1,F2]
 */
import { readFileSync } from 'node:fs';
import { evalGroupsOf, groupKeysOf, groupTestSets } from '../src/evaluation/eval-groups.js';
import { freshKeyShare, freshTargetShare, keyFirstBought } from '../src/evaluation/new-item-mix.js';
import { validationSplit, type RowSplitInput } from '../src/evaluation/splits.js';
import { loadRecipe } from '../src/training/recipe.js';
import { readGenericShop } from './lib/generic-shop.js';
import { dataFile, loadOnlineRetail, optionTaker, withoutDataArg } from './lib/online-retail.js';

const DAY = 86_400_000;
const args = withoutDataArg();
const option = optionTaker(args);
const datesArg = option('--dates');
const coverageArg = option('--coverage');
// --dumps F1,F2: coverage-buyer-count.ts --dump files; each period's own written-blend coverage is printed beside its statistics.
const dumpsArg = option('--dumps');
const dir = args[0];
const shop: RowSplitInput = dir ? await readGenericShop(dir) : await loadOnlineRetail(dataFile());
const name = dir ?? 'online-retail';
const dates = (datesArg ?? (dir ? '2026-08-02T21:59:00Z,2026-09-01T21:59:00Z' : '2011-08-01,2011-09-01')).split(',').map((d) => Date.parse(d));
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const f3 = (x: number) => x.toFixed(3);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${f3(x)}`;
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const fullHistoryOrders = (await loadRecipe('default')).hybrid.fullHistoryOrders ?? 10;
const warmth = (orders: number) => Math.min(1, Math.log1p(Math.max(0, orders - 1)) / Math.log(fullHistoryOrders));

interface Stats {
  s1: number;
  s2: number;
  s3: number;
  w: number;
  lists: number;
  coverage?: number;
}

/** The statistics of the period [start, start + 30 d), from purchases before `before` only. */
function periodStats(before: number, start: number): Stats {
  const events = [...shop.events].filter((e) => e.ts < before);
  const split = validationSplit({ ...shop, events }, { end: start + 30 * DAY, days: 30 });
  const train = split.train;
  const groups = evalGroupsOf(train.items);
  const keys = groups && groupKeysOf(groups);
  const m = split.trainMatrix;
  const novel = groups && keys ? groupTestSets(split.test, groups, keys, (u) => m.indices.subarray(m.indptr[u], m.indptr[u + 1])).novel : split.test.novel;
  const first = keyFirstBought(train.eventItem, train.eventTs, keys ? keys.count : train.itemIds.length, keys?.key);
  const s1 = freshTargetShare(novel, first, start - 30 * DAY, start);
  const tp = split.testPurchases;
  const s2 = tp.newItems / Math.max(1, tp.counted + tp.newItems);
  const s3 = freshKeyShare(first, start - 30 * DAY, start);
  const w = mean([...novel.keys()].map((u) => warmth(split.trainOrders[u])));
  console.log(`  period ${iso(start)}: S1 ${f3(s1.share)} (${s1.fresh} of ${s1.total} novel lists) | S2 ${f3(s2)} (${tp.newItems} of ${tp.counted + tp.newItems} lines) | S3 ${f3(s3.share)} (${s3.fresh} of ${s3.total} keys) | W ${f3(w)}${periodCoverage.has(start) ? ` | written coverage ${f3(periodCoverage.get(start)!)}` : ''}`);
  return { s1: s1.share, s2, s3: s3.share, w, lists: s1.total, ...(periodCoverage.has(start) ? { coverage: periodCoverage.get(start) } : {}) };
}

// The written blend's truth and `every` per date, from coverage-buyer-count.ts's summary lines.
const coverage = new Map<string, { truth: number; every: number }>();
for (const file of coverageArg?.split(',') ?? []) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('summary ')) continue;
    const { rows } = JSON.parse(line.slice('summary '.length)) as { rows: { date: string; blend: string; truth: number; every: number }[] };
    for (const r of rows) if (r.blend === 'written') coverage.set(r.date, { truth: r.truth, every: r.every });
  }
}

// Each dumped period's written-blend coverage: the keys its novel lists show, over its catalogue.
const periodCoverage = new Map<number, number>();
for (const file of dumpsArg?.split(',') ?? []) {
  for (const p of JSON.parse(readFileSync(file, 'utf8')) as { start: number; counts: Record<string, { catalogue: number; incidence: number[] }> }[]) {
    const c = p.counts.written;
    periodCoverage.set(p.start, c.incidence.filter((x) => x > 0).length / c.catalogue);
  }
}

console.log(`${name}: ${[...shop.events].length} purchases`);
const out: Record<string, unknown>[] = [];
for (const D of dates) {
  console.log(`${iso(D)}:`);
  const standIn = periodStats(D, D - 30 * DAY);
  const windows = [3, 2, 1].map((j) => periodStats(D, D - 30 * DAY - j * 30 * DAY));
  const gap = (k: 's1' | 's2' | 's3' | 'w') => standIn[k] - mean(windows.map((w) => w[k]));
  const gaps = { s1: gap('s1'), s2: gap('s2'), s3: gap('s3'), w: gap('w') };
  const cov = coverage.get(iso(D));
  const g = cov ? cov.truth - cov.every : undefined;
  const agrees = (x: number) => (g === undefined ? '-' : Math.abs(g) >= 0.005 && Math.sign(g) === Math.sign(x) ? 'agrees' : 'misses');
  console.log(`  gaps (stand-in minus windows' mean): S1 ${signed(gaps.s1)} ${agrees(gaps.s1)} | S2 ${signed(gaps.s2)} ${agrees(gaps.s2)} | S3 ${signed(gaps.s3)} ${agrees(gaps.s3)} | W ${signed(gaps.w)} ${agrees(gaps.w)}${g === undefined ? '' : ` | written coverage gap g ${signed(g)} (truth ${f3(cov!.truth)}, every ${f3(cov!.every)})`}`);
  out.push({ date: iso(D), standIn, windows, gaps, ...(g === undefined ? {} : { g, s1Agrees: agrees(gaps.s1) === 'agrees' }) });
}
console.log(`summary ${JSON.stringify({ shop: name, rows: out })}`);
