import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { createPgDb, pgliteDb, type Db } from '../../src/data/db.js';
import { migrate, MIGRATIONS_DIR } from '../../src/data/migrate.js';
import { sharePglite, type SharedPglite } from './shared-pglite.js';

/**
 * Real services for integration tests. Postgres and Redis run on this machine (and always in CI, where
 * REQUIRE_SERVICES=true turns a missing service into a failure instead of a skip).
 */
export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUIRED = process.env.REQUIRE_SERVICES === 'true';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** True when the service answers; throws when it does not but CI requires it. */
export async function serviceAvailable(url: string): Promise<boolean> {
  const ok = await reachable(url);
  if (!ok && REQUIRED) throw new Error(`${url} does not answer and REQUIRE_SERVICES=true`);
  return ok;
}

export const randomPrefix = (label: string) => `t_${label}_${randomBytes(4).toString('hex')}`;

export interface TestDb {
  db: Db;
  /** Drops what the test created and closes the connections. */
  dispose(): Promise<void>;
}

/**
 * A migrated Postgres database isolated in a fresh schema of the shared test database (`migrated: false`: an
 * empty schema, for a test that migrates it itself, step by step).
 */
export async function createPostgresTestDb(opts: { migrated?: boolean } = {}): Promise<TestDb> {
  const schema = randomPrefix('s');
  const admin = createPgDb(POSTGRES_URL, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const db = createPgDb(POSTGRES_URL, { max: 4, schema });
  if (opts.migrated ?? true) await migrate(db);
  return {
    db,
    async dispose() {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

/**
 * ANALYZE of the tables of the test's own schema (the search_path of a createPostgresTestDb), for a test that checks a
 * plan. Not a bare ANALYZE: that takes every table of the shared test database, every other file's schema too, so it
 * waited behind a lock another file holds (an ACCESS EXCLUSIVE held until its subject waits) and was counted among that
 * table's waiters (lock-waits.ts lockWaiters), where a file asserts who waits.
 */
export async function analyzeOwnTables(db: Db): Promise<void> {
  const { rows } = await db.query<{ t: string }>('SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1');
  if (rows.length === 0) throw new Error('analyzeOwnTables: the schema holds no table');
  await db.exec(`ANALYZE ${rows.map((r) => r.t).join(', ')}`);
}

/**
 * A migrated Postgres database of the test's own (CREATE DATABASE, dropped by dispose), for a test that holds one of the
 * database's advisory locks for long: a lock such as the erasures' (ERASURE_SERIAL) is the database's, not a schema's,
 * so held in the shared test database it stalls every other file's erasures and start-up scrubs meanwhile.
 * `url` reaches it, for a process the test starts.
 */
export async function createPostgresOwnDb(): Promise<TestDb & { url: string }> {
  const name = randomPrefix('db');
  const admin = createPgDb(POSTGRES_URL, { max: 1 });
  await admin.exec(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const db = createPgDb(url.toString(), { max: 4 });
  await migrate(db);
  return {
    db,
    url: url.toString(),
    async dispose() {
      await db.close();
      await admin.exec(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.close();
    },
  };
}

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
/** Beside the worker bundles (src/training/worker-bundle.ts): this checkout's, not the machine's temporary directory. */
const SNAPSHOT_DIR = here('../../node_modules/.cache/recsvc-pglite/');

/** A kept PGlite data directory: of a database just initialised (`initdb`), or also migrated (`migrated`). */
type SnapshotKind = 'initdb' | 'migrated';
const INITDB_PREFIX = 'initdb-';

/**
 * Where a snapshot lives: named by PGlite's package.json (its version decides the data directory's format) and, for the
 * migrated one, the migration runner and the migrations, so a change to any of them makes a new one.
 */
function snapshotFile(kind: SnapshotKind): string {
  const hash = createHash('sha256');
  // How writeSnapshot makes it (checkpointed since the forty-ninth session; 1 MB WAL segments and no template databases
  // since the fifty-fourth): a change there makes a new one too.
  hash.update(`checkpointed, ${INITDB_PARAMS.join(' ')}, without ${TEMPLATE_DATABASES.join(' ')}`);
  hash.update(readFileSync(here('../../node_modules/@electric-sql/pglite/package.json')));
  if (kind === 'initdb') return path.join(SNAPSHOT_DIR, `${INITDB_PREFIX}${hash.digest('hex').slice(0, 16)}.tar`);
  hash.update(readFileSync(here('../../src/data/migrate.ts')));
  for (const name of readdirSync(MIGRATIONS_DIR).sort()) hash.update(name).update(readFileSync(path.join(MIGRATIONS_DIR, name)));
  return path.join(SNAPSHOT_DIR, `${hash.digest('hex').slice(0, 16)}.tar`);
}

/**
 * initdb's arguments for the snapshots: WAL segments of 1 MB instead of 16. A checkpointed data directory keeps its
 * current segment (and a few recycled ones), and each instance started from the snapshot copies every byte of them
 * into its in-memory file system; what a test's database writes is a few MB. Which databases it has and what SQL does in
 * them is the same.
 */
const INITDB_PARAMS = ['--wal-segsize=1'];
/**
 * The databases initdb makes besides `postgres`, dropped from the snapshots: template0 and template1, 15 of its 41 MB
 * and 600 of its 1,100 files, which every instance unpacked (about a third of an instance's start: 0.40-0.42 s of CPU
 * instead of 0.61-0.67 s, load 12-16; bench/README, fifty-fourth session). Only CREATE DATABASE reads them, and no test
 * makes a database on PGlite (PGlite serves one database).
 */
const TEMPLATE_DATABASES = ['template0', 'template1'];

/** Initialises (and for `migrated` migrates) a PGlite database and writes its data directory to `file`; older snapshots of its kind go. */
async function writeSnapshot(file: string, kind: SnapshotKind): Promise<void> {
  // The migrated one is the initdb one migrated: a fresh checkout's globalSetup, which every test file waits for, runs
  // one initdb instead of two (its CPU 7.1-7.6 s instead of 8.4-9.4 s, load 20; bench/README, fiftieth session).
  const lite = kind === 'migrated' ? await PGlite.create({ loadDataDir: new Blob([readFileSync(await writtenSnapshot('initdb'))]) }) : await PGlite.create({ initDbStartParams: INITDB_PARAMS });
  let bytes: Buffer;
  try {
    if (kind === 'migrated') await migrate(pgliteDb(lite));
    else {
      // A template database cannot be dropped: each is made an ordinary one first.
      const names = TEMPLATE_DATABASES.map((n) => `'${n}'`).join(', ');
      await lite.exec(`UPDATE pg_database SET datistemplate = false WHERE datname IN (${names})`);
      for (const name of TEMPLATE_DATABASES) await lite.exec(`DROP DATABASE ${name}`);
    }
    // A dump is of a running database: without a checkpoint, each instance started from it replayed the WAL since
    // initdb (every migration) as a crash recovery, about 0.15 s of CPU a start.
    await lite.exec('CHECKPOINT');
    bytes = Buffer.from(await (await lite.dumpDataDir('none')).arrayBuffer());
  } finally {
    await lite.close();
  }
  mkdirSync(SNAPSHOT_DIR, { recursive: true });
  // Written aside and renamed: a process that reads it never sees half a file (two writers just both write it).
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
  }
  const sameKind = (name: string) => name.endsWith('.tar') && name.startsWith(INITDB_PREFIX) === (kind === 'initdb');
  for (const name of readdirSync(SNAPSHOT_DIR)) if (sameKind(name) && path.join(SNAPSHOT_DIR, name) !== file) rmSync(path.join(SNAPSHOT_DIR, name), { force: true });
}

/**
 * A freshly initialised (and migrated) PGlite data directory, dumped: starting an instance from it takes about 1-2 s of
 * CPU where initdb takes 5-8 s, and the suite starts dozens. Written by the suite's globalSetup (prepareSnapshots), or by
 * the first test process that needs it when vitest runs without that setup.
 */
async function keptSnapshot(kind: SnapshotKind): Promise<Blob> {
  const file = await writtenSnapshot(kind);
  return new SharedBytesBlob(new Uint8Array(readFileSync(file)));
}

/** The snapshot's file, written first when it is missing. */
async function writtenSnapshot(kind: SnapshotKind): Promise<string> {
  const file = snapshotFile(kind);
  if (!existsSync(file)) await writeSnapshot(file, kind);
  return file;
}

/**
 * A snapshot's bytes, read by every instance started from it (PGlite reads `loadDataDir` once, with `arrayBuffer()`,
 * and copies each file out of it into its own file system). A plain Blob copies its 41 MB at every read (about
 * 0.3 s of CPU a start); this one hands out the same bytes, which nothing writes to.
 */
class SharedBytesBlob extends Blob {
  readonly #bytes: ArrayBuffer;
  constructor(bytes: Uint8Array<ArrayBuffer>) {
    super([bytes]);
    this.#bytes = bytes.buffer;
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.#bytes);
  }
}
const snapshots: Partial<Record<SnapshotKind, Promise<Blob>>> = {};

function snapshot(kind: SnapshotKind): Promise<Blob> {
  // A failure is not kept: the next database tries again (the worker runs many files).
  snapshots[kind] ??= keptSnapshot(kind).catch((err: unknown) => {
    snapshots[kind] = undefined;
    throw err;
  });
  return snapshots[kind];
}

/**
 * PGlite's start parameters for the tests' in-memory databases: its own, with 16 MB of shared buffers where initdb's
 * configuration says 128 MB. Setting up the larger pool was most of an instance's start (about 1.3 s of CPU from the
 * snapshot, 0.6 s with 16 MB, load 15-27), and the suite starts a few hundred; the buffers only cache pages that PGlite
 * holds in memory anyway, and a test's database is a few MB. The embedded DATA_DIR (src/data/db.ts) keeps its
 * configuration.
 */
const TEST_START_PARAMS: string[] = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

async function fromSnapshot(kind: SnapshotKind): Promise<TestDb> {
  const db = pgliteDb(await PGlite.create({ loadDataDir: await snapshot(kind), startParams: TEST_START_PARAMS }));
  return { db, dispose: () => db.close() };
}

/** The worker's shared PGlite instance (shared-pglite.ts), started on first use from the initdb snapshot. */
let shared: Promise<SharedPglite> | undefined;

function sharedPglite(): Promise<SharedPglite> {
  // A failure is not kept: the next database tries again (the worker runs many files).
  shared ??= (async () => sharePglite(await PGlite.create({ loadDataDir: await snapshot('initdb'), startParams: TEST_START_PARAMS })))().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

/**
 * A migrated in-memory PGlite database (the embedded default): a fresh schema of the worker's one PGlite instance,
 * migrated by `migrate` as the Postgres test databases are, and dropped by dispose. Starting an instance from the
 * snapshot for each cost 0.42 s of CPU with its close; a schema, its migrations and its drop 0.28 s (bench/README, "One
 * PGlite per worker").
 */
export async function createPgliteTestDb(opts: { migrated?: boolean } = {}): Promise<TestDb> {
  const lite = await sharedPglite();
  const schema = randomPrefix('s');
  await lite.admin(`CREATE SCHEMA ${schema}`);
  const db = lite.scoped(schema);
  try {
    if (opts.migrated ?? true) await migrate(db);
  } catch (err) {
    await lite.drop(schema);
    throw err;
  }
  return {
    db,
    async dispose() {
      try {
        await db.close();
      } finally {
        await lite.drop(schema);
      }
    },
  };
}

/**
 * A migrated PGlite instance of the test's own, started from the migrated snapshot, for a test that needs a whole
 * instance: one that closes it under a running app, or that reads what only a fresh instance holds.
 */
export function createOwnPgliteTestDb(): Promise<TestDb> {
  return fromSnapshot('migrated');
}

/**
 * An in-memory PGlite database with no migration applied (for tests that start from an older schema): an empty schema
 * of the worker's shared instance, as createPostgresTestDb({ migrated: false }) is of the Postgres test database.
 */
export function createUnmigratedPgliteDb(): Promise<TestDb> {
  return createPgliteTestDb({ migrated: false });
}

/**
 * Writes both kept snapshots when they are missing (a fresh checkout, a changed migration or PGlite): the suite's
 * globalSetup (tests/global-setup.ts), before any test file runs. Written instead by the first database a file starts,
 * an initdb and the migrations took 8 s of CPU, 26 s alone at load 27, and more than the 60 s hook timeout when both
 * workers wrote one at once: the hook that started it failed, and the tests of its describe block with it.
 */
export async function prepareSnapshots(): Promise<void> {
  await writtenSnapshot('initdb');
  await writtenSnapshot('migrated');
}

/** Reads (or, in a fresh checkout, writes: one initdb) the snapshot createUnmigratedPgliteDb starts from; for a setup hook. */
export async function prepareUnmigratedPglite(): Promise<void> {
  await snapshot('initdb');
}

/**
 * Writes a migrated embedded database into `dir` (DATA_DIR/pglite as `openDatabase` opens it), from the kept snapshot:
 * what a command finds after any earlier start, for a test whose subject is not the first start (about 1-2 s of CPU
 * instead of the 8-12 s of initdb and the migrations in a child process).
 */
export async function seedMigratedPgliteDir(dir: string, fill?: (db: Db) => Promise<unknown>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const lite = await PGlite.create({ dataDir: dir, loadDataDir: await snapshot('migrated'), startParams: TEST_START_PARAMS });
  try {
    // What an earlier command put in (an import), written here without a process of its own.
    if (fill) await fill(pgliteDb(lite));
  } finally {
    await lite.close();
  }
}

/**
 * Both database backends, for suites whose SQL the two may run differently (locks, statement limits, transactions seen
 * from another connection, cursors, type parsing of what the suite reads) or that are a product area's end-to-end pass
 * on the embedded backend. A suite whose SQL runs alike on both takes ONE_DB_BACKEND (bench/README, "The suite on one
 * backend where the SQL runs alike").
 */
export const DB_BACKENDS = [
  { name: 'postgres', available: () => serviceAvailable(POSTGRES_URL), create: createPostgresTestDb },
  { name: 'pglite', available: async () => true, create: createPgliteTestDb },
] as const;

/**
 * One backend, for a suite whose SQL Postgres and PGlite run alike (what can differ between them is tested on both by
 * the DB_BACKENDS suites): Postgres, the production backend, where it answers or is required (REQUIRE_SERVICES=true,
 * as in CI, turns it missing into a failure); PGlite on a machine without Postgres, so the suite still runs there.
 */
export const ONE_DB_BACKEND: readonly (typeof DB_BACKENDS)[number][] = [(await reachable(POSTGRES_URL)) || REQUIRED ? DB_BACKENDS[0] : DB_BACKENDS[1]];

/** A database with no migration applied, on each backend, for the migration tests; `done` drops what `open` made. */
export interface UnmigratedBackend {
  name: string;
  available: () => Promise<boolean>;
  /** Run once before the backend's tests (a fresh checkout makes PGlite's initdb snapshot here, not in a test's time). */
  prepare?: () => Promise<void>;
  open: () => Promise<{ db: Db; done: () => Promise<void> }>;
}

/** Postgres (a new schema named from `label`) and PGlite (an empty schema from initdb's snapshot, not the migrated one). */
export function unmigratedBackends(label: string): UnmigratedBackend[] {
  return [
    {
      name: 'postgres',
      available: () => serviceAvailable(POSTGRES_URL),
      open: async () => {
        const schema = randomPrefix(label);
        const admin = createPgDb(POSTGRES_URL, { max: 1 });
        await admin.exec(`CREATE SCHEMA ${schema}`);
        const db = createPgDb(POSTGRES_URL, { max: 2, schema });
        return { db, done: async () => (await db.close(), await admin.exec(`DROP SCHEMA ${schema} CASCADE`), await admin.close()) };
      },
    },
    {
      name: 'pglite',
      available: async () => true,
      prepare: prepareUnmigratedPglite,
      open: async () => {
        const { db, dispose } = await createUnmigratedPgliteDb();
        return { db, done: dispose };
      },
    },
  ];
}
