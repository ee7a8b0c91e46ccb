/**
 * Why tuning's windows' novel coverage does not predict the held-out month's (issue 11, fifty-fourth session).
 * Validation only: every period scored ends at most 30 days after an outer date D before the shop's test period,
 * and the shop's purchases from the last held-out month's end on are dropped as soon as they are read.
 *
 *   npx tsx bench/coverage-decomposition.ts [DIR] [--dates D1,D2] [--data FILE]
 *
 * For fixed blends (the same model on both sides: EASE alone, the default recipe's written blend, and a few single
 * sources) it counts novel catalogue coverage (distinct product groups, or products, in the novel top-10 lists over
 * the catalogue) per outer date D:
 *   - `tuning`: as tuning at D counts it by default: tune.folds 3 windows of 30 days ending at D, each fold's sources
 *     fitted on the purchases before its window (ALS, content, buy-again and repurchase on the tuning sample's only,
 *     rolling-fold.ts POPULATION_FITTED), the lists of the sample's customers who bought in the window, over the
 *     window's own catalogue (tune.coverageCatalogue `window`), averaged over the windows;
 *   - `held out`: the 30 days from D, sources fitted on every purchase before D, every customer's lists, over the
 *     catalogue before D (what bench/coverage-estimate.ts reports);
 * and the tuning count with one factor switched at a time: the catalogue (`served`: every product bought before D),
 * the lists counted (every customer of the window), which customers (as many lists, drawn among the customers the
 * sample left out), the model (the sample-fitted sources fitted on every customer), the windows (the last one only
 * instead of the mean of three), the sample's lists extrapolated to every customer's (tune.coverageEstimate
 * `extrapolated`); then the switches together. The last line is JSON (`summary {...}`).
 */
import { loadavg } from 'node:os';
import { scoreBlend, type BlendCache, type BlendConfig } from '../src/evaluation/blend-cache.js';
import { catalogueKeysBefore } from '../src/evaluation/coverage-catalogue.js';
import { RollingFold } from '../src/evaluation/rolling-fold.js';
import { purchasesOf, type RowSplitInput } from '../src/evaluation/splits.js';
import { sampleCustomers } from '../src/evaluation/tuning-sample.js';
import { loadRecipe, tuningSampleBounds } from '../src/training/recipe.js';
import { readGenericShop } from './lib/generic-shop.js';
import { subsetCache } from './lib/subset-cache.js';
import { loadOnlineRetail } from './lib/online-retail.js';
import { shopBenchArgs } from './lib/shop-bench-args.js';

const DAY = 86_400_000;
const { dir, values, dataFile } = shopBenchArgs('usage: npx tsx bench/coverage-decomposition.ts [DIR] [--dates D1,D2] [--data FILE]', { dates: { type: 'string' } });
const datesArg = values.dates;
const iso = (ms: number) => new Date(ms).toISOString();
const day = (ms: number) => iso(ms).slice(0, 10);
const f3 = (x: number) => x.toFixed(3);

const loaded: RowSplitInput = dir ? await readGenericShop(dir) : await loadOnlineRetail(dataFile());
const name = dir ?? 'online-retail';
const dates = (datesArg ?? (dir ? '2026-08-02T21:59:00Z,2026-09-01T21:59:00Z' : '2011-06-01,2011-07-01')).split(',').map((d) => Date.parse(d));
// Nothing on or after the last held-out month's end is kept (validation only).
const readUntil = Math.max(...dates) + 30 * DAY;
const read = [...loaded.events];
const shop: RowSplitInput = { ...loaded, events: read.filter((e) => e.ts < readUntil) };
console.log(`${name}: ${(shop.events as unknown[]).length} purchases before ${iso(readUntil)} kept (of ${read.length} read); load average ${loadavg()[0].toFixed(1)}`);

const recipe = await loadRecipe('default');
const tune = recipe.tune!;
const columns = purchasesOf(shop);
const catalogueBefore = (at: number) => catalogueKeysBefore(columns, shop.items, at);
const FOLDS = tune.folds;
const DAYS = tune.days;

type Blend = Omit<BlendConfig, 'fullHistoryOrders'>;
const blends: [string, Blend][] = [
  ['ease alone', { weights: { cold: { ease: 1 }, warm: { ease: 1 } } }],
  ['written blend', { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: recipe.hybrid.popularityDiscount }],
  ...['item-knn', 'als', 'trend', 'popularity'].filter((s) => s in recipe.sources).map((s): [string, Blend] => [`${s} alone`, { weights: { cold: { [s]: 1 }, warm: { [s]: 1 } } }]),
];

