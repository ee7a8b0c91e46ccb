/**
 * What the start's scrub of the erasures the model store lost (user-erasure.ts catchUp, awaited before a server
 * listens) costs on a Redis whose every reply comes `--delay` ms late (a proxy: tests/helpers/redis-proxy.ts), on
 * the state a real first start leaves (tests/helpers/first-start-state.ts: the sample trained into Redis, nothing
 * behind): its time is its round trips one after another, so it is measured here without a whole server's start
 * around it (tests/e2e/server-start-redis-slow.test.ts times that start, at the mercy of the machine's load). Also
 * the store's listVersions alone, which the start and readiness call. A private Postgres and redis-server (started
 * and removed here).
 *
 *   npx tsx bench/start-scrub-slow-redis.ts [--delay 700] [--runs 3]
 *
 * Prints each run's ms (a first call in a fresh process, as at a start: the audience check is due) and the load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/data/open-database.js';
import { createServices } from '../src/services.js';
import { createModelStore } from '../src/store/create-model-store.js';
import { startAfterFirstStart } from '../tests/helpers/first-start-state.js';
import { startRedisProxy } from '../tests/helpers/redis-proxy.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const DELAY_MS = Number(option('--delay') ?? 700);
const RUNS = Number(option('--runs') ?? 3);

const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-bench-scrub-'));
const { pg, redis } = await startAfterFirstStart(dataDir);
const proxy = await startRedisProxy(redis.url);
try {
  proxy.delay(DELAY_MS);
  const load = () => loadavg()[0].toFixed(1);
  console.log(`reply delay ${DELAY_MS} ms, load ${load()}`);
  for (let run = 1; run <= RUNS; run++) {
    const config = loadConfig({ DATABASE_URL: pg.url, REDIS_URL: proxy.url, DATA_DIR: dataDir, SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', REDIS_COMMAND_TIMEOUT_MS: '10000' });
    const db = await openDatabase(config);
    const store = await createModelStore(config);
    const services = createServices({ config, db, store });
    try {
      // Connected first (a ping), so the time is the scrub's own.
      await store.ping();
      const cpu0 = process.cpuUsage();
      let t = performance.now();
      const versions = await store.listVersions();
      const listMs = performance.now() - t;
      t = performance.now();
      await services.erasure.catchUp();
      const catchUpMs = performance.now() - t;
      const cpu = process.cpuUsage(cpu0);
      console.log(
        `run ${run}: listVersions ${listMs.toFixed(0)} ms (${versions.length} kept), catchUp ${catchUpMs.toFixed(0)} ms, cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, load ${load()}`,
      );
    } finally {
      await store.close();
      await db.close();
    }
  }
} finally {
  await proxy.close();
  await pg.dispose();
  await redis.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}
