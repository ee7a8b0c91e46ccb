import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteTestDb } from '../../helpers/services.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';

describe('the operations dashboard', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
  });
  afterAll(() => t.dispose());

  it('When opened, Then it is an HTML page that holds no data and reads the admin API with a typed key', async () => {
    const res = await t.app.inject({ url: '/dashboard' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    for (const path of ['/v1/models', '/v1/evaluations?limit=5', '/v1/metrics/online?days=30', '/v1/segments', '/activate']) {
      expect(res.body).toContain(path);
    }
    // Every path the page calls exists and refuses callers without the admin scope.
    for (const path of ['/v1/models', '/v1/evaluations?limit=5', '/v1/metrics/online?days=30', '/v1/segments']) {
      expect((await t.app.inject({ url: path })).statusCode).toBe(401);
    }
  });
});
