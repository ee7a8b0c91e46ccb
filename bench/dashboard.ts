/**
 * Dashboard render times on the full Online Retail data: the real app (in this process, Postgres, the
 * in-process model store) with the data imported, a training and an evaluation run through the API, and
 * 30 days of synthetic feedback with an A/B experiment; then each view opened in Debian's headless
 * chromium and timed until it has drawn everything it shows (body[data-ready]).
 *
 *   npx tsx bench/dashboard.ts [--data FILE] [--runs 5] [--reimport]
 *
 * Per view: the first full load (the service's own caches, e.g. the lifecycle history, still cold), then
 * over `runs` more loads the median and max of
 *   - render: from the view's start to its last chart (API calls, DOM, charts), the page's own measure;
 *   - load:   from navigation start (a full page load: HTML, scripts, Chart.js) to the same point;
 * and the slowest API call of the view (median, from the browser's resource timing).
 * Data: --data FILE, else ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz
 * beside the repository, imported once into the Postgres schema `bench_dashboard` (kept; --reimport
 * starts it anew). The target of issue 13: every view under 1 s.
 */
import { loadavg } from 'node:os';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createPgDb } from '../src/data/db.js';
import { runImport } from '../src/data/importers/run-import.js';
import { migrate } from '../src/data/migrate.js';
import { createServices } from '../src/services.js';
import { createMemoryModelStore } from '../src/store/memory-model-store.js';
import { browserAvailable, launchChromium } from '../tests/helpers/browser.js';
import { dataFile, withoutDataArg } from './lib/online-retail.js';

const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_dashboard';
const KEY = 'bench-admin-key-0123456789';
/** Feedback is sent with a read key: purchase feedback from a write or admin key would also be stored as purchases. */
const READ_KEY = 'bench-read-key-0123456789';

const args = withoutDataArg();
const file = dataFile();
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
if (!browserAvailable()) {
  console.error('chromium is missing (apt-get install -y chromium)');
  process.exit(2);
}

