import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../src/data/db.js';
import { INTERRUPTED } from '../../src/jobs/job-repository.js';
import { freePort, privateServerSupport, startPrivateRedisCluster, type PrivateRedisCluster } from '../helpers/private-servers.js';
import { POSTGRES_URL, randomPrefix, serviceAvailable } from '../helpers/services.js';
import { nodeArgs } from '../helpers/built-entry.js';
import { FIRST_START_SAMPLE } from '../helpers/first-start-sample.js';

/**
 * Beyond one process, as operations run it: two API replicas (JOB_RUNNER=worker) and one
 * `npm run worker`, real processes sharing one Postgres (a fresh schema) and a private 3-master Redis
 * Cluster. A training the worker runs is served by both replicas; a worker killed mid-training leaves
 * the old model served everywhere and its job failed, never running on.
 */
const support = await privateServerSupport();
const postgresUp = await serviceAvailable(POSTGRES_URL);
if (!support.redisCluster) {
  const why = `the replica test needs ${support.missing.join(', ')}`;
  if (process.env.REQUIRE_SERVICES === 'true') throw new Error(`${why} and REQUIRE_SERVICES=true`);
  console.warn(`skipping the replica test: ${why}`);
}

/** Starting a process, training and importing take seconds each on a busy two-core machine. */
const SLOW = 240_000;
const ADMIN = 'admin-key-for-replicas';
/**
 * What the worker imports and trains on: the tests' tenth of the bundled sample (35 customers; tests/fixtures/SOURCE.txt),
 * not the whole sample (353): what is tested is which process runs the jobs and which serves their model.
 */
const SAMPLE = FIRST_START_SAMPLE;
/** A customer of that sample with purchases. */
const CUSTOMER = '12350';

