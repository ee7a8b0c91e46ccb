import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb } from '../../src/data/db.js';
import { firstStart, keptState, startAfterFirstStart } from '../helpers/first-start-state.js';
import { privateServerSupport, startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../helpers/private-servers.js';

/**
 * The kept state that the tests of a second start begin from (tests/helpers/first-start-state.ts: made once per
 * version of the sources by a real first start, then copied for each file) is what a first start leaves: a fresh
 * first start here, on servers of its own, against a start from the kept copies. The same rows in every table (by
 * count: the rows carry the times they were written), the same Redis keys of the same types (the model version's
 * name, which carries its training time, aside), and the same DATA_DIR files. Where the state is kept already, the
 * first start here is a second, independent one of the same sources; where it is not (a clean clone), the first start
 * here is the one kept, and the check is that its copies hold what its servers hold.
 */
const support = await privateServerSupport();
const runnable = support.postgres && support.redis;
if (!runnable && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** A first start (an import and a training) on a busy two-core machine, and the kept state's build when it is missing. */
const SLOW = 240_000;

interface Servers {
  pg: PrivatePostgres;
  redis: PrivateRedis;
  dataDir: string;
}

/** Every table's row count, by schema-qualified name. */
async function rowCounts(url: string): Promise<Record<string, number>> {
  const db = createPgDb(url, { max: 1 });
  try {
    const { rows: tables } = await db.query<{ name: string }>(
      `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
       WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const { name } of tables) counts[name] = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0].n);
    return counts;
  } finally {
    await db.close();
  }
}

/** Every lasting key with its type, and the model versions the store lists, with the active version's name as VERSION. */
async function redisShape(url: string): Promise<{ keys: string[]; versions: string[]; active: string | null; activeFields: string[] }> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  try {
    // Keys that expire (the store's write probe, gone within a second) are left out: a server started after the first
    // start's kill does not meet them either.
    const all = await client.keys('*');
    const ttls = await Promise.all(all.map((k) => client.pttl(k)));
    const keys = all.filter((_, i) => ttls[i] === -1);
    // The active version's metadata (JSON): its name, and which fields it has.
    const meta = keys.includes('recsvc:active') ? (JSON.parse((await client.get('recsvc:active'))!) as Record<string, unknown>) : null;
    const active = typeof meta?.version === 'string' ? meta.version : null;
    const named = (s: string) => (active ? s.split(active).join('VERSION') : s);
    const typed = await Promise.all(keys.map(async (k) => `${named(k)} ${await client.type(k)}`));
    const versions = keys.includes('recsvc:versions') ? (await client.hkeys('recsvc:versions')).map(named) : [];
    return { keys: typed.sort(), versions: versions.sort(), active: active && named(active), activeFields: Object.keys(meta ?? {}).sort() };
  } finally {
    client.disconnect();
  }
}

describe.skipIf(!runnable)('the kept state of a first start', () => {
  let fresh: Servers;
  let kept: Servers;

  beforeAll(async () => {
    const [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    fresh = { pg, redis, dataDir: mkdtempSync(path.join(tmpdir(), 'recsvc-fresh-first-start-')) };
    // Where no state is kept yet for these sources (a clean clone, as CI's), this file's first start is the one kept
    // (not a second first start): what is compared then is its servers against copies of them.
    const { built } = await keptState(async () => ({ pg, redis, dataDir: fresh.dataDir, log: await firstStart(pg, redis, fresh.dataDir) }));
    if (!built) await firstStart(pg, redis, fresh.dataDir);
    const keptDir = mkdtempSync(path.join(tmpdir(), 'recsvc-kept-first-start-'));
    kept = { ...(await startAfterFirstStart(keptDir)), dataDir: keptDir };
  }, SLOW);

  afterAll(async () => {
    for (const s of [fresh, kept]) {
      if (!s) continue;
      await Promise.all([s.pg.dispose(), s.redis.dispose()]);
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  });

  it('When servers start from it, Then they hold what a fresh first start leaves: the same tables and row counts, the same model store keys, the same DATA_DIR', async () => {
    const [freshRows, keptRows] = await Promise.all([rowCounts(fresh.pg.url), rowCounts(kept.pg.url)]);
    // The sample's purchases are there, not an empty database.
    expect(Object.values(freshRows).some((n) => n > 1000), JSON.stringify(freshRows)).toBe(true);
    expect(keptRows).toEqual(freshRows);

    const [freshStore, keptStore] = await Promise.all([redisShape(fresh.redis.url), redisShape(kept.redis.url)]);
    // One model version, trained and active.
    expect(freshStore.active).toBe('VERSION');
    expect(freshStore.versions).toEqual(['VERSION']);
    expect(freshStore.keys.length).toBeGreaterThan(10);
    expect(keptStore).toEqual(freshStore);

    expect(readdirSync(kept.dataDir, { recursive: true }).sort()).toEqual(readdirSync(fresh.dataDir, { recursive: true }).sort());
  }, SLOW);
});
