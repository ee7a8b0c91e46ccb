/**
 * Validation-only studies on UCI Online Retail: everything here reads the rolling-origin validation
 * windows before a cutoff, never the test period after it (choose here, then report the test once
 * with bench/accuracy.ts).
 *
 * Every command takes --recipe NAME (default: default), a recipe of models/.
 *
 *   npx tsx bench/validation.ts alone SOURCE 'VARIANTS' [--cutoff 2011-09-01] [--data FILE]
 *     fits the recipe source SOURCE with each hyperparameter set of the JSON
 *     array VARIANTS (merged over the recipe's) on the three 30-day windows before the cutoff and prints,
 *     per window, its novel and all-mode NDCG@10 alone and their sum (the tuner's objective).
 *
 *   npx tsx bench/validation.ts compare SOURCE [--cutoffs 2011-09-01,2011-10-01,2011-11-01] [--data FILE]
 *     tunes the recipe as a training does (tuneRecipeOn) with and without SOURCE, per cutoff,
 *     and prints the tuned blend's objective per window and its validation NDCG.
 *
 *   npx tsx bench/validation.ts tuned [--cutoffs 2011-09-01,2011-10-01,2011-11-01] [--data FILE]
 *     tunes the recipe as a training does (tuneRecipeOn) per cutoff and prints the tuned blend's
 *     objective per window, its validation NDCG and the weights it chose.
 *
 *   npx tsx bench/validation.ts horizon [--ends 2011-08-01,2011-09-01] [--days 30,60,90] [--data FILE]
 *     fits the recipe's sources on windows of each length ending at each date and prints the
 *     recipe's blend's all-mode NDCG@10 beside buy-again's: does the blend's edge depend on the window length?
 *
 *   npx tsx bench/validation.ts drift [--from 2011-06-01] [--days 30,60,90] [--tune '{"folds":2,"days":60}']
 *                                     [--windows back-to-back|to-end] [--coverage-on mean|least] [--data FILE]
 *     tunes the recipe as a training does on the data before --from, then scores the tuned blend (with
 *     its novel coverage) and each source alone on windows of each length starting at --from (out of
 *     sample for the tuning): does the tuned blend's edge over its sources hold over longer horizons, in
 *     each mode? --tune replaces the recipe's tune section (fold count and length); --windows and
 *     --coverage-on are tuning's experimental options (RollingTuneOptions).
 *
 *   npx tsx bench/validation.ts stack [--held 2011-07-03,2011-08-02,2011-09-01] [--l2 10] [--data FILE]
 *     per held-out 30-day window ending at each date: tunes the recipe on the three windows before it,
 *     fits a logistic regression on those windows' new-item candidates (each source's score, the tuned
 *     blend, item facts; bench/lib/stacked-ranker.ts), and prints the held-out window's novel NDCG@10 and
 *     coverage of the tuned blend beside the regression's, alone and with the least (1 + buyers)^-beta
 *     that gives coverage >= 0.30 on the windows it learned from. Does stacking beat the tuned weights?
 *
 *   npx tsx bench/validation.ts sample [--from 2011-06-01,2011-07-01,2011-08-01] [--max 500] [--once N] [--data FILE]
 *     per date, tunes the recipe on the data before it from a sample of --max customers drawn two ways:
 *     uniformly (as tuning draws, sampleCustomers), and stratified (the customers the validation windows
 *     can judge, a purchase in a window and one before it, drawn apart and given at least half the
 *     sample); prints the validation customers each sample gives a window, the weights tuned, and the
 *     tuned blend's novel and all-mode NDCG@10 on the 30 days from the date, fitted on every customer (out
 *     of sample for the tuning). A cap under the shop's 4,334 customers stands for a shop larger than
 *     tune.maxCustomers: 500 is 5,000 at ten times. --once N adds N customers who buy once, each a copy of
 *     a random order of the shop's (seeded), so the shop looks like one whose customers mostly buy once
 *     (the fortieth session's fashion shop: 78%). The stratified draw was tried for tuning and not kept
 *     (bench/README.md "A tuning sample of the customers validation can judge").
 *
 * The file: --data FILE, else ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz.
 */
