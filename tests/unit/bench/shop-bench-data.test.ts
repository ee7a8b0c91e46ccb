/**
 * The data file of the benches on the shared argument parser (bench/lib/shop-bench-args.ts): `--data=FILE`, which
 * util.parseArgs takes as `--data FILE`, names the file the bench reads. dataFile (online-retail.ts) looked for the
 * word `--data` alone, so `--data=FILE` was accepted and then ignored: the bench read the default Online Retail file
 * instead of the one named (reviewer r2, fifty-seventh session). Each bench is run with a file that is not there and
 * a default that is not there either: it must stop naming the file given, before it reads anything.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliScript } from '../../helpers/cli-process.js';

const BENCHES = ['choice-rule', 'coverage-decomposition', 'coverage-estimate', 'keep-on-left-out', 'out-of-fold-keep', 'window-vs-held'];
/** Files that are not there (a folder no one makes, in the temp dir). */
const GIVEN = path.join(tmpdir(), 'shop-bench-data-none', 'given.csv');
const DEFAULT = path.join(tmpdir(), 'shop-bench-data-none', 'default.csv');

describe('the data file of the shop benches', () => {
  // Each bench as --data=FILE; the spelling dataFile always read (--data FILE) on one, a child process each (~5 s).
  const cases = [...BENCHES.map((bench) => ({ bench, args: [`--data=${GIVEN}`] })), { bench: BENCHES[0], args: ['--data', GIVEN] }];
  for (const { bench, args } of cases) {
    it(`Given ${bench} ${args.join(' ')}, When it starts, Then it stops on the file given, not the default`, async () => {
      const run = await runCliScript(`bench/${bench}.ts`, [...args, '--dates', '2011-06-01'], { env: { PATH: process.env.PATH, ONLINE_RETAIL_CSV: DEFAULT }, timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(`${GIVEN}: no such file`);
      expect(run.stderr).not.toContain(DEFAULT);
    }, 90_000);
  }
});
