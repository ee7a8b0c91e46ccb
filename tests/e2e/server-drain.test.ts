import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/private-servers.js';
import { nodeArgs } from '../helpers/built-entry.js';
import { seedMigratedPgliteDir } from '../helpers/services.js';

/**
 * A rolling restart behind a load balancer that polls readiness: SIGTERM closed the listener at once, so
 * until the balancer noticed, requests went to a closed port (an operator counted 140 of 979 refused at
 * 50 req/s). With SHUTDOWN_DELAY_MS the process first answers readiness 503 while still serving.
 */
describe('npm start stopped with SHUTDOWN_DELAY_MS', () => {
  let server: ChildProcess;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-drain-'));
  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When SIGTERM comes, Then readiness says 503 (accepting: false) while requests are still answered, and the process then exits with code 0', async () => {
    const port = await freePort();
    const key = 'an-admin-key-for-tests';
    const base = `http://127.0.0.1:${port}`;
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
    // The embedded database as an earlier start left it (migrated): the drain is the subject, not a first start's
    // initdb and migrations (8-12 s of CPU in the child).
    await seedMigratedPgliteDir(path.join(dataDir, 'pglite'));
    // Load shedding stays registered, as in production (0 would leave @fastify/under-pressure out of the server
    // whose drain is tested), at an event-loop delay no loaded machine reaches: a 503 OVERLOADED during the drain
    // would be the machine's, not the drain's.
    server = spawn(process.execPath, nodeArgs('src/server.ts'), {
      env: { ...env, DATA_DIR: dataDir, PORT: String(port), SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', API_KEYS: `admin:${key}`, SHUTDOWN_DELAY_MS: '5000', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '600000' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    const ready = () => fetch(`${base}/health/ready`).then(async (r) => ({ status: r.status, body: (await r.json()) as { checks: Record<string, boolean> } }));
    // Waits for the start to end, or for the process to exit (a start that failed is reported at once, with its
    // code, rather than at the test's limit).
    let exitedEarly: number | null | undefined;
    void exited.then((code) => (exitedEarly = code));
    let before = await ready().catch(() => null);
    while ((!before || before.status !== 200) && exitedEarly === undefined) {
      await new Promise((r) => setTimeout(r, 200));
      before = await ready().catch(() => null);
    }
    expect(exitedEarly, 'the server exited before it was ready').toBeUndefined();
    expect(before!.body.checks.accepting).toBe(true);

    server.kill('SIGTERM');
    let during = await ready();
    while (during.body.checks.accepting !== false) during = await ready();
    expect(during.status).toBe(503);
    // Still serving: the balancer has not taken it out yet.
    const served = await fetch(`${base}/v1/popular?k=3`, { headers: { authorization: `Bearer ${key}` } });
    expect(served.status).toBe(200);
    expect(await exited).toBe(0);
    // The limit is the start's, generous for a loaded machine: the server starts on the kept migrated PGlite (no
    // first start since the fifty-fifth session); the drain itself takes SHUTDOWN_DELAY_MS (5 s) and the close.
  }, 240_000);
});