const admin = createPgDb(PG, { max: 1 });
if (args.includes('--reimport')) await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
await admin.exec(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
await admin.close();
const db = createPgDb(PG, { schema: SCHEMA });
await migrate(db);
const config = loadConfig({ API_KEYS: `admin:${KEY},read:${READ_KEY}`, SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0' });
const store = await createMemoryModelStore({});
const services = createServices({ config, db, store });
const app = await buildApp(services);
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const call = async (path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};
const finished = async (path: string) => {
  for (;;) {
    const job = await call(path);
    if (job.status === 'succeeded') return job;
    if (job.status === 'failed') throw new Error(`${path} failed: ${job.error}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
};
const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

try {
  if ((await call('/v1/overview')).counts.purchases === 0) {
    const t0 = performance.now();
    const report = await runImport({ db }, { format: 'online-retail', path: file });
    console.log(`imported ${report.inserted} purchases in ${seconds(t0)}`);
  }
  let t0 = performance.now();
  const training = await call('/v1/training-jobs', {});
  await finished(`/v1/training-jobs/${training.jobId}`);
  console.log(`trained in ${seconds(t0)}`);
  if ((await call('/v1/evaluations?limit=1')).total === 0) {
    t0 = performance.now();
    const evaluation = await call('/v1/evaluations', { split: { kind: 'temporal', cutoff: '2011-11-01' }, ks: [5, 10, 20] });
    await finished(`/v1/evaluations/${evaluation.jobId}`);
    console.log(`evaluated in ${seconds(t0)}`);
  }
  const overview = await call('/v1/overview');
  const top = (await call('/v1/users?sort=spend&limit=1')).customers[0].id;
  const recs = await call(`/v1/users/${top}/recommendations?k=10`);
  if (overview.counts.feedback === 0) await seedFeedback();

  const views = ['overview', 'evaluation', 'customer', `customer/${top}`, `item/${recs.items[0].itemId}`, 'customers', 'online'];
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  await page.goto(`${base}/dashboard`);
  await page.fill('#key', KEY);
  await page.click('#use-key');
  await page.waitForSelector('body[data-ready]');
  console.log(`\n${overview.counts.items} items, ${overview.counts.customers} customers, ${overview.counts.purchases} purchases, ${overview.counts.orders} orders; ${runs} loads per view after a warm-up\n`);
  console.log('view                      first load   render median   render max   load median   load max   slowest API call (median)');
  for (const view of views) {
    const render: number[] = [];
    const load: number[] = [];
    const calls = new Map<string, number[]>();
    let first = 0;
    for (let i = 0; i <= runs; i++) {
      await page.goto('about:blank');
      await page.goto(`${base}/dashboard#${view}`);
      await page.waitForSelector(`body[data-ready="${view.split('/')[0]}"]`, { timeout: 60_000 });
      const t = await page.evaluate(() => ({
        render: Number(document.body.dataset.renderMs),
        load: performance.now(),
        // Every API call of the load with its duration (request start to last byte).
        api: performance.getEntriesByType('resource').filter((e) => e.name.includes('/v1/')).map((e) => [new URL(e.name).pathname, e.duration] as const),
      }));
      if (i === 0) {
        first = t.load;
        continue;
      }
      render.push(t.render);
      load.push(t.load);
      for (const [path, ms] of t.api) calls.set(path, [...(calls.get(path) ?? []), ms]);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const ms = (x: number) => `${Math.round(x)} ms`.padStart(8);
    const [slowPath, slowMs] = [...calls].map(([p, xs]) => [p, med(xs)] as const).sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
    console.log(`${view.padEnd(24)}   ${ms(first)}     ${ms(med(render))}      ${ms(Math.max(...render))}     ${ms(med(load))}    ${ms(Math.max(...load))}   ${slowPath} ${Math.round(slowMs)} ms`);
  }
  console.log(`\nbrowser errors: ${errors.length === 0 ? 'none' : errors.join('; ')}`);
  console.log(`load average: ${loadavg().map((x) => x.toFixed(2)).join(' ')} on 2 cores`);
  await browser.close();
} finally {
  await app.close();
  await store.close();
  await db.close();
}

/** 30 days of feedback: impressions, some clicks and purchases per strategy and per arm of an experiment. */
async function seedFeedback() {
  await call('/v1/experiments', { id: 'bench-knn-vs-hybrid', arms: [{ name: 'control', strategy: 'hybrid', share: 0.5 }, { name: 'knn', strategy: 'item-knn', share: 0.5 }] });
  const { customers } = await call('/v1/users?sort=recent&limit=100');
  const events: Record<string, unknown>[] = [];
  let n = 0;
  for (let d = 29; d >= 0; d--) {
    const ts = new Date(Date.now() - d * 86_400_000).toISOString();
    for (const [strategy, arm, clickEvery] of [['hybrid', 'control', 9], ['item-knn', 'knn', 11], ['popularity', null, 15]] as const) {
      for (let i = 0; i < 60; i++) {
        const userId = customers[(n++ * 7) % customers.length].id;
        const base = { userId, itemId: '85123A', strategy, recommendationId: `bench-${d}-${strategy}-${i}`, ts, ...(arm ? { experimentId: 'bench-knn-vs-hybrid', arm } : {}) };
        events.push({ ...base, type: 'impression' });
        if (i % clickEvery === 0) events.push({ ...base, type: 'click' });
        if (i % (clickEvery * 4) === 0) events.push({ ...base, type: 'purchase' });
      }
    }
  }
  for (let i = 0; i < events.length; i += 1000) {
    const res = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${READ_KEY}` }, body: JSON.stringify({ events: events.slice(i, i + 1000) }) });
    if (!res.ok) throw new Error(`feedback: ${res.status} ${await res.text()}`);
  }
}
