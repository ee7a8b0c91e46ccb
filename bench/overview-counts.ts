/**
 * GET /v1/overview's counts on a large store: what one count of the whole store takes (what every call paid
 * before the counts were kept in the process), and what calls take now (src/data/kept-counts.ts): the first
 * (nothing kept: waits for a count), calls within OVERVIEW_COUNTS_MAX_AGE_MS (the kept counts), and calls once
 * they are older (each waits at most half a second, then answers with the last counts while the new count
 * runs), until the new count lands. Reads only.
 *
 *   DATABASE_URL=postgres://.../a_large_db npx tsx bench/overview-counts.ts [--calls 20]
 *
 * The database is any one the service migrated, e.g. a copy of ten times our data.
 */
import { loadavg } from 'node:os';
import { createPgDb } from '../src/data/db.js';
import { createCustomerRepository } from '../src/data/customer-repository.js';
import { createMemoryModelStore } from '../src/store/memory-model-store.js';
import { createServiceOverview } from '../src/training/service-overview.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL names the database to count');
const args = process.argv.slice(2);
const calls = Number(args[args.indexOf('--calls') + 1]) || 20;
const db = createPgDb(url);
const customers = createCustomerRepository(db);
let offset = 0;
const overview = createServiceOverview({ customers, store: await createMemoryModelStore({}), served: async () => null, now: () => Date.now() + offset });
const ms = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms over ${s.length}`;
};

console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const direct = [await ms(() => customers.counts()), await ms(() => customers.counts())];
console.log(`one count of the whole store (every call before): ${direct.map((d) => d.toFixed(0)).join(' ms, ')} ms`);
console.log(`first call (nothing kept): ${(await ms(() => overview())).toFixed(0)} ms`);
const fresh: number[] = [];
for (let i = 0; i < calls; i++) fresh.push(await ms(() => overview()));
console.log(`calls within the age: ${summary(fresh)}`);
const before = (await overview()).counts.countedAt;
offset += 31_000;
// A dashboard's calls every 100 ms from the moment the kept counts are too old, until one carries the new count.
const stale: number[] = [];
const t0 = performance.now();
let landed = 0;
while (!landed && stale.length < 1000) {
  const t1 = performance.now();
  const { counts } = await overview();
  stale.push(performance.now() - t1);
  if (counts.countedAt !== before) landed = performance.now() - t0;
  else await new Promise((resolve) => setTimeout(resolve, 100));
}
console.log(`calls every 100 ms once the counts are older than the age, until one has the new count: ${summary(stale)}; the new count landed after ${landed.toFixed(0)} ms`);
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await db.close();
