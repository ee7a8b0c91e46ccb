/**
 * README "Erasure": `npm run export --out` reads the erasures owed before it selects the customers, and leaves them
 * out. When that read fails, the export must refuse (exit non-zero, the cause named) rather than write the customers
 * whose erasure was asked for. The read is made to fail as a stalled Postgres would fail it: the test holds a lock on
 * erasure_requests that its read waits for, past the statement limit (PG_QUERY_TIMEOUT_MS). Real Postgres (a schema
 * of the shared test database), a redis-server of the test's own, and the command as a process of its own.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliScript } from '../../helpers/cli-process.js';
import { lockHeld } from '../../helpers/lock-waits.js';
import { owedErasureServers } from '../../helpers/owed-erasure-app.js';
import { privateServerSupport } from '../../helpers/private-servers.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedAndPublishShop } from '../serving/shop-fixture.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('npm run export when the erasures owed cannot be read', () => {
  const servers = owedErasureServers();
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'export-owed-'));
    await seedAndPublishShop((await servers.app()).services);
    // g-user1's erasure asked and not completed.
    await servers.db.query("INSERT INTO erasure_requests (user_id) VALUES ('g-user1')");
    env = servers.processEnv({ DATA_DIR: dir, PG_QUERY_TIMEOUT_MS: '500', LOG_LEVEL: 'silent' });
  }, 120_000);

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('When its read of the erasures owed fails, Then it exits non-zero naming the cause and writes no file', async () => {
    const out = path.join(dir, 'refused.csv');
    const release = await lockHeld(servers.db, 'LOCK TABLE erasure_requests IN ACCESS EXCLUSIVE MODE');
    let run: Awaited<ReturnType<typeof runCliScript>>;
    try {
      run = await runCliScript('src/cli/export-command.ts', ['--out', out, '--k', '3'], { env, timeoutMs: 120_000 });
    } finally {
      await release();
    }
    expect(run.code, `${run.stdout}\n${run.stderr}`).not.toBe(0);
    expect(run.stderr).toMatch(/could not read the erasures owed \(erasure_requests\): Query read timeout; nothing was exported/);
    expect(existsSync(out)).toBe(false);
  }, 180_000);

  it('When the read succeeds, Then the export runs and leaves the customer owed out', async () => {
    const out = path.join(dir, 'written.csv');
    const run = await runCliScript('src/cli/export-command.ts', ['--out', out, '--k', '3'], { env, timeoutMs: 120_000 });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/g-user2/);
    expect(text).not.toMatch(/g-user1\b/);
  }, 180_000);
});
