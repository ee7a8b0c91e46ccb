/**
 * What predicts the held-out month's novel coverage from data before the cutoff (issue 11, fifty-seventh session):
 * nested validation, nothing on or after an outer date D is read. At D the last 30 days [D-30, D) stand in for the
 * held-out month and the three 30-day windows before them for tuning's windows. Every period's sources are fitted
 * on every purchase before it (bench/lib/held-out-fold.ts, the default recipe), and for each blend (the recipe's
 * written blend, with beta 0 and 1, each source that lists new items alone) the period's novel lists are counted
 * over every customer who bought something new in it.
 *
 *   npx tsx bench/coverage-buyer-count.ts [DIR] [--dates D1,D2] [--data FILE]
 *
 * Per outer date and blend it prints the stand-in month's coverage (the truth) beside the estimators: `every` the
 * windows' mean coverage over every customer's lists (tune.coverageEstimate every-customer); `last` the last
 * window's alone; `rare-last` the windows' coverage rarefied (coverage-estimate.ts rarefiedDistinct: the expected
 * distinct items of a random subsample of the window's lists) to the last window's list count, the count known at
 * the cutoff; `rare-year` rarefied to the last window's count scaled by the buyers of the same 30 days a year before
 * the stand-in over those a year before the last window (only where the data reach back); `rare-true` rarefied to
 * the stand-in's own list count (not known at the cutoff: how much of the gap the buyer count explains). Also per
 * period: the novel lists, the distinct buyers, the products first bought in it. The last line is JSON.
 */
import { loadavg } from 'node:os';
import { scoreBlendRange, type BlendConfig } from '../src/evaluation/blend-cache.js';
import { rarefiedDistinct } from '../src/evaluation/coverage-estimate.js';
import type { RollingFold } from '../src/evaluation/rolling-fold.js';
import type { RowSplitInput } from '../src/evaluation/splits.js';
import { loadRecipe } from '../src/training/recipe.js';
import { heldOutFold } from './lib/held-out-fold.js';
import { readGenericShop } from './lib/generic-shop.js';
import { dataFile, loadOnlineRetail, optionTaker, withoutDataArg } from './lib/online-retail.js';

const DAY = 86_400_000;
const YEAR = 364 * DAY; // whole weeks, so the same weekdays
const args = withoutDataArg();
const option = optionTaker(args);
const datesArg = option('--dates');
// --periods P1,P2 --dump FILE: only fit and count those periods (starts), written to FILE, so a shop's periods run in
// processes of their own; --dumps F1,F2,...: read such files instead of fitting (every period the dates need).
const periodsArg = option('--periods');
const dumpArg = option('--dump');
const dumpsArg = option('--dumps');
const dir = args[0];
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const shop: RowSplitInput = dir ? await readGenericShop(dir) : await loadOnlineRetail(dataFile());
const name = dir ?? 'online-retail';
const dates = (datesArg ?? (dir ? '2026-08-02T21:59:00Z,2026-09-01T21:59:00Z' : '2011-08-01,2011-09-01')).split(',').map((d) => Date.parse(d));
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const f3 = (x: number) => x.toFixed(3);
const recipe = await loadRecipe('default');
const events = [...shop.events];
const first = new Map<string, number>();
for (const e of events) if (!first.has(e.itemId) || e.ts < first.get(e.itemId)!) first.set(e.itemId, e.ts);
const dataStart = events.reduce((m, e) => Math.min(m, e.ts), Number.POSITIVE_INFINITY);
const buyersIn = (from: number, to: number) => new Set(events.filter((e) => e.ts >= from && e.ts < to).map((e) => e.userId)).size;
const newIn = (from: number, to: number) => [...first.values()].filter((t) => t >= from && t < to).length;
console.log(`${name}: ${events.length} purchases from ${iso(dataStart)}; load ${loadavg()[0].toFixed(1)}`);

type Blend = BlendConfig;
const blends: [string, Blend][] = [
  ['written', { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: recipe.hybrid.popularityDiscount, fullHistoryOrders: recipe.hybrid.fullHistoryOrders }],
  ['written, beta 0', { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: 0, fullHistoryOrders: recipe.hybrid.fullHistoryOrders }],
  ['written, beta 1', { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: 1, fullHistoryOrders: recipe.hybrid.fullHistoryOrders }],
  ...['ease', 'als', 'item-knn', 'cooccurrence', 'content', 'popularity', 'trend'].filter((s) => s in recipe.sources).map((s): [string, Blend] => [`${s} alone`, { weights: { cold: { [s]: 1 }, warm: { [s]: 1 } }, fullHistoryOrders: recipe.hybrid.fullHistoryOrders }]),
];

