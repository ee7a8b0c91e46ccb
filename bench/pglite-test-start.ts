/**
 * What one of the tests' in-memory PGlite databases costs to start: `createPgliteTestDb` (tests/helpers/services.ts)
 * from the kept migrated snapshot, a query, and its close, N times in one process after two to warm up.
 *
 *   nice -n 10 npx tsx bench/pglite-test-start.ts [N]
 *
 * Prints the snapshot's size and, per start, the wall time and this process's CPU (user, sys). The first run in a
 * checkout writes the snapshots first (one initdb and the migrations), before what it measures.
 */
import { statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPgliteTestDb, prepareSnapshots } from '../tests/helpers/services.js';

const N = Number(process.argv[2] ?? 10);
await prepareSnapshots();
const dir = fileURLToPath(new URL('../node_modules/.cache/recsvc-pglite/', import.meta.url));
for (const name of readdirSync(dir).filter((n) => n.endsWith('.tar')).sort()) {
  console.log(`snapshot ${name}: ${(statSync(path.join(dir, name)).size / 1e6).toFixed(1)} MB`);
}

async function once(): Promise<void> {
  const t = await createPgliteTestDb();
  try {
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    if (!(rows[0].n > 0)) throw new Error('the database is not migrated');
  } finally {
    await t.dispose();
  }
}

for (let i = 0; i < 2; i++) await once();
const cpu = process.cpuUsage();
const started = performance.now();
for (let i = 0; i < N; i++) await once();
const used = process.cpuUsage(cpu);
const ms = (us: number) => (us / 1000 / N).toFixed(0);
console.log(
  `${N} starts: per start ${((performance.now() - started) / N).toFixed(0)} ms wall, CPU ${ms(used.user + used.system)} ms ` +
    `(user ${ms(used.user)}, sys ${ms(used.system)}); load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
);
