/**
 * How often the A/B report calls a difference significant when there is none (A/A), and how often it finds
 * one that is there, with customers as the unit (src/evaluation/significance.ts, customerRatioTest: what
 * GET /v1/metrics/online reports since the thirty-fifth session) beside the pooled two-proportion test over
 * events it reported before.
 *
 *   npx tsx bench/ab-test.ts [--runs 2000] [--customers 500] [--seed 1] [--peek-runs 1000]
 *
 * Pure CPU, simulated traffic: per arm `customers` customers, each shown 1-40 recommendations (impressions)
 * and clicking each with a rate of their own. Four kinds of traffic: every customer alike (independent
 * events: both tests should hold 5%); customers unalike (80% click 2%, 20% click 40%); unalike with one
 * customer in 500 reloading a page 100 more times (ten times the impressions, clicks as before); and one
 * customer per treatment arm who fetches lists and clicks all 300 items of them (a customer with their own
 * token: the signed ids bind a list to its customer, not a customer to one list).
 *
 * Then small arms: A/A experiments of 2 to 30 customers per arm (unalike), the test's p (Student's t on
 * Welch's degrees of freedom) against the normal reference it had at first.
 *
 * Then peeking: experiments of 28 days with 100 new customers per arm a day (customers unalike), looked at
 * every day; how often `p` falls below 0.05 on some day against `anytimeP` (alwaysValidP) for several
 * scales of its mixture (tau as a share of the rate), with no difference and with relative lifts.
 *
 * Last, experiments of 1 to 5 treatments beside the control: how often some arm is called different when
 * none is, each test at 5% against tests adjusted for the number of treatments (Bonferroni).
 */
import { cpus, loadavg } from 'node:os';
import { ANYTIME_RELATIVE_SCALE, customerRatioTest, type CustomerSums, twoSidedP } from '../src/evaluation/significance.js';
import { mulberry32 } from '../src/recommenders/seeded-random.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const runs = Number(option('--runs') ?? 2_000);
const customers = Number(option('--customers') ?? 500);
const random = mulberry32(Number(option('--seed') ?? 1));
const peekRuns = Number(option('--peek-runs') ?? 1_000);

/** An arm's customer sums, and those the report tests since the thirty-sixth session: each customer's clicks at most their impressions. */
type ArmSums = CustomerSums & { capped: CustomerSums };

const noSums = (): CustomerSums => ({ customers: 0, trials: 0, successes: 0, trialsSquared: 0, successesSquared: 0, crossProducts: 0 });

/** Adds one customer, shown `n` recommendations and clicking `x`, to an arm's sums. */
function addCustomer(s: CustomerSums, n: number, x: number): void {
  s.customers++;
  s.trials += n;
  s.successes += x;
  s.trialsSquared += n * n;
  s.successesSquared += x * x;
  s.crossProducts += n * x;
  if ('capped' in s) addCustomer((s as ArmSums).capped, n, Math.min(x, n));
}

type Traffic = { rate: () => number; heavyReloads?: boolean; clicker?: boolean };
const TRAFFIC: Record<string, Traffic> = {
  'customers alike (CTR 9.6% each)': { rate: () => 0.096 },
  'customers unalike (2% or 40%)': { rate: () => (random() < 0.8 ? 0.02 : 0.4) },
  'unalike, 1 in 500 reloading 10x': { rate: () => (random() < 0.8 ? 0.02 : 0.4), heavyReloads: true },
  'unalike, one 300-click customer': { rate: () => (random() < 0.8 ? 0.02 : 0.4), clicker: true },
};

/** One arm's customer sums: each customer's impressions and clicks. */
function arm(traffic: Traffic, lift: number, treatment: boolean, size = customers): ArmSums {
  const s: ArmSums = { ...noSums(), capped: noSums() };
  for (let c = 0; c < size; c++) {
    const shown = 1 + Math.floor(random() * 40);
    const rate = Math.min(1, traffic.rate() + lift);
    let clicks = 0;
    for (let i = 0; i < shown; i++) if (random() < rate) clicks++;
    addCustomer(s, traffic.heavyReloads && random() < 1 / 500 ? shown * 10 : shown, clicks);
  }
  if (traffic.clicker && treatment) addCustomer(s, 0, 300);
  return s;
}

