/**
 * What one erasure moves through Redis on a shop already imported and trained (DELETE /v1/users/:id,
 * src/privacy/user-erasure.ts): per erasure, its time, the bytes Redis received and sent (its
 * `total_net_input_bytes` / `total_net_output_bytes`: use a Redis of the bench's own, nothing else
 * counted), the longest event-loop stall of this process (which holds the services, as a serving process
 * does) and the time per store call by artifact; before the erasures, what loading the active version's
 * on-request scorer and its profiles costs (their artifacts read and decoded). `--erasures 0`: the loads only.
 *
 *   DATABASE_URL=postgres://.../shop_db REDIS_URL=redis://127.0.0.1:PORT [REDIS_PREFIX=recsvc:] \
 *     npx tsx bench/erasure-bytes.ts [--erasures 5] [--skip 0]
 *
 * The shop is the caller's (e.g. `N_USERS=100000 python3 bench/lib/fashion-shop.py DIR`, imported with
 * `npm run import -- generic DIR/generic` and trained with `npm run train -- --no-tune` against that Redis).
 * Erasures delete the customers for good: each run erases the next customers by purchase count around
 * the median (after `--skip` of them), so runs of two releases on the same shop erase different ones.
 */
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import { createPgDb } from '../src/data/db.js';
import { createProfileService } from '../src/profiles/profile-service.js';
import { createServices } from '../src/services.js';
import { loadOnRequestScorer } from '../src/serving/on-request-scorer.js';
import type { ModelStore } from '../src/store/model-store.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { withStallProbe } from './lib/event-loop-stall.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const count = Number(option('--erasures') ?? 5);
const skip = Number(option('--skip') ?? 0);
const PG = process.env.DATABASE_URL;
const REDIS = process.env.REDIS_URL;
if (!PG || !REDIS) throw new Error('set DATABASE_URL (the shop\'s database) and REDIS_URL (its model store, a Redis of the bench\'s own)');
const prefix = process.env.REDIS_PREFIX ?? 'recsvc:';

const db = createPgDb(PG, { max: 4 });
const redisStore = createRedisModelStore({ url: REDIS, prefix });
const spent = new Map<string, number>();
const timed = <T>(what: string, run: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  return run().finally(() => spent.set(what, (spent.get(what) ?? 0) + performance.now() - t0));
};
// The store's calls, timed by call and artifact; the optional ones only where the store has them.
const store: ModelStore = {
  ...redisStore,
  getArtifact: (version, name) => timed(`read ${name} whole`, () => redisStore.getArtifact(version, name)),
  redactArtifact: (version, name, bytes) => timed(`rewrite ${name}`, () => redisStore.redactArtifact(version, name, bytes)),
  deleteUser: (id, drafts) => timed('per-user entries and live events', () => redisStore.deleteUser(id, drafts)),
};
const extra = redisStore as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
for (const [call, label] of [['readArtifactRange', 'read a range of'], ['patchArtifact', 'patch']] as const) {
  const original = extra[call];
  if (original) (store as unknown as Record<string, unknown>)[call] = (version: string, name: string, ...rest: unknown[]) => timed(`${label} ${name}`, () => original.call(redisStore, version, name, ...rest));
}
const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', JOB_RUNNER: 'worker', AUTH_DISABLED: 'true' });
const services = createServices({ config, db, store });
const stats = new Redis(REDIS);
const netBytes = async () => {
  const info = await stats.info('stats');
  const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)![1]);
  return { in: field('total_net_input_bytes'), out: field('total_net_output_bytes') };
};
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MB`;
const ms = (t: number) => `${t.toFixed(0)} ms`;

try {
  await services.serving.refresh();
  const model = await services.serving.activeModel();
  if (!model) throw new Error('no active model version in the store: train first');
  const versions = await store.listVersions();
  console.log(`active ${model.meta.version}, ${versions.length} kept version(s)`);
  for (let k = 0; k < 3; k++) {
    const n0 = await netBytes();
    const l0 = performance.now();
    await loadOnRequestScorer(store, model);
    const n1 = await netBytes();
    console.log(`scorer load ${k + 1}: ${ms(performance.now() - l0)}, ${mb(n1.out - n0.out)} read from Redis`);
  }
  for (let k = 0; k < 3; k++) {
    // A process's first profiles read: the artifact read and decoded into columns, report and populations.
    const l0 = performance.now();
    const report = await createProfileService({ store, events: services.events, catalog: services.catalog }).report();
    console.log(`profiles load ${k + 1}: ${ms(performance.now() - l0)} (${report?.users} customers)`);
  }
  if (count === 0) process.exit(0);
  const { rows } = await db.query<{ user_id: string }>(
    `WITH c AS (SELECT user_id, count(*) AS n FROM purchase_events GROUP BY user_id)
     SELECT user_id FROM c WHERE n >= (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM c)
     ORDER BY n, md5(user_id) OFFSET $1 LIMIT $2`,
    [skip, count],
  );
  spent.clear();
  const lines: string[] = [];
  let total = 0;
  for (const { user_id: id } of rows) {
    const n0 = await netBytes();
    const { ms: took, stallMs } = await withStallProbe(() => services.eraseUser(id));
    const n1 = await netBytes();
    total += took;
    lines.push(`  ${id}: ${ms(took)}, Redis received ${mb(n1.in - n0.in)} and sent ${mb(n1.out - n0.out)}, longest event-loop stall ${ms(stallMs)}`);
  }
  console.log(`${rows.length} erasures, one after another (customers around the median number of purchases):`);
  for (const line of lines) console.log(line);
  console.log(`  mean ${ms(total / rows.length)}`);
  console.log('store calls, mean per erasure:');
  for (const [what, t] of [...spent].sort((a, b) => b[1] - a[1])) console.log(`  ${what}: ${ms(t / rows.length)}`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
} finally {
  await stats.quit();
  await redisStore.close();
  await db.close();
}
