/**
 * CPU (user+sys) of starting the service as the tests start it: the server compiled (tests/helpers/built-entry.ts)
 * to its first `/health/live` 200 and to its exit on SIGTERM, a CLI that exits at once on bad arguments, and
 * `createTestApp` (tests/helpers/app.ts) in one process. Linux only (reads /proc and runs /usr/bin/time).
 *
 *   DATABASE_URL=postgres://... REDIS_URL=redis://.../N PORT=47800 RUNS=6 nice -n 10 npx tsx bench/start-cpu.ts [ENTRY.js]
 *
 * ENTRY (optional): a compiled server.js to measure instead of this checkout's (an older tree, for a before/after);
 * the import CLI is then the one beside it (cli/import-command.js). APP_RUNS=0 leaves out createTestApp.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { builtEntry } from '../tests/helpers/built-entry.js';

const RUNS = Number(process.env.RUNS ?? 6);
const PORT = process.env.PORT ?? '47800';
const TICK = 100; // USER_HZ
const procCpu = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};
const env = {
  ...process.env,
  PORT,
  API_KEYS: 'admin:bench-admin-key-123456',
  SAMPLE_DATA: 'false',
  LOG_LEVEL: 'warn',
};

async function serverStart(entry: string) {
  const child = spawn('/usr/bin/time', ['-f', 'TIME %U %S', process.execPath, entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const t0 = Date.now();
  let nodePid = 0;
  while (!nodePid) {
    await new Promise((r) => setTimeout(r, 20));
    nodePid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
  }
  let live = 0;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${PORT}/health/live`).then((r) => r.status, () => 0);
    if (status === 200) {
      live = procCpu(nodePid);
      break;
    }
    if (Date.now() - t0 > 120_000) throw new Error(`no liveness in 120 s: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  process.kill(nodePid, 'SIGTERM');
  await new Promise((r) => child.on('exit', r));
  const m = out.match(/TIME ([\d.]+) ([\d.]+)/);
  return { live, exit: m ? Number(m[1]) + Number(m[2]) : NaN };
}

function cliStart(entry: string) {
  try {
    execFileSync('/usr/bin/time', ['-f', 'TIME %U %S', process.execPath, entry, 'no-such-format'], { env, stdio: 'pipe' });
  } catch (err) {
    const m = String((err as { stderr: Buffer }).stderr).match(/TIME ([\d.]+) ([\d.]+)/);
    return m ? Number(m[1]) + Number(m[2]) : NaN;
  }
  return NaN;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (xs: number[]) => `mean ${mean(xs).toFixed(2)} s [${xs.map((x) => x.toFixed(2)).join(' ')}]`;

const server = process.argv[2] ?? builtEntry('src/server.ts');
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`load before: ${load()}`);
const live: number[] = [];
const exit: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const r = await serverStart(server);
  live.push(r.live);
  exit.push(r.exit);
}
console.log(`server to /health/live: ${fmt(live)}`);
console.log(`server to exit on SIGTERM: ${fmt(exit)}`);
const cli = process.argv[2] ? path.join(path.dirname(server), 'cli', 'import-command.js') : builtEntry('src/cli/import-command.ts');
console.log(`import CLI, bad arguments: ${fmt(Array.from({ length: RUNS }, () => cliStart(cli)))}`);
// createTestApp in a fresh process each time (module loading through tsx, then the build), as a test file's first app.
const inProcess = Array.from({ length: Number(process.env.APP_RUNS ?? RUNS) }, () =>
  JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'bench/start-cpu-app.ts'], { env: { ...env, LOG_LEVEL: 'silent' } }).toString().trim().split('\n').pop()!),
);
if (inProcess.length) console.log(`createTestApp, modules loaded (tsx): ${fmt(inProcess.map((r) => r.imports))}`);
if (inProcess.length) console.log(`createTestApp, first build: ${fmt(inProcess.map((r) => r.first))}`);
if (inProcess.length) console.log(`createTestApp, later builds: ${fmt(inProcess.map((r) => r.later))}`);
console.log(`load after: ${load()}`);
