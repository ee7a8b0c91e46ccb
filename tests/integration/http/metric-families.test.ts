import { hostname } from 'node:os';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';
import { seedShop, shopData } from '../serving/shop-fixture.js';

/**
 * The scrape is parsed by parse-prometheus-text-format (it rejects malformed lines and gives families,
 * types and samples); it folds a labelled histogram's series into one, so histogram details are read
 * through prom-client's own API instead.
 *
 * A shop as an operator sees it after a day: a model trained and evaluated by jobs, feedback sent.
 * Then one request, one scrape, parsed by a real Prometheus text-format parser.
 */
describe('every declared metric family on /metrics', () => {
  let t: TestApp;
  let families: ReturnType<typeof parsePrometheusTextFormat>;
  /** The dominant source (first of `sources`) of every item the two user requests were served. */
  let served: string[] = [];
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
    await seedShop(t.services);
    const training = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin') });
    expect((await finishedJob(t, `/v1/training-jobs/${training.json().jobId}`, 120_000)).status).toBe('succeeded');
    const evaluation = await t.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: auth('admin'),
      payload: { split: { kind: 'temporal', cutoff: '2024-02-05' }, strategies: [] },
    });
    expect(evaluation.statusCode).toBe(202);
    expect((await finishedJob(t, `/v1/evaluations/${evaluation.json().jobId}`, 120_000)).status).toBe('succeeded');
    const recommendation = await t.app.inject({ url: '/v1/users/g-user1/recommendations?k=3', headers: auth('read') });
    const { recommendationId, items } = recommendation.json();
    const ts = new Date().toISOString();
    const feedback = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: auth('write'),
      payload: {
        events: [
          { userId: 'g-user1', itemId: items[0].itemId, type: 'impression', recommendationId, strategy: 'hybrid', ts },
          { userId: 'g-user1', itemId: items[0].itemId, type: 'click', recommendationId, strategy: 'hybrid', ts },
        ],
      },
    });
    expect(feedback.statusCode).toBe(200);

    // The one request, then the scrape.
    const again = await t.app.inject({ url: '/v1/users/g-user1/recommendations?k=3', headers: auth('read') });
    expect(again.statusCode).toBe(200);
    served = [...items, ...again.json().items].map((i: { sources: string[] }) => i.sources[0]);
    const scrape = await t.app.inject({ url: '/metrics' });
    expect(scrape.statusCode).toBe(200);
    families = parsePrometheusTextFormat(scrape.body);
  }, 240_000);
  afterAll(() => t.dispose());

  it('When the registry is scraped, Then every family it declares has at least one series', () => {
    const declared = t.services.metrics.registry.getMetricsAsArray().map((m) => m.name);
    const scraped = new Map(families.map((f) => [f.name, f.metrics.length]));
    const empty = declared.filter((name) => !(scraped.get(name) ?? 0));
    expect(empty).toEqual([]);
    expect(declared).toEqual(expect.arrayContaining([
      'recsvc_model_active_info', 'recsvc_model_active_age_seconds', 'recsvc_serving_answer_cache_hits_total', 'recsvc_serving_answer_cache_misses_total',
      'recsvc_store_operation_duration_seconds', 'recsvc_store_errors_total', 'recsvc_db_query_duration_seconds', 'recsvc_db_errors_total', 'recsvc_db_timeouts_total',
      'recsvc_ingest_records_total', 'recsvc_jobs_failures_total', 'recsvc_training_last_success_timestamp_seconds', 'recsvc_build_info',
    ]));
  });

  it('When families are named, Then they follow recsvc_<subsystem>_<name>_<unit>, with _total on counters only', () => {
    for (const f of families) {
      expect(f.name).toMatch(/^recsvc_[a-z]+_[a-z0-9_]+$/);
      if (f.type === 'COUNTER') expect(f.name, f.name).toMatch(/_total$/);
      else expect(f.name, f.name).not.toMatch(/_total$/);
    }
  });

  it('When series are labelled, Then no label value is a user or item id', async () => {
    const { items, users } = shopData();
    const ids = new Set([...items.map((i) => i.id), ...users.map((u) => u.id)]);
    for (const f of families) for (const s of f.metrics) for (const value of Object.values(s.labels ?? {})) expect(ids.has(value), `${f.name} ${value}`).toBe(false);
    // Histogram labels, which the text parser folds away, through prom-client's API.
    const json = await t.services.metrics.registry.getMetricsAsJSON();
    for (const m of json) for (const v of m.values) for (const value of Object.values(v.labels)) expect(ids.has(String(value)), `${m.name} ${value}`).toBe(false);
  });

  it('When a model is active, Then its version and age are shown, and the last training time is its training time', async () => {
    const active = (await t.services.store.getActive())!;
    const sample = (name: string) => families.find((f) => f.name === name)!.metrics;
    expect(sample('recsvc_model_active_info')).toEqual([{ labels: { version: active.version, recipe: active.recipe }, value: '1' }]);
    const age = Number(sample('recsvc_model_active_age_seconds')[0].value);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600);
    expect(Number(sample('recsvc_training_last_success_timestamp_seconds')[0].value)).toBe(Date.parse(active.trainedAt) / 1000);
    expect(sample('recsvc_build_info')[0].labels).toEqual({ version: expect.any(String), node: process.version });
  });

  it('When the same user asks the same question twice, Then the second is a cache hit; feedback records counted as accepted', () => {
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(families.find((f) => f.name === name)!.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))!.value);
    expect(value('recsvc_serving_answer_cache_misses_total')).toBe(1);
    expect(value('recsvc_serving_answer_cache_hits_total')).toBe(1);
    expect(value('recsvc_ingest_records_total', { kind: 'feedback', outcome: 'accepted' })).toBe(2);
    expect(value('recsvc_jobs_failures_total', { type: 'train' })).toBe(0);
  });

  it('When lists are served, Then each slot is counted under the source that put its item there', () => {
    const slots = families.find((f) => f.name === 'recsvc_serving_list_slots_total')!.metrics.filter((s) => s.labels?.kind === 'user');
    const expected = new Map<string, number>();
    for (const s of served) expected.set(s, (expected.get(s) ?? 0) + 1);
    expect(new Map(slots.map((s) => [s.labels!.source, Number(s.value)]))).toEqual(expected);
  });

  it('When a training job succeeded, Then its duration is observed under its type and outcome', async () => {
    // Read through prom-client's API: the text parser folds the series of a labelled histogram into one.
    const jobs = (await t.services.metrics.jobDuration.get()).values;
    const count = (status: string) => jobs.find((v) => v.metricName === 'recsvc_jobs_duration_seconds_count' && v.labels.type === 'train' && v.labels.status === status)?.value;
    expect([count('succeeded'), count('failed')]).toEqual([1, 0]);
  });

  it('When a training was cut off by its process stopping, Then the next runner to sweep counts it as a failed job', async () => {
    const failures = async () => (await t.services.metrics.jobFailures.get()).values.find((v) => v.labels.type === 'train')?.value;
    const before = await failures();
    // A job held by a process of this host that is gone (a SIGTERM past its grace period, the OOM killer).
    const job = await t.services.jobs.enqueue('train', {});
    expect(await t.services.jobs.claimNext(['train'], `${hostname()}:2147483646:gone`)).toMatchObject({ id: job.id });
    const runner = createJobRunner({ ...t.services.jobRunnerOptions, handlers: {}, mode: 'worker' });
    await runner.start();
    await runner.stop();
    expect(await t.services.jobs.get(job.id)).toMatchObject({ status: 'failed' });
    expect(await failures()).toBe((before ?? 0) + 1);
  });

  it('When a runner loses its job to another runner\'s sweep, Then the failure is counted once, by the runner that declared it', async () => {
    const failures = async () => (await t.services.metrics.jobFailures.get()).values.find((v) => v.labels.type === 'train')?.value ?? 0;
    const before = await failures();
    // Holder A: a step that outlasts its heartbeat, then reports progress (and finds the job taken).
    const holder = createJobRunner({
      ...t.services.jobRunnerOptions,
      mode: 'worker',
      pollMs: 20,
      heartbeatMs: 60_000,
      handlers: { train: async (_p, ctx) => (await new Promise((r) => setTimeout(r, 800)), await ctx.progress(0.5, 'fit'), {}) },
    });
    // Sweeper B (an API replica): the holder's heartbeat is stale after 300 ms.
    const sweeper = createJobRunner({ ...t.services.jobRunnerOptions, handlers: {}, mode: 'worker', staleAfterMs: 300, sweepMs: 50, pollMs: 50 });
    const job = await t.services.jobs.enqueue('train', {});
    await holder.start();
    await sweeper.start();
    for (let waited = 0; (await t.services.jobs.get(job.id))!.status !== 'failed' && waited < 5_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    // The holder's own failure path has run once its progress write was refused.
    await new Promise((r) => setTimeout(r, 1_000));
    await holder.stop();
    await sweeper.stop();
    expect(await t.services.jobs.get(job.id)).toMatchObject({ status: 'failed' });
    expect(await failures()).toBe(before + 1);
  });
});
