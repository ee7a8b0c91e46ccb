import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteTestDb } from '../../helpers/services.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';

const STATIC = path.resolve('src/http/static/dashboard');

describe('the operations dashboard', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
  });
  afterAll(() => t.dispose());

  it('When opened, Then it is an HTML page that holds no data and loads its scripts and the chart library from this origin', async () => {
    const res = await t.app.inject({ url: '/dashboard' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const sources = [...res.body.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual(expect.arrayContaining(['/dashboard/vendor/chart.umd.min.js', '/dashboard/app.js', '/dashboard/dashboard.css']));
    for (const src of sources) {
      expect(src.startsWith('/dashboard/'), src).toBe(true);
      const asset = await t.app.inject({ url: src });
      expect(asset.statusCode, src).toBe(200);
    }
    const chart = await t.app.inject({ url: '/dashboard/vendor/chart.umd.min.js' });
    expect(chart.headers['content-type']).toMatch(/javascript/);
    // The library is the installed package's file, not a copy kept in src.
    expect(chart.body).toBe(readFileSync(path.resolve('node_modules/chart.js/dist/chart.umd.min.js'), 'utf8'));
    // A reload revalidates: unchanged files are answered 304 without a body.
    const again = await t.app.inject({ url: '/dashboard/vendor/chart.umd.min.js', headers: { 'if-none-match': String(chart.headers.etag) } });
    expect([again.statusCode, again.body]).toEqual([304, '']);
  });

  it('When a script names an API path, Then a route serves it and refuses callers without a key', async () => {
    const files = readdirSync(STATIC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    const paths = new Set<string>();
    for (const f of files) {
      for (const m of readFileSync(path.join(STATIC, f), 'utf8').matchAll(/[`'](\/v1\/[a-z/-]+)/g)) paths.add(m[1]);
    }
    expect([...paths]).toEqual(expect.arrayContaining(['/v1/overview', '/v1/models', '/v1/training-jobs', '/v1/evaluations/history', '/v1/segments/lifecycle-history', '/v1/metrics/online/daily']));
    for (const p of paths) {
      // `/v1/users/` is followed by an id in the script: some route continues it with a parameter.
      const pattern = (url: string) => new RegExp(`^${url.replace(/:[^/]+/g, '[^/]+')}$`);
      const routes = t.app.routeScopes.filter((r) => (p.endsWith('/') ? r.url.startsWith(p) && r.url[p.length] === ':' : pattern(r.url).test(p)));
      expect(routes.length, p).toBeGreaterThan(0);
      expect(routes.every((r) => r.scope !== null), p).toBe(true);
      if (!p.endsWith('/')) expect((await t.app.inject({ url: p })).statusCode, p).toBe(401);
    }
  });

  it('When a file outside the page is asked for, Then it is not found', async () => {
    for (const url of ['/dashboard/../app.ts', '/dashboard/%2e%2e/routes/dashboard.ts', '/dashboard/nope.js', '/dashboard/vendor/chart.js']) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code, url).toMatch(/NOT_FOUND/);
    }
  });
});