/** Distinct novel keys the blend's top-10 lists show over the cache's users at `keep` (positions), and how many lists. */
function distinctOf(cache: BlendCache, blend: Blend, keep?: readonly number[], lists?: number, ceiling?: number): { distinct: number; lists: number } {
  const c = keep ? subsetCache(cache, keep) : cache;
  // Coverage over a catalogue of 1 is the distinct count itself; extrapolated, the ceiling is the catalogue.
  const counted: BlendCache = { ...c, coverageCatalogue: ceiling ?? 1, coverageLists: lists === undefined ? undefined : { novel: lists, all: lists } };
  const s = scoreBlend(counted, { ...blend, fullHistoryOrders: recipe.hybrid.fullHistoryOrders }, 10);
  return { distinct: s.novel.coverage * (ceiling ?? 1), lists: s.novel.users };
}

/** Every source of the recipe fitted on the fold whose window ends at `end` (30 days), scoring `scored` only when given. */
function foldAt(end: number, scored?: readonly string[]): RollingFold {
  const fold = new RollingFold(shop, { end: iso(end), days: DAYS, k: 10, fullHistoryOrders: recipe.hybrid.fullHistoryOrders, depth: recipe.hybrid.sourceLimit ?? 100, discountShare: recipe.hybrid.discountShare, ...(scored ? { scored } : {}) });
  for (const [source, s] of Object.entries(recipe.sources)) {
    fold.fit(source, s.recommender, s.params as Record<string, unknown>, 0);
    fold.keep(source, 0);
  }
  return fold;
}

