/**
 * Which source fills the lists customers are served (issue 11, "honest explanations").
 *
 *   npx tsx bench/source-share.ts [RECIPE] [--cutoff 2011-11-01] [--k 10] [--validation DAYS] [--cap SHARE[,MIN_ORDERS]] [--data FILE]
 *
 * Splits Online Retail at the cutoff (temporal split of the evaluation protocol), fits the recipe
 * (default models/default.json) on the purchases before it, builds the serving entries of every test
 * customer (>= 1 purchase before and >= 1 known item after the cutoff) exactly as training does, and
 * asks serving (`recommendForUser`, default query: k items, purchases excluded) for each one's list.
 * Prints, overall and per history bucket (distinct train orders, as the evaluation's breakdown), the
 * share of list slots whose dominant source (first of `sources`: the one that put the item on the
 * list) is each source, how often one source fills >= 8 of k slots, the kinds of explanation served,
 * and the novel NDCG@k / recall@k of the served lists against the test period.
 *
 * --validation DAYS: the test period is the DAYS before the cutoff instead (train = what precedes it;
 * nothing on or after the cutoff is read), for choosing settings without looking at the test period.
 * --cap SHARE[,MIN_ORDERS]: overrides the recipe's hybrid.sourceCap with trend and popularity capped
 * at SHARE of the top 20 for customers with >= MIN_ORDERS orders (default 2); --cap off removes it.
 *
 * Data: --data FILE, else $ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz
 * relative to the repository root.
 */
import { historyBucket, HISTORY_BUCKETS } from '../src/evaluation/evaluation-report.js';
import { ndcgAt, recallAt } from '../src/evaluation/metrics.js';
import { temporalSplit, validationSplit } from '../src/evaluation/splits.js';
import { recommendForUser } from '../src/serving/recommend-for-user.js';
import { fitRecipe } from '../src/training/recipe.js';
import { dataFile as checkedDataFile, loadOnlineRetail, withoutDataArg, benchRecipe, optionTaker } from './lib/online-retail.js';
import { benchServing } from './lib/serving-bench.js';

const dataFile = checkedDataFile();
const args = withoutDataArg();
const flag = optionTaker(args);
const cutoff = Date.parse(flag('--cutoff') ?? '2011-11-01T00:00:00Z');
const k = Number(flag('--k') ?? 10);
const validationDays = flag('--validation');
const capArg = flag('--cap');
const recipeName = args[0] ?? 'default';
const FILLS = Math.ceil(0.8 * k);

const t0 = performance.now();
const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
const input = await loadOnlineRetail(dataFile);
const split = validationDays ? validationSplit(input, { end: cutoff, days: Number(validationDays) }) : temporalSplit(input, cutoff);
const ds = split.train;
const recipe = await benchRecipe(recipeName);
if (capArg === 'off') delete recipe.hybrid.sourceCap;
else if (capArg) {
  const [share, minOrders] = capArg.split(',').map(Number);
  recipe.hybrid.sourceCap = { sources: ['trend', 'popularity'], share, window: 20, minOrders: minOrders ?? 2 };
}
const fitted = await fitRecipe(ds, recipe);
const period = validationDays ? `validation: the ${validationDays} days before ${new Date(cutoff).toISOString().slice(0, 10)}` : `test from ${new Date(cutoff).toISOString().slice(0, 10)}`;
console.log(`recipe ${recipeName} (sourceCap ${JSON.stringify(recipe.hybrid.sourceCap ?? null)}), ${period}, fitted in ${seconds()} s`);

// The serving model of the split, with entries for the test customers only (what training would store for them).
const users = [...split.test.all.keys()];
const { deps } = await benchServing(ds, fitted, recipe, users);
console.log(`entries of ${users.length} test customers built in ${seconds()} s`);

