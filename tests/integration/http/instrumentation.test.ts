import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/** A counter or histogram count of the app's registry, by exact labels (0 when the series is absent). */
async function valueOf(t: TestApp, name: string, labels: Record<string, string>): Promise<number> {
  for (const m of await t.services.metrics.registry.getMetricsAsJSON()) {
    for (const v of m.values) {
      const metricName = (v as { metricName?: string }).metricName ?? m.name;
      if (metricName === name && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)) return v.value;
    }
  }
  return 0;
}

describe('store, database and ingestion instruments', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
  });
  afterAll(() => t.dispose());

  it('When a Postgres call fails, Then it is timed and counted as an error of its kind of statement', async () => {
    const [errors, calls] = [await valueOf(t, 'recsvc_db_errors_total', { statement: 'select' }), await valueOf(t, 'recsvc_db_query_duration_seconds_count', { statement: 'select' })];
    await expect(t.services.db.query('SELECT * FROM no_such_table')).rejects.toThrow();
    expect(await valueOf(t, 'recsvc_db_errors_total', { statement: 'select' })).toBe(errors + 1);
    expect(await valueOf(t, 'recsvc_db_query_duration_seconds_count', { statement: 'select' })).toBe(calls + 1);
  });

  it('When a model-store call fails, Then it is counted as an error of its operation, and the others are not', async () => {
    await t.services.store.publish({ version: 'pub-1', recipe: 'r', trainedAt: new Date().toISOString(), info: {} });
    await expect(t.services.store.putArtifact('pub-1', 'late', new Uint8Array(1))).rejects.toThrow();
    expect(await valueOf(t, 'recsvc_store_errors_total', { operation: 'putArtifact' })).toBe(1);
    expect(await valueOf(t, 'recsvc_store_errors_total', { operation: 'publish' })).toBe(0);
    expect(await valueOf(t, 'recsvc_store_operation_duration_seconds_count', { operation: 'publish' })).toBe(1);
    // The in-process peek of live events is still offered through the instrumented store.
    expect(typeof t.services.store.peekUserEvents).toBe('function');
  });

  it('When a batch is rejected as bad input, Then its records count as rejected; a good one as accepted; a refused key counts nothing', async () => {
    const ts = '2024-01-01T00:00:00Z';
    const good = { events: [{ userId: 'u1', itemId: 'i1', quantity: 1, ts }, { userId: 'u1', itemId: 'i2', quantity: 1, ts }] };
    const bad = { events: [{ userId: 'u1', itemId: 'i1', quantity: -1, ts }, { userId: 'u1', itemId: 'i2', quantity: 1, ts }, { userId: 'u2', itemId: 'i3', quantity: 1, ts }] };
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: good })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: bad })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('read'), payload: good })).statusCode).toBe(403);
    expect(await valueOf(t, 'recsvc_ingest_records_total', { kind: 'events', outcome: 'accepted' })).toBe(2);
    expect(await valueOf(t, 'recsvc_ingest_records_total', { kind: 'events', outcome: 'rejected' })).toBe(3);
  });
});
