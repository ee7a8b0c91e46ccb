/**
 * What a process's read of the erasures costs when nothing is new (privacy/erasure-follower.ts poll, with
 * user-erasure.ts catchUp as its store check): since the fifty-first session an API process makes it every
 * ERASURE_REFRESH_MS (5 s) by a timer, whether requests come or not, where only a request started it before.
 * One read = `erased_users` past the mark (Postgres) + the store's erasure records, with the notes of scrubs done
 * again (one Redis pipeline), + the audience catch-up's listing of versions when it is due. Also the cost of a new
 * note seen: the read of `erased_users` from its number and the forgetting of those customers (`--erased` of them),
 * once per process per scrub done again (a Redis restored from before some erasures).
 *
 * On its own Postgres schema (dropped at the end) and a private Redis key prefix (deleted at the end).
 *
 *   DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/N node --import tsx bench/erasure-follower-read.ts [--erased 1000] [--runs 300]
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createPgDb } from '../src/data/db.js';
import { createErasureRepository } from '../src/data/erasure-repository.js';
import { migrate } from '../src/data/migrate.js';
import { createErasureFollower } from '../src/privacy/erasure-follower.js';
import { createUserErasure } from '../src/privacy/user-erasure.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';
import { loadAverage, quantile } from './lib/run-stats.js';

const { values } = parseArgs({ options: { erased: { type: 'string', default: '1000' }, runs: { type: 'string', default: '300' } } });
const ERASED = Number(values.erased);
const RUNS = Number(values.runs);
const pg = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!pg || !redisUrl) throw new Error('DATABASE_URL and REDIS_URL are needed');
const load = loadAverage;
const ms = (x: number) => x.toFixed(2);

const schema = `bench_follower_${randomBytes(4).toString('hex')}`;
const prefix = `bench-follower-${randomBytes(4).toString('hex')}:`;
const admin = createPgDb(pg, { max: 1 });
await admin.exec(`CREATE SCHEMA ${schema}`);
const db = createPgDb(pg, { max: 4, schema });
const store = createRedisModelStore({ url: redisUrl, prefix });
try {
  await migrate(db);
  await db.query(`INSERT INTO erased_users (user_id) SELECT 'c' || g FROM generate_series(1, $1::int) g`, [ERASED]);
  const erasures = createErasureRepository(db);
  const mark = await erasures.mark();
  // The store is up to date with every erasure (what a check finds almost always).
  await store.raiseErasureRecords!(mark, { versions: [], liveEvents: true });
  let forgotten = 0;
  const erasure = createUserErasure({ events: { deleteUsers: async () => [] } as never, erasures, store, forget: async () => void forgotten++ });
  const follower = createErasureFollower({ erasures, forget: async () => void forgotten++, refreshMs: 5000, catchUpStore: (through) => erasure.catchUp(through) });
  await follower.poll();

  console.log(`# erasure-follower-read: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}, ${ERASED} erasures in erased_users, Postgres + Redis`);
  const idle: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    await follower.poll();
    idle.push(performance.now() - t0);
  }
  console.log(`idle read (nothing new), ${RUNS} runs: median ${ms(quantile(idle, 0.5))} ms, p95 ${ms(quantile(idle, 0.95))} ms; at one every 5 s that is ${((quantile(idle, 0.5) / 5000) * 100).toFixed(3)} % of the time`);

  const records: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    await store.erasureRecords!();
    records.push(performance.now() - t0);
  }
  console.log(`the store's erasure records alone (notes included): median ${ms(quantile(records, 0.5))} ms, p95 ${ms(quantile(records, 0.95))} ms`);

  // A scrub done again by another process, from the first erasure: every process forgets all of them once.
  const seen: number[] = [];
  for (let k = 0; k < 10; k++) {
    await store.noteScrubbedAgain!(0);
    forgotten = 0;
    const t0 = performance.now();
    await follower.poll();
    seen.push(performance.now() - t0);
    if (forgotten !== ERASED) throw new Error(`expected ${ERASED} forgotten, got ${forgotten}`);
  }
  console.log(`a read that finds a new note (forgets ${ERASED} customers again), 10 runs: median ${ms(quantile(seen, 0.5))} ms, max ${ms(Math.max(...seen))} ms`);
  console.log(`load average after: ${load()}`);
} finally {
  await store.close();
  await db.close();
  await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
  await admin.close();
  await deleteRedisPrefix(redisUrl, prefix);
}
