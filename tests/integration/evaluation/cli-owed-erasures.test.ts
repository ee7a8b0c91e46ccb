/**
 * `npm run evaluate` and `npm run tune` on the database, as a data team runs them, while an erasure is owed (recorded
 * as asked, not completed): each command builds its own reader, and each must hand it the owed list, or the customer's
 * purchases are evaluated and tuned on. A command that forgot it passed every other test (reviewer r4, fifty-fifth
 * session). Real Postgres (a schema of the shared test database, reached through the commands' search_path).
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { runCliScript } from '../../helpers/cli-process.js';
import { builtEntry } from '../../helpers/built-entry.js';
import { POSTGRES_URL, createPostgresTestDb, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { CUTOFF, countTestUsers, twoShopsAroundCutoff } from './evaluation-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('npm run evaluate and npm run tune with an erasure owed', () => {
  let testDb: TestDb;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(path.join(tmpdir(), 'cli-owed-'));
  /** A test user of both modes, and a buyer in tune's window below. */
  const OWED = 'a-u0';

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    const { rows } = await testDb.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${rows[0].schema}`);
    env = { ...process.env, DATABASE_URL: url.toString(), LOG_LEVEL: 'silent', DEFAULT_RECIPE: '' };
    await createEventRepository(testDb.db).insertPurchases(twoShopsAroundCutoff().map((p) => ({ ...p, ts: new Date(p.ts) })));
    await testDb.db.query("INSERT INTO erasure_requests (user_id, next_at) VALUES ($1, now() + interval '1 hour')", [OWED]);
  });
  afterAll(async () => {
    await testDb?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When each command runs, Then neither reads the owed customer', async () => {
    const json = path.join(dir, 'report.json');
    // Two Node starts at once, not one after another (seconds of CPU each on a loaded machine).
    const [evaluated, tuned] = await Promise.all([
      runCliScript(builtEntry('src/cli/evaluate-command.ts'), ['--cutoff', '2011-06-01', '--mode', 'novel,all', '--k', '3', '--strategies', '', '--json', json], { env, timeoutMs: 120_000 }),
      // One window of two days holding the first two days of purchases after the cutoff: a-u0, a-u1, b-u0 and b-u1
      // buy in it after buying before it (a-late and b-late have no history). Too few to tune on: the command says
      // how many it counted and stops, before any fitting.
      runCliScript(builtEntry('src/cli/tune-command.ts'), ['--end', '2011-06-08', '--folds', '1', '--days', '2', '--out', 'never-written'], { env, timeoutMs: 120_000 }),
    ]);
    expect(evaluated.stderr).toBe('');
    expect(evaluated.code).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { split: { testUsers: { novel: number; all: number } } };
    const without = countTestUsers(twoShopsAroundCutoff().filter((p) => p.userId !== OWED), CUTOFF);
    expect(without.novel).toBe(countTestUsers(twoShopsAroundCutoff(), CUTOFF).novel - 1);
    expect(report.split.testUsers).toEqual(without);

    expect(tuned.code).toBe(1);
    expect(tuned.stderr).toContain('not tuned: validation window 1 of 1 has 3 customers who bought in it');
  }, 250_000);
});
