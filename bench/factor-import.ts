/**
 * Factor import benchmark (docs/factor-import.md): what training costs when ALS is trained elsewhere,
 * and how fast each layout reads.
 *
 *   npx tsx bench/factor-import.ts [--data FILE] [--rows 100000] [--skip-train]
 *
 * Part 1, on the full Online Retail data (Postgres schema `bench_factor_import` of DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test, imported once by `npm run import` in a child process): trains
 * the default recipe as a training job does (in-process model store), exports the fitted ALS factors in
 * the three layouts (implicit .npy, Spark Parquet, Spark CSV), reads each back, then trains again with
 * the .npy factors imported, and compares every customer's precomputed ALS list of both versions (the
 * export is exact, so they must be equal) and the step times.
 *
 * Part 2: a synthetic item side of --rows rows x 64 random factors in each layout: bytes on disk and
 * read time.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { createCatalogRepository } from '../src/data/catalog-repository.js';
import { createPgDb } from '../src/data/db.js';
import { createEventRepository } from '../src/data/event-repository.js';
import { readFactorDir } from '../src/data/importers/factor-files.js';
import { encodeNpyMatrix } from '../src/data/importers/npy-array.js';
import { decodeArtifact } from '../src/recommenders/artifact.js';
import { mulberry32 } from '../src/recommenders/seeded-random.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../src/serving/serving-artifacts.js';
import { strategyTable } from '../src/serving/user-entry.js';
import { createMemoryModelStore } from '../src/store/memory-model-store.js';
import { createTrainer, type TrainResult } from '../src/training/train-model.js';
import { SPARK_FACTOR_SCHEMA } from '../tests/fixtures/factors/make-factor-fixtures.js';
import { ensureOnlineRetailSchema } from './lib/bench-schema.js';
import { withoutDataArg } from './lib/online-retail.js';

const args = withoutDataArg();
const flag = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const ROWS = Number(flag('--rows') ?? 100_000);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_factor_import';
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Side {
  ids: string[];
  values: Float32Array;
  k: number;
}

/** Writes one or both sides in a layout, as the external trainer would. */
async function writeLayout(dir: string, layout: 'npy' | 'parquet' | 'csv', sides: { item: Side; user?: Side }): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, s] of Object.entries(sides) as [string, Side | undefined][]) {
    if (!s) continue;
    const rows = s.ids.length;
    if (layout === 'npy') {
      writeFileSync(path.join(dir, `${name}_factors.npy`), encodeNpyMatrix({ rows, cols: s.k, values: s.values }));
      writeFileSync(path.join(dir, `${name}_ids.txt`), s.ids.join('\n') + '\n');
    } else if (layout === 'parquet') {
      await parquetWriteFile({
        filename: path.join(dir, `${name}_factors.parquet`),
        columnData: [
          { name: 'id', data: s.ids },
          { name: 'features', data: s.ids.map((_, r) => Array.from(s.values.subarray(r * s.k, (r + 1) * s.k))) },
        ],
        schema: SPARK_FACTOR_SCHEMA('BYTE_ARRAY'),
      });
    } else {
      const lines = s.ids.map((id, r) => `${id},"[${Array.from(s.values.subarray(r * s.k, (r + 1) * s.k)).join(',')}]"`);
      writeFileSync(path.join(dir, `${name}_factors.csv`), lines.join('\n') + '\n');
    }
  }
}

const dirBytes = (dir: string, files: string[]) => files.reduce((a, f) => a + statSync(path.join(dir, f)).size, 0);
const LAYOUTS = ['npy', 'parquet', 'csv'] as const;
const FILES = {
  npy: (users: boolean) => ['item_factors.npy', 'item_ids.txt', ...(users ? ['user_factors.npy', 'user_ids.txt'] : [])],
  parquet: (users: boolean) => ['item_factors.parquet', ...(users ? ['user_factors.parquet'] : [])],
  csv: (users: boolean) => ['item_factors.csv', ...(users ? ['user_factors.csv'] : [])],
};

async function timedRead(dir: string) {
  const t0 = performance.now();
  const read = await readFactorDir(dir);
  return { read, ms: performance.now() - t0 };
}