import { RollingFold } from '../src/evaluation/rolling-fold.js';
import { foldEnds } from '../src/evaluation/rolling-tune.js';
import { sampleCustomers, type CustomerSample } from '../src/evaluation/tuning-sample.js';
import type { PurchaseRow } from '../src/recommenders/dataset.js';
import { inputRows, type RowSplitInput } from '../src/evaluation/splits.js';
import { mulberry32 } from '../src/recommenders/seeded-random.js';
import { loadRecipe, parseRecipe, withTuning, type Recipe } from '../src/training/recipe.js';
import { recipeToRaw, tuneRecipeOn } from '../src/training/tune-for-training.js';
import { fitLogistic } from '../src/recommenders/logistic.js';
import { dataFile, loadOnlineRetail, withoutDataArg } from './lib/online-retail.js';
import { candidateRows, columns, featureNames, rankedScores } from './lib/stacked-ranker.js';

const args = withoutDataArg();
const option = (flag: string, fallback: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
};
const cutoff = option('--cutoff', '2011-09-01');
const cutoffs = option('--cutoffs', '2011-09-01,2011-10-01,2011-11-01').split(',');
const ends = option('--ends', '2011-08-01,2011-09-01').split(',');
const lengths = option('--days', '30,60,90').split(',').map(Number);
const recipeName = option('--recipe', 'default');
const froms = option('--from', '2011-06-01,2011-07-01,2011-08-01').split(',');
const from = froms[0];
const max = Number(option('--max', '500'));
const once = Number(option('--once', '0'));
const tuneJson = option('--tune', '');
const oneOf = <T extends string>(flag: string, values: readonly T[]): T => {
  const v = option(flag, values[0]);
  if (!(values as readonly string[]).includes(v)) throw new Error(`${flag}: "${v}" is not one of ${values.join(', ')}`);
  return v as T;
};
const windows = oneOf('--windows', ['back-to-back', 'to-end'] as const);
const coverageOn = oneOf('--coverage-on', ['mean', 'least'] as const);
const held = option('--held', '2011-07-03,2011-08-02,2011-09-01').split(',');
const l2 = Number(option('--l2', '10'));
const [command, ...rest] = args;
const f4 = (x: number) => x.toFixed(4);

const input = await loadOnlineRetail(dataFile());
const recipe = await loadRecipe(recipeName);
const iso = (day: string) => new Date(day).toISOString();
const fold = (end: string, days: number) => new RollingFold(input, { end: iso(end), days, k: 10, fullHistoryOrders: recipe.hybrid.fullHistoryOrders, depth: 200, discountShare: recipe.hybrid.discountShare });
// A fold scores what keep() installed: fit() alone only measures the candidate.
const fitAll = (f: RollingFold, r: Recipe) =>
  Object.entries(r.sources).forEach(([name, s]) => {
    f.fit(name, s.recommender, s.params as Record<string, unknown>, 0);
    f.keep(name, 0);
  });

/** Customers who bought in [start, end) and before start, and of them those who bought something new to them. */
function judgedIn(events: readonly PurchaseRow[], start: number, end: number): { users: number; novel: number; ids: string[] } {
  const before = new Map<string, Set<string>>();
  const during = new Map<string, Set<string>>();
  for (const e of events) {
    const into = e.ts < start ? before : e.ts < end ? during : undefined;
    if (!into) continue;
    if (!into.has(e.userId)) into.set(e.userId, new Set());
    into.get(e.userId)!.add(e.itemId);
  }
  const ids: string[] = [];
  let novel = 0;
  for (const [u, items] of during) {
    const had = before.get(u);
    if (!had) continue;
    ids.push(u);
    if ([...items].some((i) => !had.has(i))) novel++;
  }
  return { users: ids.length, novel, ids };
}

