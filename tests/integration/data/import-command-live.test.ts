import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REDIS_PREFIX } from '../../../src/store/create-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { runCliScript } from '../../helpers/cli-process.js';
import { createPostgresTestDb, POSTGRES_URL, REDIS_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { builtEntry } from '../../helpers/built-entry.js';

const available = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));
const DAY = 86_400_000;
const MODEL_NOW = Date.UTC(2026, 10, 1);

/**
 * `npm run import` on Postgres and Redis, as a data team imports the day's orders: the purchases newer than
 * the active model's data count in live recommendations at once, as an import job on a server makes them.
 * The CLI uses the service's own key prefix, so it gets a Redis database of its own here.
 */
describe.skipIf(!available)('npm run import with Redis', () => {
  const redisUrl = (() => {
    const url = new URL(REDIS_URL);
    url.pathname = '/13';
    return url.toString();
  })();
  let testDb: TestDb;
  let store: ModelStore;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(path.join(tmpdir(), 'import-live-'));

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    const { rows } = await testDb.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${rows[0].schema}`);
    env = { ...process.env, DATABASE_URL: url.toString(), REDIS_URL: redisUrl, LOG_LEVEL: 'silent' };
    store = createRedisModelStore({ url: redisUrl, prefix: DEFAULT_REDIS_PREFIX });
    await store.publish({ version: 'v-live-import', recipe: 'default', trainedAt: new Date(MODEL_NOW).toISOString(), info: { serving: { now: MODEL_NOW } } });
  });
  afterAll(async () => {
    await store?.close();
    const redis = new Redis(redisUrl);
    await redis.flushdb();
    await redis.quit();
    await testDb?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("When the import holds purchases newer than the active model's data, Then they count in live recommendations; older ones wait for training", async () => {
    writeFileSync(
      path.join(dir, 'events.csv'),
      [
        'user_id,item_id,quantity,ts',
        `c1,i2,1,${new Date(MODEL_NOW + 2 * DAY).toISOString()}`,
        `c1,i1,1,${new Date(MODEL_NOW + DAY).toISOString()}`,
        `c2,i3,1,${new Date(MODEL_NOW - 10 * DAY).toISOString()}`,
      ].join('\n'),
    );
    const run = await runCliScript(builtEntry('src/cli/import-command.ts'), ['generic', dir], { env, timeoutMs: 120_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^2 purchases newer than the active model's data now count in its live recommendations$/m);
    expect((await store.getUserEvents('c1')).map((e) => e.itemId)).toEqual(['i1', 'i2']);
    expect(await store.getUserEvents('c2')).toEqual([]);
    // Imported again: nothing new, nothing appended twice.
    const again = await runCliScript(builtEntry('src/cli/import-command.ts'), ['generic', dir], { env, timeoutMs: 120_000 });
    expect(again.stdout).not.toMatch(/live recommendations/);
    expect((await store.getUserEvents('c1')).map((e) => e.itemId)).toEqual(['i1', 'i2']);
  }, 240_000);
  // An import that stops part way (a ; file's number that is not one past the rows checked first) has stored the rows
  // before it, and importing the mended file stores none of them again: the command tells them to live
  // recommendations as it stops (as an import job does), not only after an import that finishes.
  it('When the import stops at a bad number past its first rows, Then it exits 1 naming the row, and the purchases stored before it count in live recommendations', async () => {
    const stopped = path.join(dir, 'stopped');
    mkdirSync(stopped);
    const ts = new Date(MODEL_NOW + 3 * DAY).toISOString();
    const good = Array.from({ length: 30 }, (_, k) => `cs-u${k};cs-i;1;2,5;${ts}`);
    writeFileSync(path.join(stopped, 'events.csv'), ['user_id;item_id;quantity;price;ts', ...good, `cs-bad;cs-i;1;2,50 €;${ts}`, `cs-after;cs-i;1;2,5;${ts}`].join('\n'));
    const run = await runCliScript(builtEntry('src/cli/import-command.ts'), ['generic', stopped], { env, timeoutMs: 120_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/events\.csv: data row 31, column 4 \(price\) is not a number\. .*the rows before it are imported/);
    const { rows } = await testDb.db.query<{ n: number }>("SELECT count(*)::int AS n FROM purchase_events WHERE item_id = 'cs-i'");
    expect(rows[0].n).toBe(30);
    expect((await store.getUserEvents('cs-u0')).map((e) => e.itemId)).toEqual(['cs-i']);
    expect((await store.getUserEvents('cs-u29')).map((e) => e.itemId)).toEqual(['cs-i']);
    expect(await store.getUserEvents('cs-after')).toEqual([]);
  }, 240_000);
});