async function endToEnd(work: string): Promise<void> {
  await ensureOnlineRetailSchema(PG, SCHEMA);
  const db = createPgDb(PG, { max: 4, schema: SCHEMA });
  const store = await createMemoryModelStore({});
  try {
    const trainer = createTrainer({ events: createEventRepository(db), catalog: createCatalogRepository(db), store, defaultRecipe: 'default' });
    console.log(`training the default recipe (load average ${load()})...`);
    const fitted = await trainer.train();
    const als = decodeArtifact((await store.getArtifact(fitted.version, 'recommender:als'))!, { algorithm: 'als', version: 1 });
    const k = (als.header.params as { factors: number }).factors;
    const item: Side = { ids: (als.header.meta as { itemIds: string[] }).itemIds, values: als.arrays.itemFactors as Float32Array, k };
    const user: Side = { ids: decodeUserIdsArtifact((await store.getArtifact(fitted.version, ARTIFACT_USER_IDS))!), values: als.arrays.userFactors as Float32Array, k };

    console.log(`\nexported ALS: ${item.ids.length} items and ${user.ids.length} users x ${k} factors; reading each layout back:`);
    const reads: Record<string, { ms: number; bytes: number }> = {};
    for (const layout of LAYOUTS) {
      const dir = path.join(work, `online-retail-${layout}`);
      await writeLayout(dir, layout, { item, user });
      const { ms } = await timedRead(dir);
      reads[layout] = { ms, bytes: dirBytes(dir, FILES[layout](true)) };
      console.log(`  ${layout.padEnd(8)} ${mib(reads[layout].bytes).padStart(7)} MiB  read ${sec(ms)}  (load average ${load()})`);
    }

    console.log(`training again with the .npy factors imported (load average ${load()})...`);
    const read = await readFactorDir(path.join(work, 'online-retail-npy'));
    const imported: TrainResult = await trainer.train({ factors: { data: read } });
    const table = strategyTable('als');
    const [a, b] = await Promise.all([store.getEntries(fitted.version, table, user.ids), store.getEntries(imported.version, table, user.ids)]);
    let lists = 0;
    let same = 0;
    a.forEach((bytes, i) => {
      if (!bytes) return;
      lists++;
      if (b[i] && Buffer.from(bytes).equals(Buffer.from(b[i]!))) same++;
    });
    console.log(`\nprecomputed ALS lists equal in both versions: ${same} of ${lists}`);
    console.log(`factorImport: ${JSON.stringify({ items: imported.factorImport?.items.matched, users: imported.factorImport?.users.matched })}`);
    const steps = [...new Set([...Object.keys(fitted.durations), ...Object.keys(imported.durations)])];
    console.log(`\n${'step'.padEnd(18)} ${'ALS fitted'.padStart(11)} ${'ALS imported'.padStart(13)}`);
    for (const s of steps) console.log(`${s.padEnd(18)} ${sec(fitted.durations[s] ?? 0).padStart(11)} ${sec(imported.durations[s] ?? 0).padStart(13)}`);
    console.log(`(reading the .npy directory before the second training: ${sec(reads.npy.ms)})`);
  } finally {
    await store.close();
    await db.close();
  }
}

async function synthetic(work: string): Promise<void> {
  const k = 64;
  const random = mulberry32(12345);
  // Uniform in [-0.1, 0.1): incompressible, as trained factors are.
  const values = new Float32Array(ROWS * k).map(() => random() * 0.2 - 0.1);
  const item: Side = { ids: Array.from({ length: ROWS }, (_, r) => `item-${r}`), values, k };
  console.log(`\nsynthetic item side: ${ROWS.toLocaleString('en-US')} rows x ${k} factors`);
  console.log(`${'layout'.padEnd(8)} ${'on disk'.padStart(11)} ${'read'.padStart(9)} ${'rows/s'.padStart(10)}  load average`);
  for (const layout of LAYOUTS) {
    const dir = path.join(work, `synthetic-${layout}`);
    await writeLayout(dir, layout, { item });
    const { ms } = await timedRead(dir);
    const bytes = dirBytes(dir, FILES[layout](false));
    console.log(`${layout.padEnd(8)} ${`${mib(bytes)} MiB`.padStart(11)} ${sec(ms).padStart(9)} ${Math.round(ROWS / (ms / 1000)).toLocaleString('en-US').padStart(10)}  ${load()}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'bench-factor-import-'));
try {
  console.log(`${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}`);
  if (!args.includes('--skip-train')) await endToEnd(work);
  await synthetic(work);
  console.log(`\nload average at the end: ${load()} on ${cpus().length} cores`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
