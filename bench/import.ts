/**
 * Import benchmark: the full UCI Online Retail file into a fresh schema of a real Postgres, twice.
 * The first run must accept 396,337 purchase rows (the cleaning facts of the dataset's SOURCE.txt) and 8,539
 * cancellation lines as returns; the second
 * must insert 0 events. Prints both reports, durations and peak RSS.
 *
 *   npx tsx bench/import.ts [FILE | --data FILE]      (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/test)
 *
 * FILE defaults to ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz beside the
 * repository (bench/README.md says where to download it).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createPgDb } from '../src/data/db.js';
import { migrate } from '../src/data/migrate.js';
import { runImport } from '../src/data/importers/run-import.js';
import { dataFile } from './lib/online-retail.js';

const FILE = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : dataFile();
const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// 396,337 purchases and 8,539 returns (cancellation lines of a customer and a product stock code).
const EXPECTED = { accepted: 404_876, returns: 8_539, users: 4_362, items: 3_676, orders: 18_402 };

const schema = `bench_import_${randomBytes(4).toString('hex')}`;
const admin = createPgDb(URL, { max: 1 });
await admin.exec(`CREATE SCHEMA ${schema}`);
const db = createPgDb(URL, { schema });
try {
  await migrate(db);
  const runs = [];
  for (const run of [1, 2]) {
    const report = await runImport({ db }, { format: 'online-retail', path: FILE });
    console.log(`run ${run}:`, JSON.stringify(report));
    runs.push(report);
  }
  const { rows } = await db.query<{ n: number }>('SELECT (SELECT count(*) FROM purchase_events) + (SELECT count(*) FROM return_events) AS n');
  const [first, second] = runs;
  const checks = {
    [`accepted ${first.accepted} = ${EXPECTED.accepted}`]: first.accepted === EXPECTED.accepted,
    [`users/items/orders ${first.users}/${first.items}/${first.orders} = ${EXPECTED.users}/${EXPECTED.items}/${EXPECTED.orders}`]:
      first.users === EXPECTED.users && first.items === EXPECTED.items && first.orders === EXPECTED.orders,
    [`stored events (purchases and returns) ${rows[0].n} = ${EXPECTED.accepted}`]: Number(rows[0].n) === EXPECTED.accepted,
    [`returns ${first.returns ?? 0} = ${EXPECTED.returns}`]: first.returns === EXPECTED.returns,
    [`second run inserted ${second.inserted} = 0`]: second.inserted === 0,
    [`first run ${(first.durationMs / 1000).toFixed(1)} s < 60 s`]: first.durationMs < 60_000,
  };
  for (const [what, ok] of Object.entries(checks)) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  console.log(`second run ${(second.durationMs / 1000).toFixed(1)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on 2 cores`);
  if (Object.values(checks).includes(false)) process.exitCode = 1;
} finally {
  await db.close();
  await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
  await admin.close();
}