/** `n` customers `once~i`, each buying one random order of the shop's again, at its time (kept in time order). */
function addOneTimeBuyers(events: PurchaseRow[], n: number): void {
  const lines = new Map<string, PurchaseRow[]>();
  for (const e of events) if (e.orderId !== null) (lines.get(e.orderId) ?? lines.set(e.orderId, []).get(e.orderId)!).push(e);
  const orders = [...lines.keys()];
  const random = mulberry32(41);
  for (let i = 0; i < n; i++) {
    const order = orders[Math.floor(random() * orders.length)];
    for (const e of lines.get(order)!) events.push({ ...e, userId: `once~${i}`, orderId: `${order}~once${i}` });
  }
  events.sort((a, b) => a.ts - b.ts);
}

/**
 * `max` customers of `input`: those with a purchase in one of the `folds` windows of `days` before `end` and
 * one before that window, drawn apart from the rest (each part by sampleCustomers' own hash order) and
 * given their share of the shop or half the sample, whichever is more.
 */
function stratifiedSample(input: RowSplitInput, max: number, folds: number, days: number, end: number): CustomerSample {
  const judged = new Set<string>();
  for (const windowEnd of foldEnds(input, { folds, days, end: new Date(end).toISOString() })) {
    const start = Date.parse(windowEnd) - days * 86_400_000;
    for (const u of judgedIn(input.events as PurchaseRow[], start, Date.parse(windowEnd)).ids) judged.add(u);
  }
  const events = input.events as PurchaseRow[];
  const all = new Set(events.map((e) => e.userId));
  const share = Math.max(Math.round((max * judged.size) / all.size), Math.floor(max / 2));
  const fromJudged = Math.max(Math.min(judged.size, share), max - (all.size - judged.size));
  const part = (keep: boolean, n: number) => inputRows(sampleCustomers({ events: events.filter((e) => judged.has(e.userId) === keep) }, n).input);
  const kept = [...part(true, fromJudged), ...part(false, max - fromJudged)].sort((a, b) => a.ts - b.ts);
  const ids = new Set(kept.map((e) => e.userId));
  const latest = events.reduce((m, e) => Math.max(m, e.ts), Number.NEGATIVE_INFINITY);
  return { input: { events: kept, items: input.items, users: input.users && [...input.users].filter((u) => ids.has(u.id)) }, customers: all.size, kept: ids.size, end: new Date(latest + 1).toISOString() };
}

