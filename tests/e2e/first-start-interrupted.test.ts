import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../src/data/db.js';
import { freePort } from '../helpers/private-servers.js';
import { POSTGRES_URL, randomPrefix, serviceAvailable } from '../helpers/services.js';
import { nodeArgs } from '../helpers/built-entry.js';

/**
 * A first start stopped while it imports the bundled sample (Ctrl-C during the ~20 s first start, a
 * container killed by a deploy): the next start must still end with the whole sample, not a truncated
 * one that it then trains on for good. The server runs on a fresh Postgres schema here only so that the
 * test can see the import's progress from outside and stop it mid-way.
 */
const postgresUp = await serviceAvailable(POSTGRES_URL);
const SLOW = 240_000;
/** Purchases the bundled sample holds (the first start's "sample imported" log line: accepted). */
const SAMPLE_PURCHASES = 37_695;
const ADMIN = 'admin-key-first-start';

describe.skipIf(!postgresUp)('a first start stopped during the sample import', () => {
  const schema = randomPrefix('firststart');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-first-start-'));
  let admin: Db;
  let env: NodeJS.ProcessEnv;
  let port: number;
  const children: ChildProcess[] = [];

  const start = () => {
    const child = spawn(process.execPath, nodeArgs('src/server.ts'), { env, stdio: ['ignore', 'ignore', 'ignore'] });
    children.push(child);
    return child;
  };
  const purchases = async () => (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.purchase_events`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n;

  beforeAll(async () => {
    admin = createPgDb(POSTGRES_URL, { max: 1 });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    const db = new URL(POSTGRES_URL);
    db.searchParams.set('options', `-c search_path=${schema}`);
    port = await freePort();
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...base } = process.env;
    env = { ...base, DATABASE_URL: db.toString(), DATA_DIR: dataDir, PORT: String(port), API_KEYS: `admin:${ADMIN}`, LOG_LEVEL: 'warn', TRAIN_THREADS: '1' };
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await admin?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('When the first start is stopped (Ctrl-C) mid-import, Then the next start completes the sample instead of training on part of it', async () => {
    const first = start();
    const exited = new Promise((r) => first.once('exit', r));
    // Stopped once some, not all, of the sample's purchases are stored.
    await expect.poll(purchases, { timeout: SLOW, interval: 50 }).toBeGreaterThan(0);
    first.kill('SIGINT');
    await exited;
    const left = await purchases();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(SAMPLE_PURCHASES);

    start();
    const url = `http://127.0.0.1:${port}`;
    await expect.poll(() => fetch(`${url}/health/ready`).then((r) => r.status, () => 0), { timeout: SLOW, interval: 500 }).toBe(200);
    // Whatever trained meanwhile (a first model, a queued training job) is done by now or later: the data is what matters.
    expect(await purchases()).toBe(SAMPLE_PURCHASES);
  }, SLOW * 2);
});
