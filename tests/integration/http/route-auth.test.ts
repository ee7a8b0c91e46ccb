import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../../src/config.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { fillPath, specRoutes, type SpecRoute } from '../../helpers/spec-routes.js';

/**
 * Every route of the generated OpenAPI document, checked for authentication and scope. The scope a
 * route needs is read from the document, which takes it from the route's own `config.scope`: adding a
 * route or a scope needs no change here.
 */
const keyOf = (scope: string) => `${scope}-key-for-route-auth-test`;
const rank = (scope: string) => SCOPES.indexOf(scope as (typeof SCOPES)[number]);

/** Routes outside /v1 that need no key (operations: probes, scrapes, the API description, the dashboard shell). */
const OPEN = ['/health/live', '/health/ready', '/health/serving', '/metrics', '/docs', '/docs/json', '/dashboard'];

function expectError(res: { statusCode: number; json: () => unknown }, status: number, code: string, what: string) {
  expect(res.statusCode, what).toBe(status);
  const body = res.json() as { error?: { code?: unknown; message?: unknown } };
  expect(body.error?.code, what).toBe(code);
  expect(typeof body.error?.message, what).toBe('string');
}

describe('auth on every route of the spec', () => {
  let t: TestApp;
  let routes: SpecRoute[] = [];

  beforeAll(async () => {
    const usePostgres = await serviceAvailable(POSTGRES_URL);
    t = await createTestApp({
      createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb,
      // Accepted jobs (a training submitted with the right scope) stay queued instead of running.
      env: { JOB_RUNNER: 'worker', API_KEYS: SCOPES.map((s) => `${s}:${keyOf(s)}`).join(',') },
    });
    routes = (await specRoutes()).routes;
  });
  afterAll(() => t?.dispose());

  const call = (route: SpecRoute, headers: Record<string, string>) =>
    t.app.inject({ method: route.method, url: fillPath(route.path, () => 'route-auth-x'), headers });

  it('When the spec lists its operations, Then every /v1 route needs a known scope and only operations routes are public', () => {
    expect(routes.length).toBeGreaterThan(25);
    expect(routes.filter((r) => r.path.startsWith('/v1/') && !(r.scope && rank(r.scope) >= 0)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(routes.filter((r) => !r.scope).every((r) => OPEN.includes(r.path))).toBe(true);
  });

  it('When a scoped route is called without a key or with an unknown key, Then it answers 401 in the error shape', async () => {
    for (const route of routes.filter((r) => r.scope)) {
      expectError(await call(route, {}), 401, 'UNAUTHORIZED', `${route.method} ${route.path} without a key`);
      expectError(await call(route, { authorization: 'Bearer not-a-configured-key' }), 401, 'UNAUTHORIZED', `${route.method} ${route.path} with a bad key`);
      expectError(await call(route, { 'x-api-key': 'not-a-configured-key' }), 401, 'UNAUTHORIZED', `${route.method} ${route.path} with a bad X-API-Key`);
    }
  });

  it('When a 401 is answered, Then it names the scheme a key is sent in (WWW-Authenticate, RFC 9110), and says when the key given is not valid', async () => {
    const route = routes.find((r) => r.scope && r.method === 'GET')!;
    expect((await call(route, {})).headers['www-authenticate']).toBe('Bearer realm="recsvc"');
    expect((await call(route, { 'x-api-key': 'not-a-configured-key' })).headers['www-authenticate']).toBe('Bearer realm="recsvc", error="invalid_token"');
    // Not on a key that is valid but lacks the scope (403).
    expect((await call(routes.find((r) => r.scope === 'admin' && r.method === 'GET')!, { 'x-api-key': keyOf('read') })).headers['www-authenticate']).toBeUndefined();
  });

  it('When a scoped route is called with each lower scope, Then it answers 403; with its own scope, Then auth lets it through', async () => {
    let forbidden = 0;
    for (const route of routes.filter((r) => r.scope)) {
      const needed = rank(route.scope!);
      for (const lower of SCOPES.filter((s) => rank(s) < needed)) {
        expectError(await call(route, { authorization: `Bearer ${keyOf(lower)}` }), 403, 'FORBIDDEN', `${route.method} ${route.path} with scope ${lower}`);
        forbidden++;
      }
      // With its own scope the request reaches the route (which may still reject the made-up id or the missing body).
      const res = await call(route, { 'x-api-key': keyOf(route.scope!) });
      expect([401, 403], `${route.method} ${route.path} with scope ${route.scope}: ${res.body}`).not.toContain(res.statusCode);
      expect(res.statusCode, `${route.method} ${route.path} with scope ${route.scope}: ${res.body}`).toBeLessThan(500);
    }
    // read < write < admin at least: the write and admin routes were each tried with a lower key.
    expect(forbidden).toBeGreaterThan(routes.length / 2);
  });

  it('When the bearer scheme is written in another case, Then the key is accepted (RFC 7235: schemes are case-insensitive)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await t.app.inject({ url: '/v1/popular', headers: { authorization: `${scheme} ${keyOf('frontend')}` } });
      expect(res.statusCode, `${scheme}: ${res.body}`).toBe(200);
    }
    expectError(await t.app.inject({ url: '/v1/popular', headers: { authorization: `Basic ${keyOf('frontend')}` } }), 401, 'UNAUTHORIZED', 'another scheme');
  });

  it('When operations routes are called without a key, Then they answer', async () => {
    for (const url of OPEN) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBeLessThan(400);
    }
    expect((await t.app.inject({ url: '/docs/json' })).json().openapi).toBe('3.1.0');
  });
});
