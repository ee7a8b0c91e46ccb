import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvaluateArgs } from '../../../src/cli/evaluate-command.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { createReportRepository } from '../../../src/data/report-repository.js';
import { createJobRepository } from '../../../src/jobs/job-repository.js';
import { POSTGRES_URL, createPostgresTestDb, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { CUTOFF, countTestUsers, twoShopsAroundCutoff } from './evaluation-fixture.js';
import { nodeArgs } from '../../helpers/built-entry.js';

const run = promisify(execFile);

describe('evaluate command arguments', () => {
  it('When only a cutoff is given, Then it is a temporal split with the API defaults left to the service', () => {
    expect(parseEvaluateArgs(['--cutoff', '2011-11-01'])).toEqual({ request: { split: { kind: 'temporal', cutoff: '2011-11-01' } }, json: null });
  });

  it('When every option is given, Then each lands in the request', () => {
    const parsed = parseEvaluateArgs(['--cutoff=2011-11-01', '--mode', 'novel,all', '--k', '5,10,20', '--recipe', 'default,other', '--strategies', 'als,item-knn', '--baseline', 'als', '--json', 'out.json']);
    expect(parsed).toEqual({
      request: { split: { kind: 'temporal', cutoff: '2011-11-01' }, modes: ['novel', 'all'], ks: [5, 10, 20], recipes: ['default', 'other'], strategies: ['als', 'item-knn'], baseline: 'als' },
      json: 'out.json',
    });
  });

  it('When --json names a file in a directory that does not exist, Then it is a usage error before anything runs', () => {
    expect(() => parseEvaluateArgs(['--cutoff', '2011-11-01', '--json', '/nonexistent-dir/report.json'])).toThrow(/--json: cannot write \/nonexistent-dir\/report\.json/);
    // A directory, not a file: found now, not after the run.
    expect(() => parseEvaluateArgs(['--cutoff', '2011-11-01', '--json', tmpdir()])).toThrow(/--json: .* is a directory/);
  });

  it('When --no-tune or --tune is given, Then the request says so (left out, each recipe\'s tune section decides); both or twice are refused', () => {
    expect(parseEvaluateArgs(['--cutoff', '2011-11-01', '--no-tune']).request).toMatchObject({ tune: false });
    expect(parseEvaluateArgs(['--tune', '--cutoff', '2011-11-01']).request).toMatchObject({ tune: true });
    expect(parseEvaluateArgs(['--cutoff', '2011-11-01']).request).not.toHaveProperty('tune');
    expect(() => parseEvaluateArgs(['--cutoff', '2011-11-01', '--tune', '--no-tune'])).toThrow(/give one, once/);
  });

  it('When a validation split is asked for, Then the cutoff ends its window and days default to 30', () => {
    expect(parseEvaluateArgs(['--split', 'validation', '--cutoff', '2011-11-01']).request.split).toEqual({ kind: 'validation', days: 30, end: '2011-11-01' });
    expect(parseEvaluateArgs(['--split', 'validation', '--days', '14']).request.split).toEqual({ kind: 'validation', days: 14 });
    expect(parseEvaluateArgs(['--split', 'leave-last-order']).request.split).toEqual({ kind: 'leave-last-order' });
  });

  it('When arguments are wrong, Then each is refused with a message naming the problem', () => {
    const cases: [string[], RegExp][] = [
      [[], /missing --cutoff/],
      [['--cutoff'], /--cutoff needs a value/],
      [['--cutoff', 'soon'], /split.cutoff: expected an ISO 8601 date/],
      [['--cutoff', '2011-11-01', '--k', '0'], /ks.0/],
      [['--cutoff', '2011-11-01', '--k', 'ten'], /ks.0/],
      [['--cutoff', '2011-11-01', '--mode', 'sometimes'], /modes.0/],
      [['--cutoff', '2011-11-01', '--days', '3'], /--days applies to --split validation only/],
      [['--split', 'leave-last-order', '--cutoff', '2011-11-01'], /does not apply/],
      [['--split', 'temporal'], /needs --cutoff/],
      [['--split', 'sideways'], /split/],
      [['--cutoff', '2011-11-01', '--cutoff', '2011-12-01'], /given twice/],
      [['--verbose'], /unknown argument "--verbose"/],
    ];
    for (const [args, message] of cases) expect(() => parseEvaluateArgs(args), args.join(' ')).toThrow(message);
  });
});

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('npm run evaluate on Postgres', () => {
  let testDb: TestDb;
  let env: NodeJS.ProcessEnv;
  // A command's own limit: one that hangs is killed here, and its output shown. Each test's limit (CLI_TEST_MS)
  // is above it, so a hang is reported by the command's limit and not by the test's.
  const CLI_MS = 120_000;
  const CLI_TEST_MS = CLI_MS + 30_000;
  const cli = (args: string[]) =>
    run(process.execPath, [...nodeArgs('src/cli/evaluate-command.ts'), ...args], { env, timeout: CLI_MS }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    const { rows } = await testDb.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    const url = new URL(POSTGRES_URL);
    // The command reaches the test's own schema through the connection's search_path.
    url.searchParams.set('options', `-c search_path=${rows[0].schema}`);
    env = { ...process.env, DATABASE_URL: url.toString(), LOG_LEVEL: 'silent' };
    await createEventRepository(testDb.db).insertPurchases(twoShopsAroundCutoff().map((p) => ({ ...p, ts: new Date(p.ts) })));
  });
  afterAll(() => testDb.dispose());

  it('When run with a cutoff, Then it prints the tables, writes the JSON and stores the report as a succeeded evaluation job', async () => {
    const json = path.join(mkdtempSync(path.join(tmpdir(), 'evaluate-')), 'report.json');
    const res = await cli(['--cutoff', '2011-06-01', '--mode', 'novel,all', '--k', '3', '--strategies', 'item-knn', '--json', json]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const { novel, all } = countTestUsers(twoShopsAroundCutoff(), CUTOFF);
    expect(res.stdout).toContain(`mode novel, k = 3 (${novel} users)`);
    expect(res.stdout).toContain(`mode all, k = 3 (${all} users)`);
    expect(res.stdout).toMatch(/^popularity /m);
    expect(res.stdout).toMatch(/^item-knn /m);

    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.split.testUsers).toEqual({ novel, all });
    expect(report.strategies).toEqual(['default', 'item-knn', 'popularity']);

    const stored = await createReportRepository(testDb.db).list({ limit: 10, offset: 0 });
    expect(stored.total).toBe(1);
    const job = await createJobRepository(testDb.db).get(stored.reports[0].id);
    expect(job).toMatchObject({ type: 'evaluate', status: 'succeeded', progress: 1 });
    expect(res.stdout).toContain(`evaluation ${job!.id} stored`);
  }, CLI_TEST_MS);

  it('When the arguments or the recipe are wrong, Then it exits with 2 and a usage line, before any work', async () => {
    // Three processes, each a Node start (seconds of CPU at a load of 20): started together, not one after another.
    const [usage, recipe, late] = await Promise.all([
      cli(['--k', '10']),
      cli(['--cutoff', '2011-06-01', '--recipe', 'nope']),
      // A cutoff after every purchase is refused as the API refuses it, and as a running server's refusal exits.
      cli(['--cutoff', '2030-01-01']),
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing --cutoff[\s\S]*Usage: npm run evaluate/);
    expect(recipe.code).toBe(2);
    expect(recipe.stderr).toMatch(/unknown recipe "nope"[\s\S]*Usage: npm run evaluate/);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/no purchases at or after the cutoff 2030-01-01T00:00:00.000Z[\s\S]*nothing to test on[\s\S]*Usage: npm run evaluate/);
    expect((await createReportRepository(testDb.db).list({ limit: 10, offset: 0 })).total).toBe(1);
  }, CLI_TEST_MS);
});
