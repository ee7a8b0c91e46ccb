/** npm run tune as a data team runs it: a process on the embedded database (no services needed). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliScript } from '../../helpers/cli-process.js';
import { seedMigratedPgliteDir } from '../../helpers/services.js';

describe('npm run tune on an empty database', () => {
  it('When the database holds no purchases, Then tune says there is nothing to tune on (not "Invalid time value") and exits 1', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tune-empty-'));
    try {
      // An empty database as any earlier start left it (migrated): initdb and the migrations in the child were most
      // of this test's time, and first starts are tested elsewhere.
      await seedMigratedPgliteDir(path.join(root, 'pglite'));
      const { DATABASE_URL: _d, REDIS_URL: _r, ...env } = process.env;
      const res = await runCliScript('src/cli/tune-command.ts', [], { env: { ...env, DATA_DIR: root, SAMPLE_DATA: 'false', LOG_LEVEL: 'warn' }, timeoutMs: 120_000 });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('not tuned: no purchases in the database: nothing to tune on');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 150_000);
});
