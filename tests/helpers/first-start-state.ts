import { execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configNames } from '../../src/config.js';
import { processAlive } from '../../src/data/data-dir-lock.js';
import { FIRST_START_SAMPLE } from './first-start-sample.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './private-servers.js';
import { getAs, serverStarter, until, withoutRequestLines } from './server-process.js';

/**
 * What a first start leaves, made once per version of what makes it and kept: for the tests that start a server on
 * "a shop whose model the Redis holds" and test something else (a Redis down, hung or slow at the next start). Each
 * such file did that first start itself (a server with SAMPLE_DATA=true importing the tests' sample into a private
 * Postgres and training it into a private Redis: about 28 s of a 49 s file, load average 3), then killed it.
 *
 * Made by a real first start (firstStart below) on a private Postgres and Redis, as those files did it; then the
 * Redis saved (dump.rdb), the Postgres stopped cleanly and its data directory copied, and the DATA_DIR copied. Kept in
 * this checkout's node_modules/.cache/recsvc-first-start/HASH, HASH made of everything the state depends on: the
 * sources (src/, with the migrations), the recipes (models/), the sample, package-lock.json, tsconfig.json, this file
 * and the helpers it compiles and starts servers with, Node's, initdb's and redis-server's versions, and the values of
 * the environment variables the server inherits from the tests' and reads (stateKey). tests/e2e/first-start-state.test.ts checks that a start from it is
 * what a fresh first start leaves.
 *
 * Three test workers may ask at once: the first takes a lock (a directory made with mkdir, its pid inside) and
 * builds; the others wait for the kept state. The state is written aside and renamed, so no reader sees half of
 * it; a lock whose process is gone is taken over.
 */
const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = path.join(REPO, 'node_modules', '.cache', 'recsvc-first-start');
/**
 * What the state depends on besides src/ (with the migrations), relative to the repository: the sample; the recipes
 * (models/, the first start trains DEFAULT_RECIPE's file); package-lock.json; tsconfig.json and built-entry.ts (how
 * src/ is compiled for the server); this file and the helpers it starts servers with.
 */
const INPUTS = [
  path.relative(REPO, FIRST_START_SAMPLE),
  'package-lock.json',
  'tsconfig.json',
  ...['first-start-state.ts', 'private-servers.ts', 'server-process.ts', 'first-start-sample.ts', 'built-entry.ts'].map((f) => `tests/helpers/${f}`),
];
/** Directories whose every file the state depends on. */
const INPUT_DIRS = ['src', 'models'];
/**
 * Variables of the tests' environment that the first start's server inherits (serverStarter passes the rest of it)
 * and reads besides the configuration's (configNames): a kept state made under other values is another state.
 */
const ENV_READ = ['TZ', 'NODE_OPTIONS', 'ONLINE_RETAIL_CSV'];
/** The first start's own give-up (an import and a training on a busy two-core machine). */
const FIRST_START_MS = 180_000;
/** States of other sources are removed once unused for a day (as built-entry.ts's trees). */
const STALE_MS = 24 * 3600_000;
const ADMIN = 'admin-key-for-a-first-start';
/** A lock directory with no pid in it this long is taken over (its maker stopped between mkdir and the write). */
const LOCK_WITHOUT_PID_MS = 60_000;

/** The environment of the first start (and of the tests' servers after it, with their own key). */
export const firstStartEnv = (pg: PrivatePostgres, redis: PrivateRedis, dataDir: string, adminKey = ADMIN): Record<string, string> => ({
  DATABASE_URL: pg.url,
  REDIS_URL: redis.url,
  API_KEYS: `admin:${adminKey}`,
  DATA_DIR: dataDir,
  TRAIN_THREADS: '1',
  LOG_LEVEL: 'info',
});

/**
 * A shop's first start, as a test file did it before its own test: a server with SAMPLE_DATA=true and the tests'
 * sample, on the given private servers, until it is ready; then killed (SIGKILL). Its log is returned.
 */
