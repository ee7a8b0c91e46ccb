import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockHolder } from '../../src/data/data-dir-lock.js';
import { runCliScript } from '../helpers/cli-process.js';
import { builtEntry, nodeArgs } from '../helpers/built-entry.js';
import { seedMigratedPgliteDir } from '../helpers/services.js';

/** Starting a process and PGlite takes seconds on a busy two-core machine. */
const SLOW = 240_000;

/**
 * The data team's terminal while `npm start` runs on embedded data (one DATA_DIR): the training and
 * import CLIs send their jobs to the server and show them; a command with no hand-off, and a second
 * server, are refused with a message naming the running server.
 */
describe('CLI commands while the server owns DATA_DIR', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'recsvc-cli-server-'));
  const dataDir = path.join(root, 'data');
  // Only the keys of this machine's environment that are not the service's own configuration.
  const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...baseEnv } = process.env;
  const env = { ...baseEnv, DATA_DIR: dataDir, PORT: '0', SAMPLE_DATA: 'false', LOG_LEVEL: 'warn' };
  let server: ChildProcess;
  let output = '';
  let url: string;
  let key: string;

  // The server and the commands compiled (built-entry.ts): ten processes, each loading the service's modules.
  const cli = (script: string, ...args: string[]) => runCliScript(builtEntry(script), args, { env, timeoutMs: SLOW });
  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(new URL(route, url), {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: await res.json() };
  };

  beforeAll(async () => {
    // The embedded database as an earlier start left it (migrated): initdb and the migrations in the server were
    // 8-12 s of CPU of this file's set-up, and first starts are tested elsewhere.
    await seedMigratedPgliteDir(path.join(dataDir, 'pglite'));
    server = spawn(process.execPath, nodeArgs('src/server.ts'), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (b) => (output += b));
    server.stderr!.on('data', (b) => (output += b));
    // The server records its URL in the lock file once it listens (PORT=0: the port it got).
    for (;;) {
      const announced = readLockHolder(dataDir)?.url;
      if (announced && (await fetch(new URL('/health/live', announced)).then((r) => r.ok, () => false))) {
        url = announced;
        break;
      }
      if (server.exitCode !== null) throw new Error(`the server exited: ${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
    // Twelve purchases by three customers: enough for a training.
    const events = [];
    for (let u = 0; u < 3; u++) {
      for (let i = 0; i < 4; i++) events.push({ userId: `u${u}`, itemId: `i${(u + i) % 5}`, quantity: 1, orderId: `o${u}-${i % 2}`, ts: `2024-01-0${1 + i}T10:00:00Z` });
    }
    // A 503 is the API's "ask again" (a server that has just started may still be readying or shedding load), as a
    // storefront would; any other answer is final.
    let posted = await api('POST', '/v1/events', { events });
    for (let tries = 0; posted.status === 503 && tries < 60; tries++) {
      await new Promise((r) => setTimeout(r, 500));
      posted = await api('POST', '/v1/events', { events });
    }
    expect(posted.status, JSON.stringify(posted.json)).toBe(200);
  }, SLOW);
  afterAll(async () => {
    const exited = new Promise((r) => server.on('exit', r));
    server.kill('SIGTERM');
    await exited;
    rmSync(root, { recursive: true, force: true });
  }, 30_000);

  it('When npm run train is run, Then the server trains (its model changes) and the terminal shows the result', async () => {
    const res = await cli('src/cli/train-command.ts', '--recipe', 'default');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`The server at ${url}`);
    const version = /^version\s+(\S+)$/m.exec(res.stdout)?.[1];
    expect(version).toBeDefined();
    const models = await api('GET', '/v1/models');
    expect(models.json.active).toBe(version);
  }, SLOW);

  it('When npm run import is run, Then the server imports the file and the terminal shows its report', async () => {
    // The server reads the path itself, so it must be under its import roots (default DATA_DIR/imports).
    const csvDir = path.join(dataDir, 'imports', 'generic');
    mkdirSync(csvDir, { recursive: true });
    writeFileSync(path.join(csvDir, 'events.csv'), 'user_id,item_id,quantity,ts\nnew-user,i1,1,2024-02-01T00:00:00Z\n');
    const res = await cli('src/cli/import-command.ts', 'generic', csvDir);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`The server at ${url}`);
    expect((await api('GET', '/v1/users/new-user/events')).json.events).toHaveLength(1);
  }, SLOW);

  it('When npm run import is given --delimiter, Then the server imports the file with it (the file\'s own lines tell the other one)', async () => {
    // A `,` file whose column name and values hold more `;` than its lines have `,`: told `;`, its header then lacks
    // `id` (tests/integration/http/import-delimiter-given.test.ts). The command checks it with the delimiter given and
    // hands the import to the server, which must read it with that delimiter too, not tell it again.
    const csvDir = path.join(dataDir, 'imports', 'delimited');
    mkdirSync(csvDir, { recursive: true });
    writeFileSync(path.join(csvDir, 'items.csv'), 'id,title,size; colour; fit; care\ndl-m1,Shirt,L; red; slim; 30 C\n');
    const res = await cli('src/cli/import-command.ts', 'generic', csvDir, '--delimiter', ',');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`The server at ${url}`);
    expect((await api('GET', '/v1/items/dl-m1')).json).toMatchObject({ title: 'Shirt', attributes: { 'size; colour; fit; care': 'L; red; slim; 30 C' } });
  }, SLOW);

  it('When npm run import names a file outside the server\'s import roots, Then a copy under them is imported and removed afterwards', async () => {
    // Where a data team keeps its exports: not under DATA_DIR/imports, which the server's API is limited to.
    const elsewhere = path.join(root, 'downloads', 'shop');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(path.join(elsewhere, 'events.csv'), 'user_id,item_id,quantity,ts\nfar-user,i2,1,2024-02-02T00:00:00Z\n', { mode: 0o600 });
    expect(readLockHolder(dataDir)?.importRoots).toEqual([path.join(dataDir, 'imports')]);
    const res = await cli('src/cli/import-command.ts', 'generic', elsewhere);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`The server reads imports only under ${path.join(dataDir, 'imports')}: copying ${elsewhere} there for it.`);
    expect((await api('GET', '/v1/users/far-user/events')).json.events).toHaveLength(1);
    expect(readdirSync(path.join(dataDir, 'imports')).filter((n) => n.startsWith('.cli-import-'))).toEqual([]);

    // The factor import goes through the same copy: the server judges the directory's contents, not where it was.
    const noFactors = path.join(root, 'downloads', 'no-factors');
    mkdirSync(noFactors);
    const factors = await cli('src/cli/import-command.ts', 'factors', noFactors);
    // Refused by the server as a local run refuses it: exit 2 with its message.
    expect(factors.code).toBe(2);
    expect(factors.stderr).toMatch(/^error: the server at .* answered 422: .*no-factors: no item factors/m);
    expect(readdirSync(path.join(dataDir, 'imports')).filter((n) => n.startsWith('.cli-import-'))).toEqual([]);
  }, SLOW);

  it('When npm run evaluate asks for a cutoff after every purchase, Then the server refuses it and the command exits 2 with its message', async () => {
    const res = await cli('src/cli/evaluate-command.ts', '--cutoff', '2030-01-01');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^error: the server at .* answered 422: no purchases at or after the cutoff 2030-01-01T00:00:00.000Z .*nothing to test on/m);
  }, SLOW);

  it('When npm run export asks for a strategy the served model lacks, Then the server refuses it and the command exits 2 with its message', async () => {
    const res = await cli('src/cli/export-command.ts', '--strategy', 'no-such-strategy', '--out', path.join(root, 'refused.csv'));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^error: the server at .* answered 422: /m);
  }, SLOW);

  it('When npm run export names a file in directories not made yet, Then the server exports and the file is written there, as without a server', async () => {
    const out = path.join(root, 'campaigns', 'spring', 'top3.csv');
    const res = await cli('src/cli/export-command.ts', '--k', '3', '--out', out);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toMatch(/^campaignId,userId,rank,itemId/);
    expect(readdirSync(path.dirname(out))).toEqual(['top3.csv']);
  }, SLOW);

  it('When a command without a hand-off (tune) is run, Then it is refused with a message naming the server', async () => {
    const res = await cli('src/cli/tune-command.ts');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`is in use by the recsvc server at ${url}, pid ${server.pid}`);
  }, SLOW);

  it('When a second server is started on the same DATA_DIR, Then it refuses to start, naming the first', async () => {
    const res = await cli('src/server.ts');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`failed to start: ${dataDir} is in use by the recsvc server at ${url}`);
    expect((await fetch(new URL('/health/live', url))).status).toBe(200);
  }, SLOW);
});
