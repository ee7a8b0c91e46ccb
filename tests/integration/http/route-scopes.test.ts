import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES, type Scope } from '../../../src/config.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

const KEYS: Record<Scope, string> = {
  frontend: 'frontend-key-123456',
  read: 'read-key-123456',
  write: 'write-key-123456',
  admin: 'admin-key-123456',
};

/**
 * The intended minimum scope of every route (HEAD follows its GET). A route the app has but this table
 * lacks fails the first test: a new route needs a decision here. A browser holds a `frontend` key.
 */
const MINIMUM: Record<string, Scope | null> = {
  'GET /v1/users/:id/recommendations': 'frontend',
  'POST /v1/recommendations': 'frontend',
  'GET /v1/items/:id/similar': 'frontend',
  'GET /v1/items/:id/bought-together': 'frontend',
  'GET /v1/popular': 'frontend',
  'POST /v1/feedback': 'frontend',
  'GET /v1/items/:id': 'read',
  'GET /v1/users': 'admin',
  'GET /v1/users/:id': 'read',
  'GET /v1/users/:id/events': 'read',
  'GET /v1/users/:id/profile': 'read',
  'PUT /v1/items/:id': 'write',
  'POST /v1/items/batch': 'write',
  'PUT /v1/users/:id': 'write',
  'POST /v1/events': 'write',
  'POST /v1/returns': 'write',
  'DELETE /v1/users/:id': 'admin',
  'POST /v1/imports': 'admin',
  'GET /v1/imports': 'admin',
  'GET /v1/imports/:id': 'admin',
  'GET /v1/items/:id/audience': 'admin',
  'POST /v1/audiences': 'admin',
  'POST /v1/exports': 'admin',
  'GET /v1/exports': 'admin',
  'GET /v1/exports/:id': 'admin',
  'GET /v1/exports/:id/file': 'admin',
  'POST /v1/factor-imports': 'admin',
  'GET /v1/factor-imports': 'admin',
  'GET /v1/factor-imports/:id': 'admin',
  'POST /v1/training-jobs': 'admin',
  'GET /v1/training-jobs': 'admin',
  'GET /v1/training-jobs/:id': 'admin',
  'POST /v1/evaluations': 'admin',
  'GET /v1/evaluations': 'admin',
  'GET /v1/evaluations/:id': 'admin',
  'GET /v1/evaluations/history': 'admin',
  'GET /v1/overview': 'admin',
  'GET /v1/segments/lifecycle-history': 'admin',
  'GET /v1/metrics/online/daily': 'admin',
  'GET /v1/models': 'admin',
  'POST /v1/models/:version/activate': 'admin',
  'GET /v1/segments': 'admin',
  'GET /v1/segments/:name/users': 'admin',
  'GET /v1/metrics/online': 'admin',
  'POST /v1/experiments': 'admin',
  'GET /v1/experiments': 'admin',
  'GET /v1/experiments/:id': 'admin',
  'POST /v1/experiments/:id/start': 'admin',
  'POST /v1/experiments/:id/stop': 'admin',
  'GET /health/live': null,
  'GET /health/ready': null,
  'GET /health/serving': null,
  'GET /metrics': null,
  'GET /dashboard': null,
  'GET /dashboard/*': null,
};
const routeKey = (method: string, url: string) => `${method === 'HEAD' ? 'GET' : method} ${url}`;
// Documentation routes (the UI's static files and the spec) are public whatever their paths are.
const isDocs = (url: string) => url === '/docs' || url.startsWith('/docs/');

describe('the scope every route needs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      createDb: createPgliteTestDb,
      // Jobs are only queued here: no job runs while the test asks.
      env: { API_KEYS: SCOPES.map((s) => `${s}:${KEYS[s]}`).join(','), JOB_RUNNER: 'worker' },
    });
  });
  afterAll(() => t.dispose());

  const send = (method: string, url: string, key?: string) =>
    t.app.inject({
      method: method as 'GET',
      url: url.replace(':id', 'x').replace(':version', 'v1').replace(':name', 'champions').replace('/docs/static/*', '/docs/static/index.html').replace('/dashboard/*', '/dashboard/app.js'),
      headers: key ? { authorization: `Bearer ${key}` } : {},
      ...(['POST', 'PUT'].includes(method) ? { payload: {} } : {}),
    });

  it('When the app is built, Then every route it registers has the intended scope, and every intended route exists', () => {
    const routes = t.app.routeScopes.filter((r) => !isDocs(r.url));
    const actual = Object.fromEntries(routes.map((r) => [routeKey(r.method, r.url), r.scope]));
    expect(actual).toEqual(MINIMUM);
    for (const r of t.app.routeScopes.filter((r) => isDocs(r.url))) expect(r.scope).toBeNull();
  });

  it('When each route is called with no key, a wrong key, each lower scope and each sufficient scope, Then only sufficient keys pass', async () => {
    expect(t.app.routeScopes.length).toBeGreaterThan(Object.keys(MINIMUM).length);
    for (const { method, url, scope } of t.app.routeScopes) {
      const label = `${method} ${url}`;
      if (scope === null) {
        expect([401, 403], label).not.toContain((await send(method, url)).statusCode);
        continue;
      }
      expect((await send(method, url)).statusCode, `${label} without a key`).toBe(401);
      expect((await send(method, url, 'not-a-key-123456')).statusCode, `${label} with a wrong key`).toBe(401);
      for (const held of SCOPES) {
        const res = await send(method, url, KEYS[held]);
        if (SCOPES.indexOf(held) < SCOPES.indexOf(scope)) {
          expect(res.statusCode, `${label} with a ${held} key`).toBe(403);
          if (method !== 'HEAD') expect(res.json().error.code).toBe('FORBIDDEN');
        } else {
          expect([401, 403], `${label} with a ${held} key`).not.toContain(res.statusCode);
          expect(res.statusCode, `${label} with a ${held} key`).toBeLessThan(500);
        }
      }
    }
  });

  it("When a browser's frontend key asks for a customer's data, Then it is refused, while recommendations answer", async () => {
    for (const path of ['/v1/users/u1', '/v1/users/u1/events', '/v1/users/u1/profile']) {
      expect((await send('GET', path, KEYS.frontend)).statusCode).toBe(403);
    }
    expect((await send('GET', '/v1/users/u1/recommendations', KEYS.frontend)).statusCode).toBe(200);
  });
});
