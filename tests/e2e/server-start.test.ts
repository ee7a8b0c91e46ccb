import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The Quick start as a user runs it: `npm start` with no Postgres, Redis or variables (a fresh DATA_DIR),
 * then the API answers from the bundled sample, and SIGTERM shuts it down cleanly.
 */
describe('npm start on embedded defaults', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-e2e-'));
  const port = 3900 + Math.floor(Math.random() * 90);
  let server: ChildProcess;
  let stdout = '';
  const exited = new Promise<number | null>((resolve) => {
    // Only the keys of this machine's environment that are not the service's own configuration.
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
    server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (b) => (stdout += b));
    server.stderr!.on('data', (b) => (stdout += b));
    server.on('exit', (code) => resolve(code));
  });
  afterAll(() => {
    server.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const url = (p: string) => `http://127.0.0.1:${port}${p}`;

  it('When started with no configuration, Then it becomes ready with the sample trained and prints its admin key once', async () => {
    let ready = false;
    while (!ready) {
      ready = await fetch(url('/health/ready')).then((r) => r.ok, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 500));
    }
    const key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
    expect(stdout).toContain(key);
    const headers = { authorization: `Bearer ${key}` };
    expect((await fetch(url('/v1/popular?k=3'))).status).toBe(401);
    // A customer of the sample (ids divisible by 13) with purchases gets personal recommendations.
    const events = await (await fetch(url('/v1/users/12350/events?limit=1'), { headers })).json();
    expect(events.events).toHaveLength(1);
    const recs = await (await fetch(url('/v1/users/12350/recommendations?k=5'), { headers })).json();
    expect(recs).toMatchObject({ fallback: false, strategy: 'hybrid' });
    expect(recs.items).toHaveLength(5);
  }, 180_000);

  it('When a job it runs fails, Then its log says which and why', async () => {
    const key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    // Accepted (the window holds purchases), failed when run: its one minute holds one customer's order, too
    // little to train on. (A window holding no purchase is refused up front, 422.)
    const res = await fetch(url('/v1/training-jobs'), { method: 'POST', headers, body: JSON.stringify({ from: '2010-12-01T09:56:00Z', to: '2010-12-01T09:57:00Z' }) });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    await expect
      .poll(async () => ((await (await fetch(url(`/v1/training-jobs/${jobId}`), { headers })).json()) as { status: string }).status, { timeout: 30_000 })
      .toBe('failed');
    await expect.poll(() => stdout.split('\n').find((l) => l.includes(jobId) && l.includes('job failed')), { timeout: 5000 }).toContain('not enough purchase data');
  }, 60_000);

  it('When sent SIGTERM, Then it closes and exits with code 0', async () => {
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
