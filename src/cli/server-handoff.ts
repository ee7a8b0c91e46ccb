import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { LOCK_FILE, liveLockHolder } from '../data/data-dir-lock.js';
import { realPathOf, underImportRoots } from '../data/import-roots.js';
import { AppError, ERRORS, type ErrorCode } from '../errors.js';
import type { Progress } from './progress.js';

/** A running server that owns DATA_DIR, and the admin key to send it work with. */
export interface RunningServer {
  url: string;
  pid: number;
  key: string;
  /** Where the server's imports may read (absent from a server that did not say). */
  importRoots?: string[];
  /** The user the server runs as (the owner of the lock file it wrote). */
  uid?: number;
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
  if (!key) return null;
  return { url: holder.url, pid: holder.pid, key, uid: ownerOf(path.join(config.DATA_DIR, LOCK_FILE)), ...(holder.importRoots ? { importRoots: holder.importRoots } : {}) };
}

function ownerOf(file: string): number | undefined {
  try {
    return statSync(file).uid;
  } catch {
    return undefined;
  }
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

/** The server answered a request with an error: its status, and its error code when it sent the error shape. */
class ServerAnswerError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

async function call(server: RunningServer, method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(new URL(route, server.url), {
    method,
    headers: { authorization: `Bearer ${server.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) throw new ServerAnswerError(`the server at ${server.url} answered ${res.status}: ${json?.error?.message ?? res.statusText}`, res.status, json?.error?.code);
  return json;
}

/**
 * A job the server accepted but this command could not follow to its end (the server stopped answering): it may
 * still be running there, so what it reads must stay.
 */
export class JobNotFollowedError extends Error {}

/** How long a submitted job is followed through failed polls (a server restarting, a moment of overload). */
const FOLLOW_RETRY_MS = 60_000;

/**
 * Submits a job to the running server (POST `jobsRoute`) and follows it (GET `jobsRoute/:id`) with the
 * same progress display as a local run, until it succeeds or fails. Returns the finished job. A refusal
 * of the submit (4xx) is thrown as an AppError with the server's code where it is one of ours; the
 * progress display is stopped on every failure, so nothing keeps the command alive.
 */
export async function runJobOnServer(
  server: RunningServer,
  jobsRoute: string,
  body: unknown,
  progress: Progress,
  opts: { pollMs?: number; retryMs?: number; onInterrupt?: (message: string) => void } = {},
): Promise<JobView> {
  let jobId: string;
  try {
    ({ jobId } = (await call(server, 'POST', jobsRoute, body)) as { jobId: string });
  } catch (err) {
    progress.stop('failed');
    if (err instanceof ServerAnswerError && err.status < 500) {
      // A 4xx without our error shape (a proxy's) still refuses the request.
      throw new AppError(err.code && Object.hasOwn(ERRORS, err.code) ? (err.code as ErrorCode) : 'UNPROCESSABLE', err.message);
    }
    throw err;
  }
  // Stopping the command (Ctrl-C) does not stop the job: say which job goes on and where to follow it.
  const interrupted = (signal: NodeJS.Signals) => {
    progress.stop('left');
    const message = `stopped following job ${jobId} (${signal}); the server at ${server.url} goes on with it: see ${jobsRoute}/${jobId}`;
    if (opts.onInterrupt) return opts.onInterrupt(message);
    console.error(message);
    // 128 + the signal's number, as a shell reports a command the signal stopped.
    process.exit(signal === 'SIGTERM' ? 143 : 130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await follow(server, jobsRoute, jobId, progress, opts);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

async function follow(server: RunningServer, jobsRoute: string, jobId: string, progress: Progress, opts: { pollMs?: number; retryMs?: number }): Promise<JobView> {
  let failingSince: number | null = null;
  for (;;) {
    let job: JobView;
    try {
      job = (await call(server, 'GET', `${jobsRoute}/${encodeURIComponent(jobId)}`)) as JobView;
      failingSince = null;
    } catch (err) {
      failingSince ??= Date.now();
      // A 4xx (the key or the job gone) will not pass by waiting; a 5xx or a dropped connection may.
      const lasting = err instanceof ServerAnswerError && err.status < 500;
      if (lasting || Date.now() - failingSince > (opts.retryMs ?? FOLLOW_RETRY_MS)) {
        progress.stop('failed');
        throw new JobNotFollowedError(`job ${jobId} was accepted by the server at ${server.url}, but following it failed: ${(err as Error).message}; see ${jobsRoute}/${jobId}`);
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      continue;
    }
    progress.update(job.progress, job.status === 'queued' ? 'queued' : (job.step ?? ''));
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** Copies left by a command that was stopped while the server imported them are removed after this long. */
const STAGED_STALE_MS = 24 * 3600_000;
const STAGED_PREFIX = '.cli-import-';

/**
 * Runs `work` with a path the server may read for the local file or directory `local`: `local` itself when it lies
 * under one of the server's import roots, and so does everything in it, links resolved (or the server did not say
 * where they are), else a copy of it under the first root, made with this user's rights as a local import would
 * read it (links copied as what they point to; readable by others only when the server runs as another user), and
 * removed when `work` ends, unless the job could not be followed to its end. The server refuses paths outside its
 * roots (IMPORT_ROOTS guards its HTTP API), and each file its job opens whose link leads out of them.
 */
export async function withPathForServer<T>(server: RunningServer, local: string, work: (serverPath: string) => Promise<T>, say: (line: string) => void = console.log): Promise<T> {
  const abs = realPathOf(local);
  const roots = server.importRoots;
  if (!roots || roots.length === 0) return work(abs);
  // The server's own rules (job-service importablePath at submission, pathWithinScope as its job opens each file),
  // so what passes here passes there.
  const under = underImportRoots(abs, roots);
  const linkOut = under ? linkLeadingOut(abs, roots) : null;
  if (under && !linkOut) return work(abs);
  const root = roots[0];
  // Checked before anything is copied: a link to a directory holding it would copy a whole other tree.
  const link = directoryLinkOut(abs);
  if (link) throw new Error(`${path.join(path.resolve(local), path.relative(abs, link))} is a link to a directory outside ${local} (or above it: a loop), so handing ${local} to the server would copy that whole tree: replace the link by the files it should bring, or name the directory that holds them`);
  removeStaleCopies(root);
  const stage = path.join(root, `${STAGED_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  // The name as given (a link named shop.csv.gz keeps its name, which the format check reads).
  const copy = path.join(stage, path.basename(path.resolve(local)));
  try {
    say(
      linkOut
        ? `The server reads imports only under ${root}, links resolved, and ${path.relative(abs, linkOut)} in ${local} leads elsewhere: copying ${local} under ${root} for it.`
        : `The server reads imports only under ${root}: copying ${local} there for it.`,
    );
    mkdirSync(stage, { recursive: true });
    // Links are copied as what they point to: a link kept as a link would let the server read outside its roots.
    cpSync(abs, copy, { recursive: true, dereference: true });
    // A server running as another user must be able to read the copy; one running as this user reads it as it is.
    if (server.uid !== undefined && server.uid !== process.getuid?.()) readableByAll(stage);
  } catch (err) {
    removeQuietly(stage);
    throw new Error(`could not copy ${local} under ${root}, where the server reads imports: ${(err as Error).message}`);
  }
  let keep = false;
  try {
    return await work(copy);
  } catch (err) {
    // The job may still be reading it: the next command's sweep removes it after a day.
    if (err instanceof JobNotFollowedError) {
      keep = true;
      say(`The copy stays at ${copy} while the job may still read it.`);
    }
    throw err;
  } finally {
    if (!keep) rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * The first entry of the directory `dir` (its real path, under `roots`), at any depth, whose real path lies outside
 * `roots`: a link the server's job would refuse to follow (import-roots.ts pathWithinScope), as the path of the entry
 * under `dir`; null when there is none or `dir` is a file. A directory linked from inside the roots is looked into
 * once. What cannot be listed or resolved is left to the job, which reports it as it would have.
 */
function linkLeadingOut(dir: string, roots: readonly string[], seen = new Set<string>()): string | null {
  if (seen.has(dir)) return null;
  seen.add(dir);
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return null;
  }
  for (const entry of entries) {
    const at = path.join(dir, entry.name);
    const real = entry.isSymbolicLink() ? realPathOf(at) : at;
    if (!underImportRoots(real, roots)) return at;
    if (entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(real))) {
      const inner = linkLeadingOut(real, roots, seen);
      if (inner) return real === at ? inner : at;
    }
  }
  return null;
}

/**
 * The first link in the directory `dir` (its real path), at any depth through the directories it holds and links
 * to inside it, that leads to a directory which is not strictly inside `dir`: a directory elsewhere (copied, it
 * brings that whole tree) or one holding the link (a loop: `up -> ..`, `again -> .`); null when there is none or
 * `dir` is a file. Links to files may lead anywhere: each brings one file.
 */
function directoryLinkOut(dir: string, at = dir, seen = new Set<string>(), path_: readonly string[] = [dir]): string | null {
  if (seen.has(at)) return null;
  seen.add(at);
  let entries;
  try {
    entries = readdirSync(at, { withFileTypes: true });
  } catch {
    return null;
  }
  for (const entry of entries) {
    const entryPath = path.join(at, entry.name);
    if (entry.isSymbolicLink()) {
      const real = realPathOf(entryPath);
      if (!isDirectory(real)) continue;
      // A loop: it leads to a directory the copy is already inside of, through this link's real directory or
      // through the links followed to get here (a -> b and b -> a: two links, neither above its own directory).
      const holding = (d: string) => d === real || d.startsWith(real + path.sep);
      if (!real.startsWith(dir + path.sep) || holding(at) || path_.some(holding)) return entryPath;
      const inner = directoryLinkOut(dir, real, seen, [...path_, at]);
      if (inner) return inner;
    } else if (entry.isDirectory()) {
      const inner = directoryLinkOut(dir, entryPath, seen, path_);
      if (inner) return inner;
    }
  }
  return null;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
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
  if (lstatSync(p).isDirectory()) {
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