interface Period {
  start: number;
  lists: number;
  buyers: number;
  newProducts: number;
  /** Per blend: the catalogue and the novel lists' incidence per shown item. */
  counts: Map<string, { catalogue: number; incidence: Int32Array }>;
}
const periods = new Map<number, Period>();
function period(start: number): Period {
  const had = periods.get(start);
  if (had) return had;
  const t = performance.now();
  const fold: RollingFold = heldOutFold(shop, recipe, start);
  const cache = fold.cache;
  cache.coverageLists = { novel: 1, all: 1 }; // only so the parts carry each shown item's incidence
  const counts = new Map<string, { catalogue: number; incidence: Int32Array }>();
  let lists = 0;
  for (const [label, blend] of blends) {
    const part = scoreBlendRange(cache, blend, 10, 0, cache.users.length).novel;
    lists = part.ndcg.length + (part.listedOnly ?? 0);
    counts.set(label, { catalogue: part.catalogue ?? cache.groupKeys?.count ?? cache.itemCount, incidence: part.incidence! });
  }
  const p: Period = { start, lists, buyers: buyersIn(start, start + 30 * DAY), newProducts: newIn(start, start + 30 * DAY), counts };
  console.log(`  period ${iso(start)}: fitted and counted in ${((performance.now() - t) / 1000).toFixed(1)} s; ${lists} novel lists, ${p.buyers} buyers, ${p.newProducts} products first bought`);
  periods.set(start, p);
  return p;
}
const coverage = (p: Period, label: string, to = Number.POSITIVE_INFINITY) => {
  const c = p.counts.get(label)!;
  return rarefiedDistinct(c.incidence, p.lists, to) / c.catalogue;
};
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

import { readFileSync, writeFileSync } from 'node:fs';
if (periodsArg && dumpArg) {
  const out = periodsArg.split(',').map((d) => period(Date.parse(d))).map((p) => ({ ...p, counts: Object.fromEntries([...p.counts].map(([k, v]) => [k, { catalogue: v.catalogue, incidence: [...v.incidence] }])) }));
  writeFileSync(dumpArg, JSON.stringify(out));
  const cpu = process.cpuUsage(cpu0);
  console.log(`dumped ${out.length} periods to ${dumpArg} in ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);
  process.exit(0);
}
if (dumpsArg) for (const file of dumpsArg.split(',')) for (const p of JSON.parse(readFileSync(file, 'utf8')) as (Omit<Period, 'counts'> & { counts: Record<string, { catalogue: number; incidence: number[] }> })[]) {
  periods.set(p.start, { ...p, counts: new Map(Object.entries(p.counts).map(([k, v]) => [k, { catalogue: v.catalogue, incidence: Int32Array.from(v.incidence) }])) });
}
const rows: Record<string, unknown>[] = [];
for (const D of dates) {
  if (dumpsArg && [1, 2, 3, 4].some((j) => !periods.has(D - j * 30 * DAY))) {
    console.log(`${iso(D)}: a period it needs was not dumped; skipped`);
    continue;
  }
  const standIn = period(D - 30 * DAY);
  const windows = [3, 2, 1].map((j) => period(D - 30 * DAY - j * 30 * DAY));
  const last = windows[windows.length - 1];
  // A year before: the buyers of the stand-in's 30 days and of the last window's, from purchases before D only.
  const yearBack = D - 30 * DAY - 30 * DAY - YEAR >= dataStart;
  const yearRatio = yearBack ? buyersIn(standIn.start - YEAR, standIn.start - YEAR + 30 * DAY) / Math.max(1, buyersIn(last.start - YEAR, last.start - YEAR + 30 * DAY)) : undefined;
  const expected = { last: last.lists, year: yearRatio === undefined ? undefined : Math.round(last.lists * yearRatio), true: standIn.lists };
  console.log(`${iso(D)}: stand-in ${iso(standIn.start)} (${standIn.lists} lists, ${standIn.newProducts} new products); windows ${windows.map((w) => `${iso(w.start)} ${w.lists}/${w.newProducts}`).join(', ')}; expected lists: last ${expected.last}, year ${expected.year ?? '-'}`);
  for (const [label] of blends) {
    const truth = coverage(standIn, label);
    const est = {
      every: mean(windows.map((w) => coverage(w, label))),
      last: coverage(last, label),
      rareLast: mean(windows.map((w) => coverage(w, label, expected.last))),
      ...(expected.year !== undefined ? { rareYear: mean(windows.map((w) => coverage(w, label, expected.year!))) } : {}),
      rareTrue: mean(windows.map((w) => coverage(w, label, expected.true))),
    };
    console.log(`  ${label.padEnd(18)} truth ${f3(truth)} | ${Object.entries(est).map(([k, v]) => `${k} ${f3(v)} (${v - truth >= 0 ? '+' : ''}${f3(v - truth)})`).join(' | ')}`);
    rows.push({ date: iso(D), blend: label, truth, ...est, lists: { standIn: standIn.lists, windows: windows.map((w) => w.lists), expected }, newProducts: { standIn: standIn.newProducts, windows: windows.map((w) => w.newProducts) } });
  }
}
const cpu = process.cpuUsage(cpu0);
console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, load ${loadavg()[0].toFixed(1)}`);
console.log(`summary ${JSON.stringify({ shop: name, rows })}`);