/** The pooled two-proportion z-test over events: every impression a trial of its own. */
function eventTest(c: CustomerSums, t: CustomerSums): number | null {
  if (c.trials <= 0 || t.trials <= 0) return null;
  const pooled = (c.successes + t.successes) / (c.trials + t.trials);
  if (pooled <= 0 || pooled >= 1) return null;
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / c.trials + 1 / t.trials));
  return twoSidedP((t.successes / t.trials - c.successes / c.trials) / se);
}

console.log(`node ${process.version}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${runs} experiments of ${customers} customers per arm`);
console.log(`\nshare of experiments with p < 0.05 (A/A: should be 5%; lift: the higher the better)\n`);
console.log(`${'traffic'.padEnd(34)} ${'lift'.padStart(5)} ${'events (before)'.padStart(16)} ${'customers'.padStart(16)} ${'clicks <= impressions (now)'.padStart(28)}`);
for (const [name, traffic] of Object.entries(TRAFFIC)) {
  for (const lift of [0, 0.02]) {
    let byEvents = 0;
    let byCustomers = 0;
    let capped = 0;
    for (let r = 0; r < runs; r++) {
      const c = arm(traffic, 0, false);
      const t = arm(traffic, lift, true);
      if ((eventTest(c, t) ?? 1) < 0.05) byEvents++;
      if ((customerRatioTest(c, t)?.p ?? 1) < 0.05) byCustomers++;
      if ((customerRatioTest(c.capped, t.capped)?.p ?? 1) < 0.05) capped++;
    }
    const pct = (n: number) => `${((100 * n) / runs).toFixed(1)}%`;
    console.log(`${name.padEnd(34)} ${lift.toFixed(2).padStart(5)} ${pct(byEvents).padStart(16)} ${pct(byCustomers).padStart(16)} ${pct(capped).padStart(28)}`);
  }
}

console.log(`\nsmall arms: A/A experiments (customers unalike), share of those tested with p < 0.05; ${runs * 5} per row\n`);
console.log(`${'customers per arm'.padStart(17)} ${'normal (z)'.padStart(11)} ${"Student's t".padStart(12)}`);
for (const n of [2, 3, 5, 10, 30]) {
  let tested = 0;
  let byZ = 0;
  let byT = 0;
  const unalike = TRAFFIC['customers unalike (2% or 40%)'];
  for (let r = 0; r < runs * 5; r++) {
    const c = arm({ ...unalike }, 0, false, n);
    const t = arm({ ...unalike }, 0, true, n);
    const test = customerRatioTest(c, t);
    if (test === null) continue;
    tested++;
    if (twoSidedP(test.z) < 0.05) byZ++;
    if (test.p < 0.05) byT++;
  }
  const pct = (k: number) => `${((100 * k) / tested).toFixed(1)}%`;
  console.log(`${String(n).padStart(17)} ${pct(byZ).padStart(11)} ${pct(byT).padStart(12)}`);
}

const DAYS = 28;
const PER_DAY = 100;
const SCALES = [0.02, 0.05, 0.1, 0.2, 0.5];
/** Adds `n` new customers of one arm (unalike, each rate times 1 + lift) to `s`. */
function arrive(s: CustomerSums, n: number, lift: number): void {
  for (let c = 0; c < n; c++) {
    const shown = 1 + Math.floor(random() * 40);
    const rate = Math.min(1, (random() < 0.8 ? 0.02 : 0.4) * (1 + lift));
    let clicks = 0;
    for (let i = 0; i < shown; i++) if (random() < rate) clicks++;
    addCustomer(s, shown, clicks);
  }
}

