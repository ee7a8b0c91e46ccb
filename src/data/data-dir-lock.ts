import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/** Who holds DATA_DIR: written in DATA_DIR/recsvc.lock. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** The holding process's entry (e.g. `server.ts`, `train-command.ts`). */
  command: string;
  startedAt: string;
  /** Set by a server once it listens: where its API answers. */
  url?: string;
  /** Set with `url`: the directories the server's imports may read (IMPORT_ROOTS, resolved). */
  importRoots?: string[];
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const what = holder.url ? `the recsvc server at ${holder.url}` : `another recsvc process (${holder.command})`;
    super(
      `${dataDir} is in use by ${what}, pid ${holder.pid}, since ${holder.startedAt}: the embedded database and model ` +
        'store can be opened by one process at a time. Stop it first, send the work to its API, or set DATABASE_URL ' +
        '(and REDIS_URL) to share a real Postgres (and Redis).',
    );
  }
}

export const LOCK_FILE = 'recsvc.lock';

// Locks held by this process, per directory: the database and the model store share one, counted.
const held = new Map<string, { count: number; holder: LockHolder }>();

const lockPath = (dir: string) => path.join(dir, LOCK_FILE);

/** Whether a process of this pid exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The current holder of DATA_DIR's lock, whether it is alive or not; null when there is no lock file. */
export function readLockHolder(dataDir: string): LockHolder | null {
  let text: string;
  try {
    text = readFileSync(lockPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' ? h : null;
  } catch {
    return null;
  }
}

/**
 * True when the holder is gone: a process of this machine that no longer runs, or this very pid
 * without this process holding the lock (a container restarted after a crash runs as the same pid).
 * A holder on another machine (a shared disk) cannot be checked and counts as alive.
 */
function stale(h: LockHolder | null, dir: string): boolean {
  if (h === null) return true;
  if (h.hostname !== hostname()) return false;
  if (h.pid === process.pid) return !held.has(dir);
  return !processAlive(h.pid);
}

/** Writes `holder` to a temp file and moves it over the lock file (only the holder rewrites it). */
function writeHolder(dir: string, holder: LockHolder): string {
  const tmp = path.join(dir, `${LOCK_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
  return tmp;
}

/**
 * Takes DATA_DIR's lock for this process: one process owns the embedded data (PGlite and the model
 * store's snapshots), as two PGlite instances on one directory corrupt it, and a CLI writing a model the
 * server never reads is worse than a clear refusal. The lock file is made complete under a temp name
 * and hard-linked into place, which fails if a lock exists, so no reader sees a half-written one. A lock
 * left by a process that died is taken over. Throws DataDirLockedError naming a live holder.
 * Re-entrant within a process; call the returned release once per acquisition.
 */
export function lockDataDir(dataDir: string, command = path.basename(process.argv[1] ?? 'recsvc')): () => void {
  const dir = path.resolve(dataDir);
  const mine = held.get(dir);
  if (mine) {
    mine.count++;
  } else {
    mkdirSync(dir, { recursive: true });
    const holder: LockHolder = { pid: process.pid, hostname: hostname(), command, startedAt: new Date().toISOString() };
    const tmp = writeHolder(dir, holder);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(tmp, lockPath(dir));
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const current = readLockHolder(dir);
          if (attempt > 0 || !stale(current, dir)) throw new DataDirLockedError(dataDir, current ?? { pid: 0, hostname: '?', command: '?', startedAt: '?' });
          unlinkSync(lockPath(dir));
        }
      }
    } finally {
      unlinkSync(tmp);
    }
    held.set(dir, { count: 1, holder });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const entry = held.get(dir);
    if (!entry || --entry.count > 0) return;
    held.delete(dir);
    // Only our own lock file is removed (never one another process took over meanwhile).
    if (readLockHolder(dir)?.pid === process.pid) unlinkSync(lockPath(dir));
  };
}

/** The live holder of DATA_DIR's lock, or null when it is free or its holder died. */
export function liveLockHolder(dataDir: string): LockHolder | null {
  const dir = path.resolve(dataDir);
  const h = readLockHolder(dir);
  return h && !stale(h, dir) ? h : null;
}

/**
 * A server holding DATA_DIR's lock records where it listens, so a CLI can send it work instead, and where its imports
 * may read, so a CLI can put a file there first.
 */
export function announceServerUrl(dataDir: string, url: string, importRoots?: string[]): void {
  const dir = path.resolve(dataDir);
  const entry = held.get(dir);
  if (!entry) return;
  entry.holder = { ...entry.holder, url, ...(importRoots ? { importRoots: importRoots.map((r) => path.resolve(r)) } : {}) };
  renameSync(writeHolder(dir, entry.holder), lockPath(dir));
}
