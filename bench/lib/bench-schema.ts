import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgDb, type Db } from '../../src/data/db.js';
import { migrate } from '../../src/data/migrate.js';
import { dataFile } from './online-retail.js';
import { writeCopies } from './rekeyed-copies.js';

/** Purchase events of the full Online Retail file after the import's cleaning: the schema is complete. */
export const ONLINE_RETAIL_EVENTS = 396_337;

/**
 * Makes Postgres schema `schema` of `pg` hold the full Online Retail data, importing the file (bench
 * `--data FILE`, see dataFile) only when it does not already: the first run of a bench pays for the
 * import, later runs reuse it. The import runs as `npm run import` in a child process, so its time and
 * memory do not count in the bench. `fresh: true` drops the schema first; leave `fresh` undefined for a
 * bench without a `--fresh` flag. `copies` N > 1 imports N re-keyed copies of the file instead
 * (rekeyed-copies.ts, as bench/scale.ts does): a shop N times larger.
 */
export async function ensureOnlineRetailSchema(pg: string, schema: string, opts: { fresh?: boolean; copies?: number } = {}): Promise<void> {
  const copies = opts.copies ?? 1;
  const admin = createPgDb(pg, { max: 1 });
  try {
    if (opts.fresh) await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const db = createPgDb(pg, { max: 1, schema });
    await migrate(db);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM purchase_events');
    await db.close();
    if (rows[0].n === copies * ONLINE_RETAIL_EVENTS) return;
    let file = dataFile();
    if (copies > 1) {
      const copied = join(tmpdir(), `${schema}-${copies}x.csv.gz`);
      console.log(`writing ${copies} re-keyed copies of ${file} to ${copied}...`);
      await writeCopies(file, copies, copied);
      file = copied;
    }
    console.log(`importing ${file} into schema ${schema} (${opts.fresh === undefined ? 'once' : 'once; --fresh redoes it'})...`);
    const url = new URL(pg);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/import-command.ts', 'online-retail', file], {
      env: { ...process.env, DATABASE_URL: url.toString() },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (copies > 1) await rm(file, { force: true });
    if (run.status !== 0) throw new Error(`import failed (exit ${run.status})`);
  } finally {
    await admin.close();
  }
}

/**
 * Runs `use` on a fresh, migrated schema of `pg` named `prefix_<random>` (a pool of 4), dropped afterwards whatever
 * happens: for benches that fill their own tables rather than read a shop.
 */
export async function withScratchSchema<T>(pg: string, prefix: string, use: (db: Db) => Promise<T>): Promise<T> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = createPgDb(pg, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const db = createPgDb(pg, { max: 4, schema });
  try {
    await migrate(db);
    return await use(db);
  } finally {
    await db.close();
    await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  }
}
