/**
 * The fifty-first session's criterion for a keep rule against `per-mode-majority` (bench/README "A keep rule one
 * outlier window cannot sway"), fixed before the fresh runs, applied to bench/choice-rule.ts outputs (one file per
 * process; each file's `summary {...}` line holds its dates). Reads no data and scores nothing: it only sums.
 *
 *   npx tsx bench/keep-rule-criterion.ts --shop-a F1,F2,F3 --shop-b F4,F5,F6 --retail F7,F8,F9 [--rules per-mode-trimmed,per-mode-outlier]
 *
 * Objective per date: held-out novel NDCG@10 + all-mode NDCG@10 of what the rule serves; a shop's mean is over its
 * dates; the two fresh shops weigh equally. A rule qualifies when (a) its two-shop mean objective is >= 2% above
 * `per-mode-majority`'s, (b) on neither fresh shop is its mean novel NDCG or its mean all-mode NDCG more than 1%
 * below, and (c) on none of Online Retail's dates is its objective more than 1% below. Of two that qualify, the one
 * with the larger two-shop gain. Also: on how many dates each rule served another recipe than the default.
 */
import { readFileSync } from 'node:fs';
import { optionTaker } from './lib/online-retail.js';

type Scores = { novel: { ndcg: number; recall: number; coverage: number }; all: { ndcg: number } };
type DateSummary = { date: string; keep: Record<string, { novel: string; all: string; scores: Scores }> };

const args = process.argv.slice(2);
const option = optionTaker(args);
const files = (name: string) => (option(name) ?? '').split(',').filter(Boolean);
const shops = { a: files('--shop-a'), b: files('--shop-b'), retail: files('--retail') };
const rules = (option('--rules') ?? 'per-mode-trimmed,per-mode-outlier').split(',');
const BASE = 'per-mode-majority';
if (shops.a.length === 0 || shops.b.length === 0 || shops.retail.length === 0) {
  console.error('usage: npx tsx bench/keep-rule-criterion.ts --shop-a F,.. --shop-b F,.. --retail F,.. [--rules R1,R2] (see the comment at the top)');
  process.exit(2);
}

const datesOf = (paths: string[]): DateSummary[] =>
  paths.flatMap((p) => {
    const line = readFileSync(p, 'utf8').split('\n').find((l) => l.startsWith('summary '));
    if (!line) throw new Error(`${p}: no summary line (the run has not finished)`);
    return (JSON.parse(line.slice('summary '.length)) as { dates: DateSummary[] }).dates;
  });
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const f4 = (x: number) => x.toFixed(4);
const pct = (x: number, base: number) => `${x >= base ? '+' : ''}${((x / base - 1) * 100).toFixed(1)}%`;

const a = datesOf(shops.a);
const b = datesOf(shops.b);
const retail = datesOf(shops.retail);
const shopMeans = (dates: DateSummary[], rule: string) => {
  const novel = mean(dates.map((d) => d.keep[rule].scores.novel.ndcg));
  const all = mean(dates.map((d) => d.keep[rule].scores.all.ndcg));
  return { novel, all, objective: novel + all, recall: mean(dates.map((d) => d.keep[rule].scores.novel.recall)), coverage: mean(dates.map((d) => d.keep[rule].scores.novel.coverage)) };
};
const objective = (d: DateSummary, rule: string) => d.keep[rule].scores.novel.ndcg + d.keep[rule].scores.all.ndcg;
const parted = (dates: DateSummary[], rule: string) => dates.filter((d) => d.keep[rule].novel !== d.keep[BASE].novel || d.keep[rule].all !== d.keep[BASE].all).length;

for (const [label, dates] of [['shop A', a], ['shop B', b], ['Online Retail', retail]] as const) {
  for (const d of dates) console.log(`${label} ${d.date}: ${[BASE, ...rules, 'per-mode'].map((r) => `${r} ${d.keep[r].novel}/${d.keep[r].all} ${f4(d.keep[r].scores.novel.ndcg)}/${f4(d.keep[r].scores.all.ndcg)}`).join('; ')}`);
  for (const r of [BASE, ...rules, 'per-mode']) {
    const m = shopMeans(dates, r);
    console.log(`  ${label} mean ${r}: novel ${f4(m.novel)} all ${f4(m.all)} objective ${f4(m.objective)} recall ${f4(m.recall)} cov ${m.coverage.toFixed(3)}`);
  }
}
const twoShop = (rule: string) => (shopMeans(a, rule).objective + shopMeans(b, rule).objective) / 2;
const verdicts = rules.map((rule) => {
  const gain = twoShop(rule) / twoShop(BASE) - 1;
  const modes = [a, b].every((dates) => {
    const m = shopMeans(dates, rule);
    const base = shopMeans(dates, BASE);
    return m.novel >= base.novel * 0.99 && m.all >= base.all * 0.99;
  });
  const retailHolds = retail.every((d) => objective(d, rule) >= objective(d, BASE) * 0.99);
  const qualifies = gain >= 0.02 && modes && retailHolds;
  console.log(`${rule}: two-shop ${f4(twoShop(rule))} against ${f4(twoShop(BASE))} (${pct(twoShop(rule), twoShop(BASE))}); modes within 1%: ${modes}; Online Retail within 1%: ${retailHolds}; parted from ${BASE} on ${parted(a, rule) + parted(b, rule)} of ${a.length + b.length} fresh dates and ${parted(retail, rule)} of ${retail.length} Online Retail dates: ${qualifies ? 'qualifies' : 'does not qualify'}`);
  return { rule, gain, qualifies };
});
const winner = verdicts.filter((v) => v.qualifies).sort((x, y) => y.gain - x.gain)[0];
console.log(`verdict: ${winner ? `${winner.rule} becomes the default` : `none qualifies; ${BASE} stays the default`}`);