interface Tally {
  lists: number;
  slots: number;
  bySource: Map<string, number>;
  /** Lists where one source is dominant in >= FILLS slots, by that source. */
  filled: Map<string, number>;
  maxShare: number;
  explanations: Map<string, number>;
  ndcg: number;
  recall: number;
  novelUsers: number;
}
const tally = (): Tally => ({ lists: 0, slots: 0, bySource: new Map(), filled: new Map(), maxShare: 0, explanations: new Map(), ndcg: 0, recall: 0, novelUsers: 0 });
const inc = (m: Map<string, number>, key: string, by = 1) => m.set(key, (m.get(key) ?? 0) + by);
const kindOf = (text: string | undefined) =>
  text === undefined
    ? 'none'
    : /^(because you bought|bought together with) /.test(text)
      ? 'names a purchase'
      : text.startsWith('popular')
        ? 'popular ...'
        : text === 'trending now'
          ? 'trending now'
          : text === 'you bought this before'
            ? 'bought before'
            : 'personal, no purchase named';
const all = tally();
const buckets = new Map(HISTORY_BUCKETS.map((b) => [b as string, tally()]));
for (const u of users) {
  const answer = await recommendForUser(deps, ds.userIds[u], { k });
  const counts = new Map<string, number>();
  for (const it of answer.items) inc(counts, it.sources[0] ?? '(none)');
  const top = [...counts].sort((a, b) => b[1] - a[1])[0];
  const ranked = answer.items.map((it) => ds.itemIndex.get(it.itemId)!);
  const relevant = split.test.novel.get(u);
  for (const t of [all, buckets.get(historyBucket(split.trainOrders[u]))!]) {
    t.lists++;
    t.slots += answer.items.length;
    for (const [s, n] of counts) inc(t.bySource, s, n);
    if (top && top[1] >= FILLS) inc(t.filled, top[0]);
    if (top) t.maxShare += top[1] / answer.items.length;
    for (const it of answer.items) inc(t.explanations, kindOf(it.explanation));
    if (relevant && relevant.size > 0) {
      t.novelUsers++;
      t.ndcg += ndcgAt(relevant, ranked, k);
      t.recall += recallAt(relevant, ranked, k);
    }
  }
}

const pct = (n: number, of: number) => (of > 0 ? `${((100 * n) / of).toFixed(1)}%` : '-');
const sourceNames = [...new Set([...all.bySource.keys()])].sort((a, b) => (all.bySource.get(b) ?? 0) - (all.bySource.get(a) ?? 0));
const kinds = [...all.explanations.keys()].sort((a, b) => (all.explanations.get(b) ?? 0) - (all.explanations.get(a) ?? 0));
console.log(`\nshare of the ${k} slots of served lists by dominant source (k = ${k}, default query)`);
console.log(['bucket (orders)'.padEnd(16), 'lists'.padStart(6), ...sourceNames.map((s) => s.padStart(12)), `one source >= ${FILLS}`.padStart(17), 'mean max share'.padStart(15)].join(' '));
for (const [name, t] of [['all', all] as const, ...[...buckets].map(([b, t]) => [b, t] as const)]) {
  if (t.lists === 0) continue;
  const filled = [...t.filled].map(([s, n]) => `${s} ${n}`).join(', ') || '0';
  console.log(
    [name.padEnd(16), String(t.lists).padStart(6), ...sourceNames.map((s) => pct(t.bySource.get(s) ?? 0, t.slots).padStart(12)), `${pct([...t.filled.values()].reduce((a, b) => a + b, 0), t.lists)} (${filled})`.padStart(17), pct(t.maxShare, t.lists).padStart(15)].join(' '),
  );
}
console.log(`\nexplanations served`);
console.log(['bucket (orders)'.padEnd(16), ...kinds.map((s) => s.padStart(28))].join(' '));
for (const [name, t] of [['all', all] as const, ...[...buckets].map(([b, t]) => [b, t] as const)]) {
  if (t.lists === 0) continue;
  console.log([name.padEnd(16), ...kinds.map((s) => pct(t.explanations.get(s) ?? 0, t.slots).padStart(28))].join(' '));
}
console.log(`\nserved lists against the test period (novel mode: purchases excluded, as served)`);
for (const [name, t] of [['all', all] as const, ...[...buckets].map(([b, t]) => [b, t] as const)]) {
  if (t.novelUsers === 0) continue;
  console.log(`${name.padEnd(16)} users ${String(t.novelUsers).padStart(5)}  NDCG@${k} ${(t.ndcg / t.novelUsers).toFixed(4)}  R@${k} ${(t.recall / t.novelUsers).toFixed(4)}`);
}
console.log(`\ntotal ${seconds()} s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
