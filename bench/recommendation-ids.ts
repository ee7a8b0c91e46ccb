/**
 * The cost of signed recommendationIds (src/serving/recommendation-token.ts): signing one per answer, and
 * verifying one per feedback event sent with a frontend key, against the random UUID they replaced.
 *
 *   npx tsx bench/recommendation-ids.ts [--n 200000]
 *
 * Pure CPU, in process: no database (the key is read once per process, then kept in memory).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { signRecommendationToken, verifyRecommendationToken } from '../src/serving/recommendation-token.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const n = Number(option('--n') ?? 200_000);
const KEY = randomBytes(32);
const WEEK = 7 * 86_400_000;
const answer = { strategy: 'hybrid', modelVersion: '2026-03-01T11:00:00.000Z', experiment: { id: 'home-2026-03', arm: 'treatment' } };
const plain = { strategy: 'popularity', modelVersion: '2026-03-01T11:00:00.000Z' };

/** Best of three runs of `n` calls: ns per call. */
function time(label: string, fn: (i: number) => unknown): number {
  let best = Infinity;
  let sink = 0;
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) if (fn(i)) sink++;
    best = Math.min(best, performance.now() - t0);
  }
  const ns = (best * 1e6) / n;
  console.log(`${label.padEnd(52)} ${ns.toFixed(0).padStart(6)} ns/call  (${Math.round(1e9 / ns).toLocaleString('en-US')}/s)${sink < 0 ? '' : ''}`);
  return ns;
}

console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, n = ${n.toLocaleString('en-US')}`);
const now = Date.now();
const tokens = Array.from({ length: 1024 }, () => signRecommendationToken(KEY, answer, now));
const uuids = Array.from({ length: 1024 }, () => randomUUID());
const tampered = tokens.map((t) => (t[10] === 'A' ? 'B' : 'A') + t.slice(1));
console.log(`token length: ${tokens[0].length} characters with an experiment, ${signRecommendationToken(KEY, plain, now).length} without (a UUID: 36)`);
time('randomUUID (the id before)', () => randomUUID());
time('sign: answer in an experiment', () => signRecommendationToken(KEY, answer, now));
time('sign: answer without an experiment', () => signRecommendationToken(KEY, plain, now));
time('verify: a valid token', (i) => verifyRecommendationToken(KEY, tokens[i & 1023], now, WEEK));
time('verify: a tampered token (one character)', (i) => verifyRecommendationToken(KEY, tampered[i & 1023], now, WEEK));
time('verify: a UUID (old or made-up id)', (i) => verifyRecommendationToken(KEY, uuids[i & 1023], now, WEEK));
