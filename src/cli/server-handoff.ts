import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { liveLockHolder } from '../data/data-dir-lock.js';
import type { Progress } from './progress.js';

/** A running server that owns DATA_DIR, and the admin key to send it work with. */
export interface RunningServer {
  url: string;
  pid: number;
  key: string;
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
  return key ? { url: holder.url, pid: holder.pid, key } : null;
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