export async function firstStart(pg: PrivatePostgres, redis: PrivateRedis, dataDir: string): Promise<string> {
  const children: ChildProcess[] = [];
  const start = serverStarter(() => firstStartEnv(pg, redis, dataDir), children);
  const first = await start({ SAMPLE_DATA: 'true', SAMPLE_FILE: FIRST_START_SAMPLE });
  try {
    const ready = await until(() => getAs(ADMIN)(first.base, '/health/ready'), (r) => r.status === 200 || first.child.exitCode !== null, FIRST_START_MS);
    if (ready.status !== 200) throw new Error(`the first start did not become ready (${ready.status}):\n${withoutRequestLines(first.output)}`);
  } finally {
    if (first.child.exitCode === null && first.child.signalCode === null) {
      const exited = new Promise((r) => first.child.once('exit', r));
      first.child.kill('SIGKILL');
      await exited;
    }
  }
  return first.output;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

async function versions(): Promise<string> {
  const bin = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((v) => existsSync(path.join('/usr/lib/postgresql', v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => path.join('/usr/lib/postgresql', v, 'bin', 'initdb'))[0]
    : undefined;
  const initdb = await run(bin ?? 'initdb', ['--version']).then((r) => r.stdout.trim(), () => 'no initdb');
  const redis = await run('redis-server', ['--version']).then((r) => r.stdout.trim(), () => 'no redis-server');
  return `${process.versions.node}\0${initdb}\0${redis}`;
}

/**
 * The kept state's name: a hash of the tools' versions, of INPUTS and INPUT_DIRS's files under `repo`, and of the
 * values in `env` of the variables the first start reads (those that firstStartEnv sets aside: it sets them itself).
 */
export async function stateKey(repo = REPO, env: NodeJS.ProcessEnv = process.env, tools?: string): Promise<string> {
  const hash = createHash('sha256').update(tools ?? (await versions())).update('\0');
  const inputs = [...INPUTS.map((f) => path.join(repo, f)), ...INPUT_DIRS.flatMap((d) => files(path.join(repo, d)))];
  for (const f of inputs) hash.update(`${path.relative(repo, f)}\0`).update(readFileSync(f)).update('\0');
  const setByFirstStart = new Set(['SAMPLE_DATA', 'SAMPLE_FILE', 'PORT', ...Object.keys(firstStartEnv({ url: '' } as PrivatePostgres, { url: '' } as PrivateRedis, ''))]);
  for (const name of [...new Set([...configNames(), ...ENV_READ])].filter((n) => !setByFirstStart.has(n)).sort()) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') hash.update(`${name}=${value}\0`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Servers a first start has just left, with its DATA_DIR and log. */
export interface AfterFirstStart {
  pg: PrivatePostgres;
  redis: PrivateRedis;
  dataDir: string;
  log: string;
}

/**
 * Writes copies of `made` into `target` (absent): the Redis saved, the Postgres stopped cleanly (then started again,
 * for a caller that goes on with them), the DATA_DIR.
 */
async function keep(made: AfterFirstStart, target: string): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await run('redis-cli', ['-p', String(made.redis.port), 'save']);
    await made.pg.stop('fast');
    try {
      mkdirSync(tmp, { recursive: true });
      // cp -a: as root the postgres user's ownership and the 0700 mode are kept.
      await run('cp', ['-a', made.pg.data, path.join(tmp, 'pgdata')]);
    } finally {
      await made.pg.start();
    }
    copyFileSync(path.join(made.redis.dir, 'dump.rdb'), path.join(tmp, 'dump.rdb'));
    cpSync(made.dataDir, path.join(tmp, 'data'), { recursive: true });
    writeFileSync(path.join(tmp, 'first-start.log'), withoutRequestLines(made.log));
    moveInto(tmp, target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Renames `tmp` to `target`; where `target` is there already (two builders: a lock taken over from a holder judged
 * gone just as another took it over too), the one there is kept and `tmp` dropped, rather than the second builder's
 * test failing on ENOTEMPTY. Whether `tmp` was the one kept.
 */
export function moveInto(tmp: string, target: string): boolean {
  try {
    renameSync(tmp, target);
    return true;
  } catch (err) {
    if (!existsSync(target)) throw err;
    rmSync(tmp, { recursive: true, force: true });
    return false;
  }
}

/** A first start on private servers of its own, kept in `target`. */
async function build(target: string): Promise<void> {
  const [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-first-start-state-'));
  try {
    await keep({ pg, redis, dataDir, log: await firstStart(pg, redis, dataDir) }, target);
  } finally {
    await Promise.all([pg.dispose(), redis.dispose()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * When process `pid` started (clock ticks after boot, /proc/PID/stat's 22nd field), where /proc tells: with the pid,
 * what names a process, since a pid is reused once its process is gone.
 */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command's "(name)", which may hold spaces: state is the 3rd field, starttime the 22nd.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** What a lock's holder writes in it: its pid and, where /proc tells, when its process started. */
export function lockOwner(pid = process.pid): string {
  const started = startTime(pid);
  return started ? `${pid} ${started}` : String(pid);
}


/**
 * A lock's holder: alive, gone, or not written yet (null). Gone too when its pid is now another process's (one
 * started at another time than the holder): a builder killed (a worker stopped at its hook's timeout) leaves its lock,
 * and a later process with its pid would otherwise hold it for every run until that process ends.
 */
export function lockHolder(lock: string): 'alive' | 'gone' | null {
  let written: string[];
  try {
    written = readFileSync(path.join(lock, 'pid'), 'utf8').trim().split(' ');
  } catch {
    return null;
  }
  const pid = Number(written[0]);
  const started = written[1];
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (!processAlive(pid)) return 'gone';
  const now = startTime(pid);
  return started && now && now !== started ? 'gone' : 'alive';
}

function mtimeOf(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** A state's age (STALE_MS) counts from its last use. */
function markUsed(dir: string): void {
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    // not ours to touch
  }
}

let kept: Promise<string> | undefined;

/**
 * The directory of the kept state (pgdata/, dump.rdb, data/), built by the first caller of this checkout's sources.
 * `own`: when this call is the one to build it, the state kept is that of the first start `own` makes (on servers
 * the caller keeps: tests/e2e/first-start-state.test.ts, whose own first start is then not a second one); `built`
 * says whether it was.
 */
export function firstStartState(own?: () => Promise<AfterFirstStart>): Promise<string> {
  return keptState(own).then((r) => r.dir);
}

export function keptState(own?: () => Promise<AfterFirstStart>): Promise<{ dir: string; built: boolean }> {
  let built = false;
  kept ??= (async () => {
    const dir = path.join(CACHE, await stateKey());
    const lock = `${dir}.lock`;
    mkdirSync(CACHE, { recursive: true });
    for (;;) {
      if (existsSync(dir)) {
        markUsed(dir);
        return dir;
      }
      try {
        mkdirSync(lock);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // Another process builds it: wait, unless that process is gone (its lock is taken over), or the lock was
        // left without a pid by a process stopped between the two writes.
        const holder = lockHolder(lock);
        if (holder === 'gone' || (holder === null && Date.now() - mtimeOf(lock) > LOCK_WITHOUT_PID_MS)) rmSync(lock, { recursive: true, force: true });
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      try {
        writeFileSync(path.join(lock, 'pid'), lockOwner());
        if (!existsSync(dir)) {
          if (own) {
            await keep(await own(), dir);
            built = true;
          } else await build(dir);
        }
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
      for (const name of readdirSync(CACHE)) {
        const other = path.join(CACHE, name);
        try {
          if (other !== dir && !name.endsWith('.lock') && Date.now() - statSync(other).mtimeMs > STALE_MS) rmSync(other, { recursive: true, force: true });
        } catch {
          // gone meanwhile
        }
      }
      return dir;
    }
  })().catch((err: unknown) => {
    kept = undefined;
    throw err;
  });
  return kept.then((dir) => ({ dir, built }));
}

/**
 * A private Postgres and Redis holding what a first start leaves (copies of the kept state), and `dataDir` filled
 * with the first start's DATA_DIR: where a test file's servers start as on the shop's second start.
 */
export async function startAfterFirstStart(dataDir: string): Promise<{ pg: PrivatePostgres; redis: PrivateRedis }> {
  const state = await firstStartState();
  cpSync(path.join(state, 'data'), dataDir, { recursive: true });
  const [pg, redis] = await Promise.all([startPrivatePostgres({ from: path.join(state, 'pgdata') }), startPrivateRedis([], { rdb: path.join(state, 'dump.rdb') })]);
  return { pg, redis };
}
