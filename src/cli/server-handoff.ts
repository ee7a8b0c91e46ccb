import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { liveLockHolder } from '../data/data-dir-lock.js';
import type { Progress } from './progress.js';

/** A running server that owns DATA_DIR, and the admin key to send it work with. */
export interface RunningServer {
  url: string;
  pid: number;
  key: string;
  /** Where the server's imports may read (absent from a server that did not say). */
  importRoots?: string[];
}

/**
 * The server holding DATA_DIR's embedded data, when there is one this command can hand its job to:
 * it announced its URL in the lock file, and an admin key is known (an `admin:` entry of API_KEYS, else
 * the generated DATA_DIR/admin.key). Null otherwise: the command then opens DATA_DIR itself, which
 * refuses with a message naming the holder if another process has it.
 */
export function runningServer(config: Pick<Config, 'DATABASE_URL' | 'REDIS_URL' | 'DATA_DIR' | 'API_KEYS'>): RunningServer | null {
  if (config.DATABASE_URL && config.REDIS_URL) return null;
  const holder = liveLockHolder(config.DATA_DIR);
  if (!holder?.url) return null;
  const key = config.API_KEYS.find((k) => k.scope === 'admin')?.key ?? readKeyFile(path.join(config.DATA_DIR, 'admin.key'));
  return key ? { url: holder.url, pid: holder.pid, key, ...(holder.importRoots ? { importRoots: holder.importRoots } : {}) } : null;
}

function readKeyFile(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

interface JobView {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  progress: number;
  step: string | null;
  /** What a job produced (trainings, imports); an evaluation carries `report` instead. */
  result?: unknown;
  report?: unknown;
  error: string | null;
}

async function call(server: RunningServer, method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(new URL(route, server.url), {
    method,
    headers: { authorization: `Bearer ${server.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (!res.ok) throw new Error(`the server at ${server.url} answered ${res.status}: ${json?.error?.message ?? res.statusText}`);
  return json;
}

/**
 * Submits a job to the running server (POST `jobsRoute`) and follows it (GET `jobsRoute/:id`) with the
 * same progress display as a local run, until it succeeds or fails. Returns the finished job.
 */
export async function runJobOnServer(
  server: RunningServer,
  jobsRoute: string,
  body: unknown,
  progress: Progress,
  opts: { pollMs?: number } = {},
): Promise<JobView> {
  const { jobId } = (await call(server, 'POST', jobsRoute, body)) as { jobId: string };
  for (;;) {
    const job = (await call(server, 'GET', `${jobsRoute}/${encodeURIComponent(jobId)}`)) as JobView;
    progress.update(job.progress, job.status === 'queued' ? 'queued' : (job.step ?? ''));
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** Copies left by a command that was stopped while the server imported them are removed after this long. */
const STAGED_STALE_MS = 24 * 3600_000;
const STAGED_PREFIX = '.cli-import-';

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};

/**
 * Runs `work` with a path the server may read for the local file or directory `local`: `local` itself when it lies
 * under one of the server's import roots (or the server did not say where they are), else a copy of it under the
 * first root, made with this user's rights as a local import would read it, readable by the server, and removed
 * when `work` ends. The server refuses paths outside its roots (IMPORT_ROOTS guards its HTTP API).
 */
export async function withPathForServer<T>(server: RunningServer, local: string, work: (serverPath: string) => Promise<T>, say: (line: string) => void = console.log): Promise<T> {
  const abs = real(local);
  const roots = server.importRoots;
  if (!roots || roots.length === 0 || roots.map(real).some((r) => abs === r || abs.startsWith(r + path.sep))) return work(abs);
  const root = roots[0];
  removeStaleCopies(root);
  const stage = path.join(root, `${STAGED_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  const copy = path.join(stage, path.basename(abs));
  try {
    say(`The server reads imports only under ${root}: copying ${local} there for it.`);
    mkdirSync(stage, { recursive: true });
    cpSync(abs, copy, { recursive: true });
    readableByAll(stage);
  } catch (err) {
    removeQuietly(stage);
    throw new Error(`could not copy ${local} under ${root}, where the server reads imports: ${(err as Error).message}`);
  }
  try {
    return await work(copy);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function removeQuietly(p: string): void {
  try {
    rmSync(p, { recursive: true, force: true });
  } catch {
    // nothing was made there
  }
}

/** The server may run as another user: the copy is readable (and its directories listable) by everyone. */
function readableByAll(p: string): void {
  if (statSync(p).isDirectory()) {
    chmodSync(p, 0o755);
    for (const name of readdirSync(p)) readableByAll(path.join(p, name));
  } else chmodSync(p, 0o644);
}

function removeStaleCopies(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return; // no root yet: the copy creates it
  }
  for (const name of names) {
    if (!name.startsWith(STAGED_PREFIX)) continue;
    try {
      const dir = path.join(root, name);
      if (Date.now() - statSync(dir).mtimeMs > STAGED_STALE_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed meanwhile, or not ours to remove
    }
  }
}
