/**
 * What an erasure costs the requests of other customers on two replicas (DELETE /v1/users/:id while a
 * storefront keeps asking for the erased customer's recommendations), on the bundled Online Retail sample.
 *
 *   npx tsx bench/erasure-stall.ts [--rounds 4]
 *
 * Imports the sample into the Postgres schema `bench_erasure_stall` afresh, trains the default recipe with
 * its written weights into REDIS_URL under a random prefix (both deleted afterwards), and builds two
 * replicas' services in this process, each with its own Redis connections, so B hears of A's erasures
 * through pub/sub as a separate process would. Prints:
 * - what loading a version's on-request scorer (src/serving/on-request-scorer.ts) costs: the store reads,
 *   and the synchronous decode that blocks the event loop; and one on-request scoring of a big buyer;
 * - per round: while 8 clients keep asking for the customer being erased and 4 others for bystanders
 *   (hybrid and buy-again, k=20, alternately on A and B, each client every 10 ms), A erases the customer;
 *   the bystanders' latency (from each request's scheduled time) before and from the erasure on, the
 *   longest event-loop delay, how many times a replica loaded its scorer, and how many requests read the
 *   erased customer's purchases (to score them on request). Both replicas share this process's event
 *   loop, so a stall of either shows in both.
 * Each round erases another of the sample's biggest buyers. Round 1: nobody asks for them; round 2: the
 * storefront does, and neither replica has loaded its scorer (every sample customer is precomputed);
 * round 3 on: the same with both scorers loaded before (an unknown visitor asked).
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { createPgDb, type Db } from '../src/data/db.js';
import { BUNDLED_SAMPLE_PATH, runImport } from '../src/data/importers/run-import.js';
import { migrate } from '../src/data/migrate.js';
import { createServices, type Services } from '../src/services.js';
import { loadOnRequestScorer } from '../src/serving/on-request-scorer.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import type { ModelStore } from '../src/store/model-store.js';
import { optionTaker } from './lib/online-retail.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';

const option = optionTaker(process.argv.slice(2));
const rounds = Number(option('--rounds') ?? 3);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEMA = 'bench_erasure_stall';
const ms = (t: number) => `${Math.max(0, t).toFixed(0)} ms`;
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

const admin = createPgDb(PG, { max: 1 });
await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
await admin.exec(`CREATE SCHEMA ${SCHEMA}`);
const prefix = `bench_erasure_stall_${randomBytes(3).toString('hex')}:`;
const dbs = [createPgDb(PG, { max: 4, schema: SCHEMA }), createPgDb(PG, { max: 4, schema: SCHEMA })];
// Loads of the on-request scorer, counted by its read of the hybrid's artifact (nothing else reads it when
// serving); reads of the erased customer's purchases that found some (each is then scored on request).
let scorerLoads = 0;
let personalReads = 0;
let watched = '';
const watching = (db: Db): Db => ({
  ...db,
  query: async (sql, params) => {
    const result = await db.query(sql, params);
    if (result.rows.length > 0 && sql.includes('purchase_events') && params?.includes(watched)) personalReads++;
    return result as never;
  },
});
const counted = (store: ModelStore): ModelStore => ({
  ...store,
  getArtifact: (version, name) => {
    if (name === 'recommender:hybrid') scorerLoads++;
    return store.getArtifact(version, name);
  },
});
const stores = [createRedisModelStore({ url: REDIS, prefix }), createRedisModelStore({ url: REDIS, prefix })];
const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', JOB_RUNNER: 'worker', AUTH_DISABLED: 'true', ERASURE_REFRESH_MS: '500' });

try {
  await migrate(dbs[0]);
  const imported = await runImport({ db: dbs[0] }, { format: 'online-retail', path: BUNDLED_SAMPLE_PATH });
  const [a, b]: Services[] = [0, 1].map((k) => createServices({ config, db: watching(dbs[k]), store: counted(stores[k]) }));
  const t0 = performance.now();
  const trained = await a.trainer.train({ tune: false });
  console.log(`sample: ${imported.accepted} purchases; trained ${trained.version} in ${ms(performance.now() - t0)} (${trained.data.users} customers, ${trained.data.items} products)`);
  await a.serving.refresh();
  await b.serving.refresh();

  // The scorer's load on its own: the store reads, then the decode (one synchronous stretch).
  const model = (await a.serving.activeModel())!;
  for (let k = 0; k < 3; k++) {
    const r0 = performance.now();
    const names = ['serving-user-ids', 'recommender:hybrid', ...model.info.hybridSources.map((n) => `recommender:${n}`)];
    const bytes = await Promise.all(names.map((n) => stores[0].getArtifact(model.meta.version, n)));
    const read = performance.now() - r0;
    const l0 = performance.now();
    await loadOnRequestScorer(stores[0], model);
    const whole = performance.now() - l0;
    const mb = bytes.reduce((s, x) => s + (x?.byteLength ?? 0), 0) / 1024 / 1024;
    console.log(`scorer load ${k + 1}: ${ms(whole)} (store reads alone ${ms(read)}, ${mb.toFixed(1)} MB of artifacts)`);
  }

  const { rows: customers } = await dbs[0].query<{ user_id: string }>(
    `SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT $1`,
    [rounds + 4],
  );
  const bystanders = customers.slice(rounds).map((r) => r.user_id);
  const replicas = [a, b];
  const strategies = ['hybrid', 'buy-again'] as const;
  {
    // One on-request scoring of the customer erased in the first round, what a request pays while their entry is forgotten.
    const scorer = (await loadOnRequestScorer(stores[0], model))!;
    const rows = await a.events.loadPurchaseRows({ userId: customers[0].user_id });
    const s0 = performance.now();
    for (let k = 0; k < 5; k++) scorer(rows, {});
    console.log(`one on-request scoring of ${customers[0].user_id} (${rows.length} purchases): ${ms((performance.now() - s0) / 5)}`);
  }

  for (let round = 0; round < rounds; round++) {
    const erased = customers[round].user_id;
    const askErased = round > 0;
    if (round === 2) for (const s of replicas) await s.serving.recommendForUser('bench-unknown-visitor', { k: 20 });
    // Warm: every customer's entries are read once on both replicas.
    for (const s of replicas) for (const id of [erased, ...bystanders]) for (const strategy of strategies) await s.serving.recommendForUser(id, { k: 20, strategy });
    const loadsBefore = scorerLoads;
    watched = erased;
    personalReads = 0;
    const latencies: { at: number; ms: number }[] = [];
    let stop = false;
    // Each client sends a request every 10 ms on a schedule (as a storefront's visitors arrive, whatever
    // the service is doing): a request's latency counts from its scheduled time, so a blocked event loop shows.
    const client = async (n: number, ids: string[], record: boolean) => {
      const start = performance.now() + n;
      for (let i = n; !stop; i++) {
        const due = start + (i - n) * 10;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await replicas[i % 2].serving.recommendForUser(ids[i % ids.length], { k: 20, strategy: strategies[(i >> 1) % 2] });
        if (record) latencies.push({ at: due, ms: performance.now() - due });
      }
    };
    const delay = monitorEventLoopDelay({ resolution: 5 });
    const clients = [0, 1, 2, 3].flatMap((n) => [...(askErased ? [client(n, [erased], false), client(n + 4, [erased], false)] : []), client(n, bystanders, true)]);
    await new Promise((r) => setTimeout(r, 1000));
    delay.enable();
    const erasedAt = performance.now();
    await a.eraseUser(erased);
    const eraseMs = performance.now() - erasedAt;
    // Long enough for B to follow the erasure from Postgres too (ERASURE_REFRESH_MS 500).
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await Promise.all(clients);
    delay.disable();
    const before = latencies.filter((l) => l.at < erasedAt).map((l) => l.ms);
    const after = latencies.filter((l) => l.at >= erasedAt).map((l) => l.ms);
    console.log(
      `round ${round + 1} (${!askErased ? 'nobody asks for the erased customer' : round === 1 ? 'the erased customer asked for, no scorer loaded before' : 'the erased customer asked for, scorers loaded before'}): erasure ${ms(eraseMs)}; ` +
        `bystanders before p50 ${ms(percentile(before, 0.5))} max ${ms(Math.max(...before))} (${before.length}), ` +
        `from the erasure on p50 ${ms(percentile(after, 0.5))} p99 ${ms(percentile(after, 0.99))} max ${ms(Math.max(...after))} (${after.length}); ` +
        `event-loop delay max ${ms(delay.max / 1e6)}; scorer loads ${scorerLoads - loadsBefore}; ` +
        `the erased customer's purchases read ${personalReads} times from the erasure on`,
    );
  }
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
} finally {
  for (const s of stores) await s.close();
  for (const db of dbs) await db.close();
  await deleteRedisPrefix(REDIS, prefix);
  await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.close();
}
process.exit(0);
