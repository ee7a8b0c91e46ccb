import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inspectFactorDir, readFactorDir } from '../../../src/data/importers/factor-files.js';
import { encodeNpyMatrix } from '../../../src/data/importers/npy-array.js';
import { parquetWriteFile } from 'hyparquet-writer';
import { SPARK_FACTOR_SCHEMA } from '../../fixtures/factors/make-factor-fixtures.js';

const FIXTURES = 'tests/fixtures/factors';

/** A writable copy of a fixture layout (or an empty directory). */
function copy(layout?: 'implicit' | 'spark'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'factors-'));
  if (layout) cpSync(path.join(FIXTURES, layout), dir, { recursive: true });
  return dir;
}

const sparkPart = (dir: string, side: string) => path.join(dir, `${side}_factors`, 'part-00000-3f1c2a7e-0000-4000-8000-000000000000-c000.csv');

describe('factor directories', () => {
  it('When the same factors come as implicit .npy arrays, Spark CSV parts and Spark Parquet parts, Then all read to the same ids and numbers', async () => {
    const npy = await readFactorDir(path.join(FIXTURES, 'implicit'));
    const csv = await readFactorDir(path.join(FIXTURES, 'spark'));
    const parquet = await readFactorDir(path.join(FIXTURES, 'spark-parquet'));
    expect(npy.format).toBe('npy');
    expect(csv.format).toBe('spark-csv');
    expect(parquet.format).toBe('spark-parquet');
    expect(csv.files).toEqual(['item_factors/', 'user_factors/']);
    for (const f of [npy, csv, parquet]) {
      expect(f.factors).toBe(4);
      expect(f.items.ids).toEqual([...Array.from({ length: 8 }, (_, i) => `f-i${i}`), 'zz-unknown-item']);
      expect(f.users?.ids).toHaveLength(7);
    }
    expect([...csv.items.values]).toEqual([...npy.items.values]);
    expect([...csv.users!.values]).toEqual([...npy.users!.values]);
    expect([...parquet.items.values]).toEqual([...npy.items.values]);
    expect(parquet.users!.ids).toEqual(npy.users!.ids);
    // Row 0 of the Spark part file, read independently of the reader.
    const first = readFileSync(sparkPart(path.join(FIXTURES, 'spark'), 'item'), 'utf8').split('\n')[0];
    expect([...csv.items.values.subarray(0, 4)]).toEqual(JSON.parse(first.slice(first.indexOf('"') + 1, -1)));
  });

  it('When Spark wrote a single gzip CSV with a header and spaces in the arrays, and no user side, Then it reads', async () => {
    const dir = copy();
    writeFileSync(path.join(dir, 'item_factors.csv.gz'), gzipSync('id,features\na,"[1.5, -2]"\nb,"[0, 3e-1]"\n'));
    const f = await readFactorDir(dir);
    expect(f).toMatchObject({ format: 'spark-csv', factors: 2, users: null, items: { ids: ['a', 'b'] } });
    expect([...f.items.values]).toEqual([1.5, -2, 0, Math.fround(0.3)]);
  });

  it('When Spark Parquet has integer ids (ALS before the ids are joined back), Then they read as decimal strings; gzip pages read; a file that is not Parquet is named', async () => {
    const dir = copy();
    await parquetWriteFile({
      filename: path.join(dir, 'item_factors.parquet'),
      columnData: [{ name: 'id', data: Int32Array.from([7, 42]) }, { name: 'features', data: [[0.5, -1], [2, 0.25]] }],
      schema: SPARK_FACTOR_SCHEMA('INT32'),
    });
    const f = await readFactorDir(dir);
    expect(f).toMatchObject({ format: 'spark-parquet', factors: 2, items: { ids: ['7', '42'] }, users: null });
    expect([...f.items.values]).toEqual([0.5, -1, 2, 0.25]);
    // Spark's `.option("compression", "gzip")`.
    await parquetWriteFile({
      filename: path.join(dir, 'item_factors.parquet'),
      columnData: [{ name: 'id', data: Int32Array.from([7]) }, { name: 'features', data: [[1.5, 2]] }],
      schema: SPARK_FACTOR_SCHEMA('INT32'),
      codec: 'GZIP',
      compressors: { GZIP: (bytes: Uint8Array) => new Uint8Array(gzipSync(bytes)) },
    });
    expect([...(await readFactorDir(dir)).items.values]).toEqual([1.5, 2]);
    writeFileSync(path.join(dir, 'item_factors.parquet'), 'id,features\n');
    await expect(readFactorDir(dir)).rejects.toThrow(/item_factors.parquet: not a readable Parquet file/);
  });

  it('When a Spark row has another width than the rows before, Then the file and record are named', async () => {
    const dir = copy('spark');
    writeFileSync(sparkPart(dir, 'item'), readFileSync(sparkPart(dir, 'item'), 'utf8') + 'extra,"[1,2,3]"\n');
    await expect(readFactorDir(dir)).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/item_factors\/part-00000.*record 10 \(id "extra"\): 3 factors, the rows before have 4/) });
  });

  it('When a Spark row holds text where numbers belong, or an id twice, Then it is refused', async () => {
    const bad = copy();
    writeFileSync(path.join(bad, 'item_factors.csv'), 'a,"[1,NaN]"\n');
    await expect(readFactorDir(bad)).rejects.toThrow(/item_factors.csv: record 1 \(id "a"\): features must be a bracketed list of numbers/);
    const twice = copy();
    writeFileSync(path.join(twice, 'item_factors.csv'), 'a,"[1,2]"\na,"[3,4]"\n');
    await expect(readFactorDir(twice)).rejects.toThrow(/id "a" appears twice/);
  });

  it("When a customer's row is refused, Then the message names its file and row, never the customer's id (a job keeps its error where no erasure reaches)", async () => {
    const items = 'a,"[1,2]"\n';
    const cases: [string, string, RegExp][] = [
      ['ann@example.com,"[1,2]"\nann@example.com,"[3,4]"\n', 'user_factors.csv', /user_factors.csv: a customer id appears twice \(rows 1 and 2\)/],
      ['ann@example.com,"[1,x]"\n', 'user_factors.csv', /user_factors.csv: record 1: features must be a bracketed list/],
      ['bob,"[1,2]"\nann@example.com,"[1,2,3]"\n', 'user_factors.csv', /user_factors.csv: record 2: 3 factors, the rows before have 2/],
      // Columns swapped: the features field holds the customer id.
      ['"[1,2]",ann@example.com\n', 'user_factors.csv', /user_factors.csv: record 1: features must be a bracketed list of numbers such as \[0.1,-0.2\]$/],
    ];
    for (const [users, file, message] of cases) {
      const dir = copy();
      writeFileSync(path.join(dir, 'item_factors.csv'), items);
      writeFileSync(path.join(dir, file), users);
      const refused = await readFactorDir(dir).then(() => null, (err: Error) => err.message);
      expect(refused).toMatch(message);
      expect(refused).not.toContain('ann@example.com');
    }
    // The npy layout: a customer id twice in user_ids.txt, then a row that is not a number.
    const npy = copy('implicit');
    const ids = readFileSync(path.join(npy, 'user_ids.txt'), 'utf8').trim().split('\n');
    writeFileSync(path.join(npy, 'user_ids.txt'), [...ids.slice(0, -1), ids[0]].join('\n') + '\n');
    await expect(readFactorDir(npy)).rejects.toThrow(new RegExp(`user_ids.txt: a customer id appears twice \\(rows 1 and ${ids.length}\\)`));
    writeFileSync(path.join(npy, 'user_ids.txt'), ids.join('\n') + '\n');
    writeFileSync(path.join(npy, 'user_factors.npy'), encodeNpyMatrix({ rows: ids.length, cols: 4, values: [Number.NaN, ...new Array(ids.length * 4 - 1).fill(0.5)] }));
    const refused = await readFactorDir(npy).then(() => null, (err: Error) => err.message);
    expect(refused).toMatch(/user_factors.npy: row 0 holds a value that is not a finite number/);
    expect(refused).not.toContain(ids[0]);
  });

  it('When user and item factors differ in width, Then the headers alone refuse it before a job runs', async () => {
    const dir = copy('implicit');
    writeFileSync(path.join(dir, 'user_factors.npy'), encodeNpyMatrix({ rows: 7, cols: 3, values: new Array(21).fill(0.5) }));
    await expect(inspectFactorDir(dir)).rejects.toThrow(/user_factors.npy: 3 factors per row, but item_factors.npy has 4/);
    await expect(readFactorDir(dir)).rejects.toThrow(/3 factors per row, but item_factors.npy has 4/);
  });

  it('When an id list does not match its array, Then the counts are named', async () => {
    const dir = copy('implicit');
    writeFileSync(path.join(dir, 'item_ids.txt'), 'f-i0\nf-i1\n');
    await expect(readFactorDir(dir)).rejects.toThrow(/item_ids.txt: 2 ids for the 9 rows of item_factors.npy/);
    rmSync(path.join(dir, 'item_ids.txt'));
    await expect(inspectFactorDir(dir)).rejects.toThrow(/item_ids.txt: missing/);
  });

  it('When the directory holds no factors or both layouts, Then it says what it expected', async () => {
    await expect(inspectFactorDir(copy())).rejects.toThrow(/no item factors: expected item_factors.npy \(implicit\) or item_factors.csv/);
    const both = copy('implicit');
    cpSync(path.join(FIXTURES, 'spark'), both, { recursive: true });
    await expect(inspectFactorDir(both)).rejects.toThrow(/both item_factors.npy and Spark item factors/);
  });
});