/** A stable shuffle (mulberry32) for drawing as many customers as the sample has among those it left out. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const samples = new Map(dates.map((d) => [d, sampleCustomers(shop, tuningSampleBounds(tune), d)]));
for (const [d, s] of samples) console.log(`${day(d)}: tuning's sample ${s.kept} of ${s.customers} customers; catalogue before it ${catalogueBefore(d)}`);
const windowEnds = (d: number) => Array.from({ length: FOLDS }, (_, f) => d - (FOLDS - 1 - f) * DAYS * DAY);

// Per window or held-out month (by its end), per blend: what every customer's lists show, and per outer date the
// sample's customers' lists (from the every-customer fit: the model switch), a same-size draw of the others', and
// the tuning fold's own count (sources fitted as tuning's fold fits them).
interface Count { distinct: number; lists: number }
interface Cell {
  every: Count;
  own: number; // the fold's own catalogue (keys bought before the window)
  bySample: Map<number, { sampleFit: Count; everyFit: Count; others?: Count; extrapolated?: number }>;
}
const cells = new Map<string, Cell>(); // `${end}|${blend}`
const ends = [...new Set(dates.flatMap((d) => [...windowEnds(d), d + 30 * DAY]))].sort((a, b) => a - b);
for (const end of ends) {
  const t0 = performance.now();
  const start = end - DAYS * DAY;
  const own = catalogueBefore(start);
  const fold = foldAt(end);
  const ids = fold.split.train.userIds;
  for (const [label, blend] of blends) {
    const every = distinctOf(fold.cache, blend);
    const cell: Cell = { every, own, bySample: new Map() };
    // The fold's own catalogue, as tuning divides by it: the default count must equal the distinct count over it.
    const check = scoreBlend(fold.cache, { ...blend, fullHistoryOrders: recipe.hybrid.fullHistoryOrders }, 10).novel.coverage;
    if (Math.abs(check - every.distinct / own) > 1e-9) throw new Error(`own catalogue ${own} does not give the fold's coverage ${check} at ${day(end)}`);
    for (const d of dates) {
      if (!windowEnds(d).includes(end) && end !== d + 30 * DAY) continue;
      const s = samples.get(d)!;
      const inSample = new Set(s.scored ?? []);
      const keep = fold.cache.users.flatMap((u, j) => (inSample.size === 0 || inSample.has(ids[u]) ? [j] : []));
      const outside = fold.cache.users.flatMap((u, j) => (inSample.size > 0 && !inSample.has(ids[u]) ? [j] : []));
      const drawn = outside.length >= keep.length ? shuffled(outside, 7).slice(0, keep.length).sort((a, b) => a - b) : undefined;
      const everyFit = distinctOf(fold.cache, blend, keep);
      cell.bySample.set(d, { sampleFit: everyFit, everyFit, ...(drawn ? { others: distinctOf(fold.cache, blend, drawn) } : {}) });
    }
    cells.set(`${end}|${label}`, cell);
  }
  console.log(`fold ending ${day(end)} (every customer): ${fold.cache.users.length} customers, catalogue ${own}, fitted and counted in ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0].toFixed(1)}`);
}
// Tuning's own folds: sample-scored, the sample-fitted sources on the sample (only where the sample leaves customers out).
for (const d of dates) {
  const s = samples.get(d)!;
  for (const end of windowEnds(d)) {
    const t0 = performance.now();
    const fold = s.scored ? foldAt(end, s.scored) : undefined;
    for (const [label, blend] of blends) {
      const cell = cells.get(`${end}|${label}`)!;
      const entry = cell.bySample.get(d)!;
      if (fold) {
        entry.sampleFit = distinctOf(fold.cache, blend);
        entry.extrapolated = distinctOf(fold.cache, blend, undefined, cell.every.lists, catalogueBefore(d)).distinct;
      } else entry.extrapolated = entry.sampleFit.distinct;
    }
    if (fold) console.log(`tuning's fold at ${day(d)} ending ${day(end)} (sample): ${fold.cache.users.length} customers, ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0].toFixed(1)}`);
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows: Record<string, unknown>[] = [];
for (const d of dates) {
  const served = catalogueBefore(d);
  console.log(`\n${name} ${day(d)}: catalogue before D ${served}; windows ending ${windowEnds(d).map(day).join(', ')}; held out to ${day(d + 30 * DAY)}`);
  console.log('  blend            | tuning (reach) | cat served | every cust | others | model | last win | extrap | extrap+cat | cat+every | cat+every+last | held out (sample) | tuning/held');
  for (const [label] of blends) {
    const ws = windowEnds(d).map((e) => cells.get(`${e}|${label}`)!);
    const per = ws.map((c) => c.bySample.get(d)!);
    const tuning = mean(ws.map((c, i) => per[i].sampleFit.distinct / c.own));
    const reach = mean(ws.map((c, i) => per[i].sampleFit.distinct / Math.min(c.own, 10 * per[i].sampleFit.lists)));
    const catServed = mean(per.map((p) => p.sampleFit.distinct / served));
    const every = mean(ws.map((c) => c.every.distinct / c.own));
    const others = per.every((p) => p.others) ? mean(ws.map((c, i) => per[i].others!.distinct / c.own)) : undefined;
    const model = mean(ws.map((c, i) => per[i].everyFit.distinct / c.own));
    const last = per[FOLDS - 1].sampleFit.distinct / ws[FOLDS - 1].own;
    const extrap = mean(ws.map((c, i) => per[i].extrapolated! / c.own));
    const extrapServed = mean(per.map((p) => p.extrapolated! / served));
    const catEvery = mean(ws.map((c) => c.every.distinct / served));
    const catEveryLast = ws[FOLDS - 1].every.distinct / served;
    const h = cells.get(`${d + 30 * DAY}|${label}`)!;
    const held = h.every.distinct / h.own;
    const heldSample = h.bySample.get(d)!.everyFit.distinct / h.own;
    const lists = { tuning: per.map((p) => p.sampleFit.lists), every: ws.map((c) => c.every.lists), held: h.every.lists, heldSample: h.bySample.get(d)!.everyFit.lists };
    console.log(`  ${label.padEnd(16)} | ${f3(tuning)} (${f3(reach)}) | ${f3(catServed)} | ${f3(every)} | ${others === undefined ? '  -  ' : f3(others)} | ${f3(model)} | ${f3(last)} | ${f3(extrap)} | ${f3(extrapServed)} | ${f3(catEvery)} | ${f3(catEveryLast)} | ${f3(held)} (${f3(heldSample)}) | ${f3(tuning / held)}`);
    console.log(`  ${''.padEnd(16)}   lists: tuning ${lists.tuning.join('/')}, every ${lists.every.join('/')}, held out ${lists.held} (sample ${lists.heldSample}); catalogues ${ws.map((c) => c.own).join('/')} -> ${served}`);
    rows.push({ shop: name, date: day(d), blend: label, tuning, reach, catServed, every, others, model, last, extrap, extrapServed, catEvery, catEveryLast, held, heldSample, lists, catalogues: { windows: ws.map((c) => c.own), served } });
  }
}
console.log(`summary ${JSON.stringify({ shop: name, rows })}`);
