import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteTestDb } from '../../helpers/services.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';

describe('Prometheus metrics', () => {
  const count = async (route: string) => {
    const body = (await t.app.inject({ url: '/metrics' })).body;
    const line = body.split('\n').find((l) => l.startsWith(`recsvc_http_request_duration_seconds_count{method="GET",route="${route}",status="200"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
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

  it('When a URL matches no route, Then it is counted as route "unmatched" (never by its path)', async () => {
    await t.app.inject({ url: '/v1/no-such-route/secret-path-7' });
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.body).toMatch(/recsvc_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
    expect(res.body).not.toContain('secret-path-7');
  });

  it('When the API description is read, Then its route is timed like any other', async () => {
    const before = await count('/docs/json');
    expect((await t.app.inject({ url: '/docs/json' })).statusCode).toBe(200);
    expect(await count('/docs/json')).toBe(before + 1);
  });

  it('When a route answers several requests, Then each is counted once under its template', async () => {
    const before = await count('/health/live');
    await t.app.inject({ url: '/health/live' });
    await t.app.inject({ url: '/health/live' });
    expect(await count('/health/live')).toBe(before + 2);
  });
});
