/**
 * Does an evaluation job slow down serving? Starts the service with jobs run in the API process
 * (JOB_RUNNER=inline, the default), posts an evaluation of the full Online Retail data, and while it runs
 * asks for a recommendation (a computed one: a new `exclude` each time) every 50 ms; prints the latency
 * of those requests and how long the evaluation took.
 *
 *   npx tsx bench/serve.ts            # once: imports and trains into schema bench_serve / Redis db 9
 *   npx tsx bench/serve-during-evaluation.ts
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
const PORT = 4321;
const KEY = 'bench-admin-key-0123456789';
const base = `http://127.0.0.1:${PORT}`;
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

const service = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/server.ts'], {
  cwd: fileURLToPath(new URL('..', import.meta.url)),
  env: {
    ...process.env,
    PORT: String(PORT),
    HOST: '127.0.0.1',
    DATABASE_URL: `${PG}${PG.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c search_path=bench_serve')}`,
    REDIS_URL: REDIS,
    API_KEYS: `admin:${KEY}`,
    LOG_LEVEL: 'warn',
    SAMPLE_DATA: 'false',
    JOB_RUNNER: 'inline',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];

async function probe(): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/users/12347/recommendations?k=10&exclude=probe-${Math.random()}`, { headers });
  await res.text();
  if (!res.ok) throw new Error(`recommendation answered ${res.status}`);
  return performance.now() - t0;
}

try {
  for (let i = 0; ; i++) {
    if (i > 400) throw new Error('the service did not become ready');
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break;
    await sleep(300);
  }
  const idle: number[] = [];
  for (let i = 0; i < 50; i++) idle.push(await probe());
  const posted = await fetch(`${base}/v1/evaluations`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ split: { kind: 'temporal', cutoff: '2011-11-01' }, modes: ['novel'], ks: [10] }),
  });
  const { jobId } = (await posted.json()) as { jobId: string };
  const t0 = performance.now();
  const busy: number[] = [];
  let status = '';
  while (!['succeeded', 'failed'].includes(status)) {
    busy.push(await probe());
    status = ((await (await fetch(`${base}/v1/evaluations/${jobId}`, { headers })).json()) as { status: string }).status;
    await sleep(50);
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const [name, lat] of [['idle', idle], ['during the evaluation', busy]] as const) {
    const s = [...lat].sort((a, b) => a - b);
    console.log(`${name}: ${s.length} requests, p50 ${percentile(s, 0.5).toFixed(1)} ms, p99 ${percentile(s, 0.99).toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms`);
  }
  console.log(`evaluation ${status} after ${seconds.toFixed(1)} s`);
} finally {
  service.kill('SIGTERM');
  await once(service, 'exit');
}
