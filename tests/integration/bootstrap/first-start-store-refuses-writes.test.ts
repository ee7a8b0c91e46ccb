import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { bootstrap, bootstrapUntilDone } from '../../../src/bootstrap.js';
import { loadConfig } from '../../../src/config.js';
import { createServices } from '../../../src/services.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { privateServerSupport, startPrivateRedis } from '../../helpers/private-servers.js';
import { fillUntilRefused } from '../../helpers/redis-fill.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { FIRST_START_SAMPLE } from '../../helpers/first-start-sample.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);
// Postgres, as a deployment with Redis replicas has (a schema costs a tenth of a PGlite start, and the sample's import
// there a third); the first start then runs under its lock, as several replicas' do.
const postgres = await serviceAvailable(POSTGRES_URL);
if (!postgres && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs Postgres at DATABASE_URL and REQUIRE_SERVICES=true`);

/**
 * REDIS_URL naming a replica (or a primary demoted by a failover): Redis answers a ping but refuses every
 * write with READONLY. The first start (SAMPLE_DATA) trained the sample, had its writes refused, waited
 * a minute for them, and, since the store still answered a ping, trained again five seconds later: about
 * every 65 s, for ever, with readiness naming no store. A store that refuses writes is told apart: the
 * first start does not train into it, says so, readiness says so, and the sample trains once it takes writes.
 */
describe.skipIf(!support.redis || !postgres)('first start on a Redis that answers but refuses writes (a replica)', () => {
  const opened: { dispose(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.dispose();
  });

  it('When REDIS_URL names a replica, Then the first start does not train, says the store refuses writes (log and readiness), and trains the sample once the store takes writes', async () => {
    const primary = await startPrivateRedis();
    opened.push(primary);
    const replica = await startPrivateRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
    opened.push(replica);
    const db = await createPostgresTestDb();
    opened.push(db);
    const redis = createRedisModelStore({ url: replica.url, prefix: 'refuses-writes:' });
    opened.push({ dispose: () => redis.close() });
    let probes = 0;
    const store: ModelStore = { ...redis, acceptsWrites: () => (probes++, redis.acceptsWrites!()) };
    const config = loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: FIRST_START_SAMPLE, LOG_LEVEL: 'silent', JOB_RUNNER: 'worker', TRAIN_THREADS: '1' });
    const services = createServices({ config, db: db.db, store });
    let trainings = 0;
    const train = services.trainer.train.bind(services.trainer);
    services.trainer.train = (...args) => (trainings++, train(...args));
    const said: string[] = [];
    const log = { info() {}, warn: (_o: object, msg?: string) => void said.push(String(msg ?? _o)), error: (_o: object, msg?: string) => void said.push(String(msg ?? _o)) };
    const app = await buildApp(services);
    opened.push({ dispose: () => app.close() });

    expect(await store.ping()).toBe(true);
    // The sample is imported (Postgres takes it); the store refuses the training's writes: no training is started.
    expect(await bootstrap(services, log)).toBe(false);
    expect(trainings).toBe(0);
    expect(said.join('\n')).toMatch(/model store refuses writes/);
    const ready = await app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks).toMatchObject({ modelStore: true, modelStoreWritable: false });

    // Tried again (every 20 ms here): the store is asked whether it takes writes, and nothing trains meanwhile.
    let stopped = false;
    const done = bootstrapUntilDone(services, log, { stopped: () => stopped, retryMs: 20 });
    try {
      const from = probes;
      while (probes < from + 3) await new Promise((r) => setTimeout(r, 20));
      expect(trainings).toBe(0);

      // Promoted (a failover's end, or REDIS_URL mended): the sample trains, once.
      const admin = new Redis(replica.url);
      await admin.replicaof('NO', 'ONE');
      admin.disconnect();
      await done;
    } finally {
      stopped = true;
    }
    expect(trainings).toBe(1);
    expect(await store.getActive()).not.toBeNull();
    expect((await app.inject({ url: '/health/ready' })).json().checks).toMatchObject({ modelStore: true, modelStoreWritable: true });
  }, 240_000);

  it('When the model store is full under maxmemory with noeviction (OOM), Then the first start does not train and its log names OOM, not a replica', async () => {
    const full = await startPrivateRedis(['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction']);
    opened.push(full);
    // Filled up to its limit by other keys (a cache sharing it, say).
    expect(await fillUntilRefused(full.url)).toMatch(/^OOM /);
    const db = await createPostgresTestDb();
    opened.push(db);
    const store = createRedisModelStore({ url: full.url, prefix: 'full:' });
    opened.push({ dispose: () => store.close() });
    const config = loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: FIRST_START_SAMPLE, LOG_LEVEL: 'silent', JOB_RUNNER: 'worker', TRAIN_THREADS: '1' });
    const services = createServices({ config, db: db.db, store });
    let trainings = 0;
    const train = services.trainer.train.bind(services.trainer);
    services.trainer.train = (...args) => (trainings++, train(...args));
    const said: string[] = [];
    const log = { info() {}, warn: (_o: object, msg?: string) => void said.push(String(msg ?? _o)), error: (_o: object, msg?: string) => void said.push(String(msg ?? _o)) };

    expect(await bootstrap(services, log)).toBe(false);
    expect(trainings).toBe(0);
    const refusal = said.find((line) => line.includes('model store refuses writes'));
    expect(refusal).toMatch(/OOM/);
    expect(refusal).toMatch(/maxmemory/);
    expect(refusal).not.toMatch(/READONLY|replica/);
  }, 240_000);
});