interface Proc {
  child: ChildProcess;
  output: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` until `done` holds, at most `ms`; returns the last value read. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await sleep(every);
    value = await read();
  }
  return value;
}

describe.skipIf(!support.redisCluster || !postgresUp)('two API replicas and a worker on Postgres and a Redis Cluster', () => {
  const schema = randomPrefix('replicas');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-replicas-'));
  let admin: Db;
  let cluster: PrivateRedisCluster;
  let env: NodeJS.ProcessEnv;
  const apis: { url: string; proc: Proc }[] = [];
  let worker: Proc;

  const start = (script: string, extra: NodeJS.ProcessEnv = {}): Proc => {
    const child = spawn(process.execPath, nodeArgs(script), { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc: Proc = { child, output: '' };
    child.stdout!.on('data', (b) => (proc.output += b));
    child.stderr!.on('data', (b) => (proc.output += b));
    return proc;
  };
  const stop = async (proc: Proc | undefined, signal: NodeJS.Signals = 'SIGKILL') => {
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    const exited = new Promise((r) => proc.child.once('exit', r));
    proc.child.kill(signal);
    await exited;
  };
  const call = async (base: string, method: string, route: string, body?: unknown) => {
    const res = await fetch(new URL(route, base), {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const job = async (kind: 'imports' | 'training-jobs', id: string) => (await call(apis[0].url, 'GET', `/v1/${kind}/${id}`)).json;
  const settled = (kind: 'imports' | 'training-jobs', id: string, ms: number) =>
    until(() => job(kind, id), (j) => j.status === 'succeeded' || j.status === 'failed', ms);
  const servedVersion = async (base: string) => {
    const { status, json } = await call(base, 'GET', `/v1/users/${CUSTOMER}/recommendations?k=5`);
    return status === 200 ? (json.modelVersion as string | null) : `HTTP ${status}`;
  };

  beforeAll(async () => {
    admin = createPgDb(POSTGRES_URL, { max: 1 });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    cluster = await startPrivateRedisCluster(3);
    const db = new URL(POSTGRES_URL);
    db.searchParams.set('options', `-c search_path=${schema}`);
    // Only the keys of this machine's environment that are not the service's own configuration.
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...base } = process.env;
    env = {
      ...base,
      DATABASE_URL: db.toString(),
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      API_KEYS: `admin:${ADMIN}`,
      JOB_RUNNER: 'worker',
      SAMPLE_DATA: 'false',
      DATA_DIR: dataDir,
      IMPORT_ROOTS: path.dirname(SAMPLE),
      TRAIN_THREADS: '1',
      LOG_LEVEL: 'warn',
    };
    // The first API migrates the schema; the second and the worker start once it answers.
    const ports = [await freePort(), await freePort()];
    const startApi = (port: number) => apis.push({ url: `http://127.0.0.1:${port}`, proc: start('src/server.ts', { PORT: String(port) }) });
    const live = (url: string) => until(() => fetch(new URL('/health/live', url)).then((r) => r.ok, () => false), (ok) => ok, SLOW, 200);
    startApi(ports[0]);
    expect(await live(apis[0].url)).toBe(true);
    startApi(ports[1]);
    worker = start('src/cli/worker-command.ts', { LOG_LEVEL: 'info' });
    expect(await live(apis[1].url)).toBe(true);
  }, SLOW);

  afterAll(async () => {
    await Promise.all([...apis.map((a) => stop(a.proc, 'SIGTERM')), stop(worker, 'SIGTERM')]);
    await cluster?.dispose();
    await admin?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  let first: string;

  it('When the worker imports and trains, Then both replicas serve the new version within seconds', async () => {
    const imported = await call(apis[0].url, 'POST', '/v1/imports', { format: 'online-retail', path: SAMPLE });
    expect(imported.status).toBe(202);
    expect(await settled('imports', imported.json.jobId as string, SLOW)).toMatchObject({ status: 'succeeded' });

    // Asked through the second replica: any replica takes jobs, the worker runs them.
    // Tuning has its own tests; this one is about who runs the job and who serves its model.
    const accepted = await call(apis[1].url, 'POST', '/v1/training-jobs', { tune: false });
    expect(accepted.status).toBe(202);
    const trained = await settled('training-jobs', accepted.json.jobId as string, SLOW);
    expect(trained, worker.output).toMatchObject({ status: 'succeeded' });
    first = (trained.result as { version: string }).version;
    // The worker ran it (the replicas have no job handlers). Its log line may reach the pipe a moment
    // after the job's row says succeeded.
    const succeededLines = () =>
      worker.output.split('\n').filter((line) => line.includes('"msg":"job succeeded"') && line.includes(accepted.json.jobId as string));
    const lines = await until(async () => succeededLines(), (found) => found.length > 0, 5_000);
    expect(lines).toHaveLength(1);
    // In the replicas' format (pino's): one log query reads both, level 30 meaning info in each.
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, pid: worker.child.pid, hostname: expect.any(String), jobId: accepted.json.jobId });

    for (const api of apis) expect(await until(() => servedVersion(api.url), (v) => v === first, 10_000)).toBe(first);
  }, SLOW);

  it('When the worker is killed mid-training, Then the old model stays served on both replicas and the job ends failed, not run again', async () => {
    const accepted = await call(apis[0].url, 'POST', '/v1/training-jobs', {});
    expect(accepted.status).toBe(202);
    const id = accepted.json.jobId as string;
    // Killed as soon as it has claimed the job: the training takes seconds, the poll 20 ms.
    const running = await until(() => job('training-jobs', id), (j) => j.status !== 'queued', SLOW, 20);
    await stop(worker, 'SIGKILL');
    expect(running).toMatchObject({ status: 'running' });

    // Failed by a replica's sweep (the worker's process is gone), within seconds rather than the heartbeat limit.
    const failed = await settled('training-jobs', id, 30_000);
    expect(failed).toMatchObject({ status: 'failed', error: INTERRUPTED });
    const models = await call(apis[1].url, 'GET', '/v1/models');
    expect((models.json.versions as { version: string; active: boolean }[]).map((m) => [m.version, m.active])).toEqual([[first, true]]);
    for (const api of apis) expect(await servedVersion(api.url)).toBe(first);

    // The training slot is free again, and the failed job stays failed: nothing picks it up again.
    const again = await call(apis[1].url, 'POST', '/v1/training-jobs', {});
    expect(again.status).toBe(202);
    await sleep(1000);
    expect(await job('training-jobs', id)).toMatchObject({ status: 'failed', error: INTERRUPTED });
  }, SLOW);
});