console.log(`\npeeking: ${peekRuns} experiments of ${DAYS} days, ${PER_DAY} new customers per arm a day, looked at daily; share with p < 0.05`);
console.log(`(the default scale is ${ANYTIME_RELATIVE_SCALE}; lift is relative, on every treatment customer's rate)\n`);
console.log(`${'lift'.padStart(5)} ${'p, last day only'.padStart(17)} ${'p, any day'.padStart(11)} ${SCALES.map((k) => `anytimeP ${k}`.padStart(14)).join(' ')}`);
const coverage: string[] = [];
for (const lift of [0, 0.1, 0.2, 0.3]) {
  const truth = lift * (0.8 * 0.02 + 0.2 * 0.4);
  let heldAtEnd = 0;
  let heldAlways = 0;
  let once = 0;
  let anyDay = 0;
  const anytime = SCALES.map(() => 0);
  for (let r = 0; r < peekRuns; r++) {
    const c: CustomerSums = { customers: 0, trials: 0, successes: 0, trialsSquared: 0, successesSquared: 0, crossProducts: 0 };
    const t: CustomerSums = { ...c };
    let sawP = false;
    let always = true;
    const saw = SCALES.map(() => false);
    for (let day = 1; day <= DAYS; day++) {
      arrive(c, PER_DAY, 0);
      arrive(t, PER_DAY, lift);
      const fixed = customerRatioTest(c, t);
      if (fixed !== null && fixed.p < 0.05) sawP = true;
      if (day === DAYS && fixed !== null && fixed.p < 0.05) once++;
      if (fixed !== null && fixed.anytimeLow !== null && fixed.anytimeHigh !== null && (fixed.anytimeLow > truth || fixed.anytimeHigh < truth)) always = false;
      if (day === DAYS && fixed !== null && fixed.low <= truth && truth <= fixed.high) heldAtEnd++;
      SCALES.forEach((k, i) => {
        const test = customerRatioTest(c, t, { relativeScale: k });
        if (test !== null && test.anytimeP !== null && test.anytimeP < 0.05) saw[i] = true;
      });
    }
    if (sawP) anyDay++;
    if (always) heldAlways++;
    saw.forEach((s, i) => (anytime[i] += s ? 1 : 0));
  }
  const pct = (n: number) => `${((100 * n) / peekRuns).toFixed(1)}%`;
  console.log(`${lift.toFixed(2).padStart(5)} ${pct(once).padStart(17)} ${pct(anyDay).padStart(11)} ${anytime.map((n) => pct(n).padStart(14)).join(' ')}`);
  coverage.push(`${lift.toFixed(2).padStart(5)} ${pct(heldAtEnd).padStart(27)} ${pct(heldAlways).padStart(36)}`);
}
console.log(`\nthe 95% intervals around the true difference (lift x 9.6%): share of experiments where it held\n`);
console.log(`${'lift'.padStart(5)} ${'one-look interval, last day'.padStart(27)} ${'any-time interval, at all 28 looks'.padStart(36)}`);
for (const line of coverage) console.log(line);

// Several treatments against one control: how often some arm is called different when none is (A/A/A/A),
// each test at 5% (comparisons 1, as the report did before the thirty-sixth session) and adjusted for the
// experiment's treatments; and how often a real lift of one arm is still found.
console.log(`\nexperiments of several treatments, ${runs} of ${customers} customers per arm (unalike): share where some arm has p < 0.05\n`);
console.log(`${'treatments'.padStart(10)} ${'lift of one'.padStart(11)} ${'each at 5%'.padStart(11)} ${'adjusted'.padStart(9)}`);
const unalike = TRAFFIC['customers unalike (2% or 40%)'];
for (const treatments of [1, 2, 3, 5]) {
  for (const lift of [0, 0.02]) {
    let each = 0;
    let adjusted = 0;
    for (let r = 0; r < runs; r++) {
      const control = arm(unalike, 0, false);
      const arms = Array.from({ length: treatments }, (_, i) => arm(unalike, i === 0 ? lift : 0, true));
      // With a lift, what counts is finding the lifted arm; without, any arm called different.
      const called = (m: number) => arms.some((t, i) => (lift === 0 || i === 0) && (customerRatioTest(control, t, { comparisons: m })?.p ?? 1) < 0.05);
      if (called(1)) each++;
      if (called(treatments)) adjusted++;
    }
    const pct = (n: number) => `${((100 * n) / runs).toFixed(1)}%`;
    console.log(`${String(treatments).padStart(10)} ${lift.toFixed(2).padStart(11)} ${pct(each).padStart(11)} ${pct(adjusted).padStart(9)}`);
  }
}