if (command === 'alone') {
  const [source, json] = rest;
  const base = recipe.sources[source];
  if (!base || !json) throw new Error('usage: alone SOURCE \'[{...}, ...]\'');
  const variants = JSON.parse(json) as Record<string, unknown>[];
  const folds = foldEnds(input, { folds: 3, days: 30, end: iso(cutoff) }).map((end) => fold(end, 30));
  console.log(`${source} alone on the 3 x 30-day windows before ${cutoff}: novel / all NDCG@10 (sum) per window, mean of the sums`);
  for (const [index, v] of variants.entries()) {
    const params = { ...(base.params as Record<string, unknown>), ...v };
    const started = performance.now();
    const sums: number[] = [];
    const cells = folds.map((f) => {
      f.fit(source, base.recommender, params, index);
      f.keep(source, index);
      const s = f.score({ weights: { cold: { [source]: 1 }, warm: { [source]: 1 } } });
      sums.push(s.novel.ndcg + s.all.ndcg);
      return `${f4(s.novel.ndcg)} / ${f4(s.all.ndcg)} (${f4(s.novel.ndcg + s.all.ndcg)})`;
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${JSON.stringify(v).padEnd(40)} ${cells.join('  ')}  mean ${f4(sums.reduce((a, b) => a + b) / sums.length)}  (${seconds} s for 3 fits)`);
  }
} else if (command === 'compare') {
  const [source] = rest;
  if (!source || !(source in recipe.sources)) throw new Error(`usage: compare SOURCE (a source of models/${recipeName}.json)`);
  const raw = recipeToRaw(recipe);
  const without = { ...raw, sources: Object.fromEntries(Object.entries(raw.sources as object).filter(([n]) => n !== source)) } as Record<string, unknown>;
  const weights = recipe.hybrid.weights;
  const drop = (w: Record<string, number>) => Object.fromEntries(Object.entries(w).filter(([n]) => n !== source));
  const repeat = recipe.hybrid.repeatWeights;
  without.hybrid = {
    ...recipe.hybrid,
    weights: { cold: drop(weights.cold), warm: drop(weights.warm) },
    ...(repeat ? { repeatWeights: { cold: drop(repeat.cold), warm: drop(repeat.warm) } } : {}),
  };
  const variants: [string, Recipe][] = [
    [`without ${source}`, withTuning(parseRecipe(without, recipeName), recipe.tune ?? true)],
    [`with ${source}`, withTuning(recipe, recipe.tune ?? true)],
  ];
  for (const c of cutoffs) {
    for (const [label, r] of variants) {
      const tuned = await tuneRecipeOn(input, r, iso(c), undefined, { threads: 2 });
      const v = tuned.validation;
      if ('skipped' in v) throw new Error(v.skipped);
      console.log(
        `${c} ${label.padEnd(18)} objective per window ${v.objective.blend.map(f4).join(' ')}; novel ${f4(v.scores.novel.ndcg)} (coverage ${v.scores.novel.coverage.toFixed(3)}), all ${f4(v.scores.all.ndcg)}; chosen ${v.chosen}`,
      );
    }
  }
} else if (command === 'tuned') {
  // The recipe tuned as a training tunes it, per cutoff: what the tuner chose and its validation.
  for (const c of cutoffs) {
    const started = performance.now();
    // The searches' results as they come (accuracy only, then with the coverage requirement, then own items, then the judgement).
    const searches = (m: string) => void (m.startsWith('blend') && console.log(`  ${m}`));
    const tuned = await tuneRecipeOn(input, withTuning(recipe, recipe.tune ?? true), iso(c), searches, { threads: 2 });
    const v = tuned.validation;
    if ('skipped' in v) throw new Error(v.skipped);
    console.log(
      `${c} objective per window ${v.objective.blend.map(f4).join(' ')} (mean ${f4(v.objective.blend.reduce((a, b) => a + b) / v.objective.blend.length)}); ` +
        `novel ${f4(v.scores.novel.ndcg)} (coverage ${v.scores.novel.coverage.toFixed(3)}), all ${f4(v.scores.all.ndcg)}; chosen ${v.chosen}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    console.log(`  weights ${JSON.stringify(tuned.recipe.hybrid.weights)} repeat ${JSON.stringify(tuned.recipe.hybrid.repeatWeights ?? null)} discount ${tuned.recipe.hybrid.popularityDiscount}`);
  }
} else if (command === 'horizon') {
  console.log(`blend = models/${recipeName}.json as written;`+' all-mode NDCG@10 of the blend and of buy-again alone, per window');
  for (const end of ends) {
    for (const days of lengths) {
      const f = fold(end, days);
      fitAll(f, recipe);
      const blend = f.score({ weights: recipe.hybrid.weights, popularityDiscount: recipe.hybrid.popularityDiscount });
      const again = f.score({ weights: { cold: { 'buy-again': 1 }, warm: { 'buy-again': 1 } } });
      console.log(`${days} days ending ${end}: ${blend.all.users} customers, blend ${f4(blend.all.ndcg)}, buy-again ${f4(again.all.ndcg)}, ratio ${(blend.all.ndcg / again.all.ndcg).toFixed(3)}`);
    }
  }
} else if (command === 'drift') {
  const tuning = tuneJson ? (JSON.parse(tuneJson) as Record<string, unknown>) : (recipe.tune ?? true);
  const tuned = (await tuneRecipeOn(input, withTuning(recipe, tuning), iso(from), undefined, { threads: 2, windows, coverageOn })).recipe;
  const { weights, repeatWeights, popularityDiscount, sourceLimit } = tuned.hybrid;
  console.log(`tuned before ${from}: weights ${JSON.stringify(weights)} repeat ${JSON.stringify(repeatWeights ?? null)} discount ${popularityDiscount}`);
  console.log('window                 users (novel/all)  blend novel / all   ' + Object.keys(tuned.sources).map((n) => n.padEnd(20)).join(''));
  for (const days of lengths) {
    const end = new Date(new Date(from).getTime() + days * 86_400_000).toISOString().slice(0, 10);
    const f = new RollingFold(input, { end: iso(end), days, k: 10, fullHistoryOrders: tuned.hybrid.fullHistoryOrders, depth: sourceLimit ?? 100, discountShare: tuned.hybrid.discountShare });
    fitAll(f, tuned);
    const blend = f.score({ weights, repeatWeights, popularityDiscount });
    const cells = Object.keys(tuned.sources).map((n) => {
      const s = f.score({ weights: { cold: { [n]: 1 }, warm: { [n]: 1 } } });
      return `${f4(s.novel.ndcg)} / ${f4(s.all.ndcg)}`.padEnd(20);
    });
    console.log(`${from}..${end}  ${String(blend.novel.users).padStart(5)} / ${String(blend.all.users).padEnd(5)}      ${f4(blend.novel.ndcg)} / ${f4(blend.all.ndcg)} cov ${blend.novel.coverage.toFixed(3)}     ${cells.join('')}`);
  }
} else if (command === 'sample') {
  const tune = withTuning(recipe, tuneJson ? (JSON.parse(tuneJson) as Record<string, unknown>) : (recipe.tune ?? true)).tune!;
  if (once > 0) addOneTimeBuyers(input.events as PurchaseRow[], once);
  console.log(`samples of ${max} customers${once > 0 ? ` (with ${once} one-time buyers added)` : ''}, tuned on ${tune.folds} x ${tune.days}-day windows before each date, scored on the 30 days from it`);
  for (const day of froms) {
    const at = Date.parse(iso(day));
    const past = { ...input, events: input.events.filter((e) => e.ts < at) };
    const drawn: [string, CustomerSample][] = [
      ['uniform', sampleCustomers(past, max)],
      ['stratified', stratifiedSample(past, max, tune.folds, tune.days, at)],
    ];
    for (const [label, sample] of drawn) {
      const perWindow = foldEnds(past, { folds: tune.folds, days: tune.days, end: iso(day) }).map((end) => judgedIn(inputRows(sample.input), Date.parse(end) - tune.days * 86_400_000, Date.parse(end)));
      const tuned = await tuneRecipeOn(sample, withTuning(recipe, { ...tune, maxCustomers: max }), iso(day), undefined, { threads: 2 });
      const r = tuned.recipe;
      const end = new Date(at + 30 * 86_400_000).toISOString();
      const f = new RollingFold(input, { end, days: 30, k: 10, fullHistoryOrders: r.hybrid.fullHistoryOrders, depth: r.hybrid.sourceLimit ?? 100, discountShare: r.hybrid.discountShare });
      fitAll(f, r);
      const s = f.score({ weights: r.hybrid.weights, repeatWeights: r.hybrid.repeatWeights, popularityDiscount: r.hybrid.popularityDiscount });
      const chosen = 'skipped' in tuned.validation ? 'kept as written' : tuned.validation.chosen;
      console.log(`${day} ${label.padEnd(10)} validation customers (novel) per window ${perWindow.map((w) => `${w.users} (${w.novel})`).join(', ')}; ${chosen}; warm ${JSON.stringify(r.hybrid.weights.warm)}`);
      console.log(`${' '.repeat(day.length)} ${' '.repeat(10)} next 30 days: novel NDCG@10 ${f4(s.novel.ndcg)} (coverage ${s.novel.coverage.toFixed(3)}), all ${f4(s.all.ndcg)}`);
    }
  }
} else if (command === 'stack') {
  for (const end of held) {
    const start = new Date(new Date(end).getTime() - 30 * 86_400_000).toISOString();
    const tuned = (await tuneRecipeOn(input, withTuning(recipe, recipe.tune ?? true), start, undefined, { threads: 2 })).recipe;
    const spec = (e: string) => ({ end: e, days: 30, k: 10, fullHistoryOrders: tuned.hybrid.fullHistoryOrders, depth: tuned.hybrid.sourceLimit ?? 100, discountShare: tuned.hybrid.discountShare });
    const learnFolds = foldEnds(input, { folds: 3, days: 30, end: start }).map((e) => new RollingFold(input, spec(e)));
    const heldFold = new RollingFold(input, spec(iso(end)));
    for (const f of [...learnFolds, heldFold]) fitAll(f, tuned);
    const blend = heldFold.score({ weights: tuned.hybrid.weights, repeatWeights: tuned.hybrid.repeatWeights, popularityDiscount: tuned.hybrid.popularityDiscount });
    console.log(`held out ${start.slice(0, 10)}..${end}: tuned blend novel NDCG@10 ${f4(blend.novel.ndcg)}, coverage ${blend.novel.coverage.toFixed(3)}`);
    const learn = learnFolds.map((f) => candidateRows(f, tuned));
    const heldRows = candidateRows(heldFold, tuned);
    const names = featureNames(Object.keys(tuned.sources));
    const at = (name: string) => names.indexOf(name);
    const perSource = names.map((_, c) => c).filter((c) => c < at('tuned blend'));
    const itemFacts = names.map((_, c) => c).filter((c) => c > at('log(1 + orders)'));
    const variants: [string, number[]][] = [
      ['all features', names.map((_, c) => c)],
      ['no item facts', [...perSource, at('tuned blend'), at('log(1 + orders)'), at('log(1 + buyers)')]],
      ['scores only', [...perSource.filter((c) => c % 3 === 0), at('tuned blend')]],
      ['blend + item facts', [at('tuned blend'), at('log(1 + orders)'), ...itemFacts]],
    ];
    for (const [label, cols] of variants) {
      const coef = fitLogistic(columns(learn, cols), Uint8Array.from(learn.flatMap((r) => r.y)), cols.length, l2, 25);
      if (!coef) throw new Error('stack: nothing to learn');
      const scorer = (rows: (typeof learn)[number], beta: number) => (k: number) => {
        let s = coef[cols.length];
        for (let c = 0; c < cols.length; c++) s += coef[c] * rows.x[k * rows.width + cols[c]];
        return s - beta * rows.x[k * rows.width + at('log(1 + buyers)')];
      };
      // The least beta of the grid whose coverage, averaged over the windows learned from, reaches 0.30.
      const grid = [0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3];
      const beta = grid.find((b) => learn.reduce((sum, rows, n) => sum + rankedScores(learnFolds[n], rows, scorer(rows, b)).coverage, 0) / learn.length >= 0.3) ?? grid[grid.length - 1];
      const alone = rankedScores(heldFold, heldRows, scorer(heldRows, 0));
      const covered = rankedScores(heldFold, heldRows, scorer(heldRows, beta));
      console.log(`  ${label.padEnd(20)} regression ${f4(alone.ndcg)}, coverage ${alone.coverage.toFixed(3)}; with beta ${beta}: ${f4(covered.ndcg)}, coverage ${covered.coverage.toFixed(3)}`);
    }
  }
} else {
  console.error('usage: npx tsx bench/validation.ts alone SOURCE VARIANTS | compare SOURCE | tuned | horizon | drift | stack (see the comment at the top)');
  process.exit(2);
}
