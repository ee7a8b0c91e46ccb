import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/private-servers.js';
import { nodeArgs } from '../helpers/built-entry.js';

/**
 * JOB_RUNNER=worker leaves every job to `npm run worker` processes, but on embedded data (no DATABASE_URL or
 * no REDIS_URL) no worker can run beside the server: the DATA_DIR lock refuses it (README: "run the worker
 * against a real Postgres"). Such a server accepted every job (202, queued) that nothing would ever run, and
 * said nothing at start. The start is refused, naming JOB_RUNNER and what is unset.
 */
describe('JOB_RUNNER=worker on embedded data', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-worker-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('When the server starts with JOB_RUNNER=worker and no DATABASE_URL, Then its start is refused naming JOB_RUNNER, not a server whose jobs stay queued for ever', async () => {
    const port = await freePort();
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
    const child = spawn(process.execPath, nodeArgs('src/server.ts'), {
      env: { ...env, DATA_DIR: dataDir, PORT: String(port), JOB_RUNNER: 'worker', SAMPLE_DATA: 'false', API_KEYS: 'admin:admin-key-embedded', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (b) => (output += b));
    child.stderr!.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      // It stops (before it listens) saying why; it used to come up and accept jobs.
      const listening = async () => fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false);
      await expect.poll(async () => child.exitCode !== null || (await listening()), { timeout: 120_000, interval: 500 }).toBe(true);
      // 'close' (all its output read), not 'exit'.
      const code = child.exitCode === null ? 'listening' : await exited;
      // Lines other than the configuration summary (which says "jobRunner":"worker" without a word of warning).
      const said = output.split('\n').filter((line) => !line.includes('"msg":"configuration"')).join('\n');
      expect(said, `exit code ${code}`).toMatch(/JOB_RUNNER: .*DATABASE_URL and REDIS_URL are unset/);
      expect(code).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    }
  }, 180_000);
});
