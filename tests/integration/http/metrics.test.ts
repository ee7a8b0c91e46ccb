import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteTestDb } from '../../helpers/services.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';

describe('Prometheus metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
  });
  afterAll(() => t.dispose());

  it('When requests are served, Then /metrics reports latency by route template and status, never by id', async () => {
    await t.app.inject({ url: '/v1/items/secret-item-42', headers: auth('read') });
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toMatch(/recsvc_http_request_duration_seconds_count\{method="GET",route="\/v1\/items\/:id",status="404"\} 1/);
    expect(res.body).not.toContain('secret-item-42');
  });
});
