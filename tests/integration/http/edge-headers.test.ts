import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;
const SHOP = 'https://shop.example';

describe('browser clients: CORS, security headers, compression, request ids', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { CORS_ORIGINS: `${SHOP}, https://m.shop.example` } });
  });
  afterAll(() => t?.dispose());

  const preflight = (origin: string) =>
    t.app.inject({
      method: 'OPTIONS',
      url: '/v1/users/u1/recommendations',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });

  it("When a listed origin sends a preflight, Then 204 allows that origin, the API's methods and the auth header", async () => {
    const res = await preflight(SHOP);
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(res.headers['access-control-allow-methods'])).toContain('GET');
    expect(String(res.headers['access-control-allow-headers'])).toContain('authorization');
    expect(res.headers['access-control-max-age']).toBe('600');
  });

  it('When another origin sends a preflight, Then no allow-origin header (the browser refuses)', async () => {
    const res = await preflight('https://evil.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('When an OPTIONS request is not a full preflight (no Origin, or no Access-Control-Request-Method), Then it is answered as without CORS, in the error shape', async () => {
    const plain = await t.app.inject({ method: 'OPTIONS', url: '/v1/users/u1/recommendations' });
    expect(plain.statusCode).toBe(405);
    expect(plain.headers['content-type']).toMatch(/^application\/json/);
    expect(plain.headers.allow).toBe('GET, HEAD');
    expect(plain.json().error.code).toBe('METHOD_NOT_ALLOWED');
    expect(plain.headers['x-request-id']).toBeDefined();
    const originOnly = await t.app.inject({ method: 'OPTIONS', url: '/v1/users/u1/recommendations', headers: { origin: SHOP } });
    expect(originOnly.statusCode).toBe(405);
    expect(originOnly.json().error.code).toBe('METHOD_NOT_ALLOWED');
    // The listed origin's script may read the error, as any other answer.
    expect(originOnly.headers['access-control-allow-origin']).toBe(SHOP);
    const unknown = await t.app.inject({ method: 'OPTIONS', url: '/v2/nothing', headers: { origin: SHOP } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('ROUTE_NOT_FOUND');
    // A full preflight, even to an unknown path, is still the plugin's 204.
    expect((await preflight(SHOP)).statusCode).toBe(204);
  });

  it('When a listed origin gets an answer or an error, Then it may read it, with the request id exposed', async () => {
    const ok = await t.app.inject({ url: '/v1/popular', headers: { origin: SHOP, ...auth('read') } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(ok.headers['access-control-expose-headers'])).toContain('x-request-id');
    const denied = await t.app.inject({ url: '/v1/popular', headers: { origin: SHOP } });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe(SHOP);
  });

  it('When CORS_ORIGINS is unset, Then no response carries CORS headers', async () => {
    const plain = await createTestApp({ createDb });
    try {
      const res = await plain.app.inject({
        method: 'OPTIONS',
        url: '/v1/popular',
        headers: { origin: SHOP, 'access-control-request-method': 'GET' },
      });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      // No OPTIONS route without CORS: the path exists with GET only.
      expect(res.statusCode).toBe(405);
      expect(res.json().error.code).toBe('METHOD_NOT_ALLOWED');
      const get = await plain.app.inject({ url: '/v1/popular', headers: { origin: SHOP, ...auth('read') } });
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.dispose();
    }
  });

  it('When the API answers JSON, Then helmet headers forbid framing, sniffing and any active content', async () => {
    const res = await t.app.inject({ url: '/v1/popular', headers: auth('read') });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    // Also on errors answered before any route runs (auth, unknown routes).
    for (const url of ['/v1/popular', '/v1/nope']) {
      const err = await t.app.inject({ url });
      expect(err.statusCode).toBeGreaterThanOrEqual(400);
      expect(err.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
      expect(err.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('When a route that takes no query parameters is sent some, Then 400 names them instead of ignoring them', async () => {
    const context = await t.app.inject({ method: 'POST', url: '/v1/recommendations?k=2&foo=bar', headers: auth('read'), payload: { items: [] } });
    expect(context.statusCode).toBe(400);
    expect(context.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'POST /v1/recommendations takes no query parameters; got k, foo' });
    const feedback = await t.app.inject({ method: 'POST', url: '/v1/feedback?debug=1', headers: auth('read'), payload: { events: [] } });
    expect(feedback.statusCode).toBe(400);
    expect(feedback.json().error.details).toEqual([{ path: 'querystring.debug', message: 'not a parameter of this route' }]);
    // Without any, as before; an unknown route stays a 404.
    expect((await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload: { items: [] } })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/nope?x=1', headers: auth('read') })).statusCode).toBe(404);
  });

  it('When a recommendation or any /v1 answer is sent, Then no cache may store it (a personal list, a new recommendationId each time); the pages revalidate', async () => {
    for (const url of ['/v1/popular', '/v1/users/u1/recommendations', '/v1/nope']) {
      const res = await t.app.inject({ url, headers: auth('read') });
      expect(res.headers['cache-control'], url).toBe('no-store');
    }
    const context = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload: { items: [] } });
    expect(context.headers['cache-control']).toBe('no-store');
    expect((await t.app.inject({ url: '/dashboard' })).headers['cache-control']).toBe('no-cache');
  });

  it('When the docs UI and the dashboard are loaded, Then their own policies let their scripts run', async () => {
    const docs = await t.app.inject({ url: '/docs' });
    expect(docs.statusCode).toBe(200);
    const docsCsp = String(docs.headers['content-security-policy']);
    expect(docsCsp).toMatch(/script-src 'self'/);
    expect(docsCsp).not.toMatch(/default-src 'none'/);
    // Served over plain HTTP by a host name, the page must not ask the browser to fetch its scripts over https.
    expect(docsCsp).not.toMatch(/upgrade-insecure-requests/);
    // 'self' is enough: the page loads its scripts from /docs/static and has no inline one.
    const scripts = docs.body.match(/<script[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((s) => !/ src="(\.|\/docs)\/static\//.test(s))).toEqual([]);
    for (const asset of ['/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-initializer.js', '/docs/json']) {
      expect((await t.app.inject({ url: asset })).statusCode, asset).toBe(200);
    }
    // The dashboard runs no inline script or style at all: every script is a file of this origin.
    const dashboard = await t.app.inject({ url: '/dashboard' });
    expect(dashboard.statusCode).toBe(200);
    const dashboardCsp = String(dashboard.headers['content-security-policy']);
    expect(dashboardCsp).toMatch(/script-src 'self'(;|$)/);
    expect(dashboardCsp).toMatch(/style-src 'self'(;|$)/);
    expect(dashboardCsp).toMatch(/frame-ancestors 'none'/);
    expect(dashboardCsp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(dashboard.body).not.toMatch(/<script(?![^>]* src=")[^>]*>|<style|style="/);
  });

  it('When a client accepts br or gzip, Then large answers are compressed (gzip preferred) and small ones are not', async () => {
    expect((await t.app.inject({ url: '/docs/json', headers: { 'accept-encoding': 'br, gzip' } })).headers['content-encoding']).toBe('gzip');
    const spec = await t.app.inject({ url: '/docs/json', headers: { 'accept-encoding': 'br' } });
    expect(spec.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(spec.rawPayload).toString()).openapi).toBe('3.1.0');
    const gz = await t.app.inject({ url: '/docs/json', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString()).openapi).toBe('3.1.0');
    // A recommendation-sized answer (~1.5 KB, under the 16 KB default) goes out plain.
    const small = await t.app.inject({ url: '/v1/items/batch', method: 'POST', headers: { ...auth('write'), 'accept-encoding': 'br, gzip' }, payload: { items: [{ id: 'x', title: 'y'.repeat(900) }] } });
    expect(small.statusCode).toBe(200);
    expect(small.headers['content-encoding']).toBeUndefined();
    const read = await t.app.inject({ url: '/v1/items/x', headers: { ...auth('read'), 'accept-encoding': 'gzip' } });
    expect(read.body.length).toBeGreaterThan(900);
    expect(read.headers['content-encoding']).toBeUndefined();
  });

  it('When a request brings a sane X-Request-Id, Then it is echoed; an unusable one is replaced by a new id', async () => {
    const kept = await t.app.inject({ url: '/v1/popular', headers: { 'x-request-id': 'lb-1234.abcd', ...auth('read') } });
    expect(kept.headers['x-request-id']).toBe('lb-1234.abcd');
    const replaced = await t.app.inject({ url: '/nope', headers: { 'x-request-id': 'x'.repeat(500) } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const fresh = await t.app.inject({ url: '/nope' });
    const fresh2 = await t.app.inject({ url: '/nope' });
    expect(fresh.headers['x-request-id']).not.toBe(fresh2.headers['x-request-id']);
  });

  it('When a path exists but not with the method, Then 405 METHOD_NOT_ALLOWED lists its methods in Allow; unknown paths and missing files stay 404', async () => {
    const patch = await t.app.inject({ method: 'PATCH', url: '/v1/users/u1?x=1', headers: auth('admin') });
    expect(patch.statusCode).toBe(405);
    expect(patch.headers.allow).toBe('GET, HEAD, PUT, DELETE');
    expect(patch.json()).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'PATCH is not allowed on /v1/users/u1; allowed: GET, HEAD, PUT, DELETE' } });
    expect(patch.headers['x-request-id']).toBeDefined();
    const post = await t.app.inject({ method: 'POST', url: '/v1/popular' });
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await t.app.inject({ method: 'PATCH', url: '/v1/nothing-here' })).json().error.code).toBe('ROUTE_NOT_FOUND');
    // The GET route exists and its handler found no file: not a question of method.
    const missing = await t.app.inject({ url: '/docs/static/no-such-file.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers.allow).toBeUndefined();
  });

  it('When the router refuses a URL (a path parameter over its limit, bad percent-encoding), Then the error says so without quoting the URL, with the request id and security headers', async () => {
    const long = await t.app.inject({ url: `/v1/items/${'x'.repeat(5000)}`, headers: { ...auth('read'), 'x-request-id': 'too-long-1', origin: SHOP } });
    expect(long.statusCode).toBe(414);
    expect(long.json()).toEqual({ error: { code: 'URI_TOO_LONG', message: 'A path parameter is longer than 512 characters (ids are at most 256); the URL has 5010' } });
    expect(long.headers['x-request-id']).toBe('too-long-1');
    expect(long.headers['x-content-type-options']).toBe('nosniff');
    // Like every answer of the API, not to be kept by a CDN (a 414 is cacheable by default).
    expect(long.headers['cache-control']).toBe('no-store');
    expect(long.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    // The storefront's script may read it (a bug sending a huge id is then a 414 in its logs, not a CORS error); another origin may not.
    expect(long.headers['access-control-allow-origin']).toBe(SHOP);
    expect(long.headers['access-control-expose-headers']).toContain('x-request-id');
    expect(long.headers.vary).toContain('Origin');
    const elsewhere = await t.app.inject({ url: `/v1/items/${'x'.repeat(5000)}`, headers: { ...auth('read'), origin: 'https://evil.example' } });
    expect(elsewhere.statusCode).toBe(414);
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
    const bad = await t.app.inject({ url: `/v1/items/%E0%A4%A${'y'.repeat(5000)}`, headers: { ...auth('read'), origin: SHOP } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    expect(bad.body).not.toContain('yyy');
    expect(bad.headers['x-request-id']).toBeDefined();
    expect(bad.headers['x-content-type-options']).toBe('nosniff');
    expect(bad.headers['access-control-allow-origin']).toBe(SHOP);
  });

  it('When an unknown route, an unsupported media type or a too-large body comes, Then each is in the error shape', async () => {
    const notFound = await t.app.inject({ url: '/v2/anything' });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json()).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: 'No route GET /v2/anything' } });
    const media = await t.app.inject({ method: 'PUT', url: '/v1/users/u1', headers: { ...auth('write'), 'content-type': 'text/xml' }, payload: '<a/>' });
    expect(media.statusCode).toBe(415);
    expect(media.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    // A browser's fetch with a JSON string body and no header sends text/plain: 415 naming the header, not a
    // validation error about a string.
    for (const contentType of ['text/plain;charset=UTF-8', 'text/plain']) {
      const plain = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: { ...auth('read'), 'content-type': contentType }, payload: '{"items":["a"]}' });
      expect(plain.statusCode, plain.body).toBe(415);
      expect(plain.json().error).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `send the body as JSON with Content-Type: application/json (got ${contentType})` });
    }
    // Without a body there is nothing to refuse: a bodyless POST still works whatever its content type says.
    const stop = await t.app.inject({ method: 'POST', url: '/v1/experiments/no-such-experiment/stop', headers: { ...auth('admin'), 'content-type': 'text/plain;charset=UTF-8' }, payload: '' });
    expect(stop.statusCode, stop.body).toBe(404);
    const huge = await t.app.inject({
      method: 'PUT', url: '/v1/users/u1', headers: { ...auth('write'), 'content-type': 'application/json' }, payload: `{"attributes":{"a":"${'x'.repeat(t.config.BODY_LIMIT_BYTES)}"}}`,
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('request logging', () => {
  /** The app at info level, its log lines parsed into `lines`. */
  async function loggingApp() {
    const lines: Record<string, unknown>[] = [];
    const config = loadConfig({ API_KEYS: `read:${KEYS.read},admin:${KEYS.admin}`, SAMPLE_DATA: 'false', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' });
    const db = await createDb();
    const store = await createMemoryModelStore({});
    const app = await buildApp(createServices({ config, db: db.db, store }), {
      logger: { level: 'info', stream: { write: (line) => void lines.push(JSON.parse(line)) } },
    });
    return {
      app,
      lines,
      async dispose() {
        await app.close();
        await store.close();
        await db.dispose();
      },
    };
  }

  it('When a job is queued, Then a log line ties the request id to the job id', async () => {
    const { app, lines, dispose } = await loggingApp();
    try {
      await app.ready();
      const res = await app.inject({ method: 'POST', url: '/v1/training-jobs', headers: { ...auth('admin'), 'x-request-id': 'train-1' }, payload: { tune: false } });
      expect(res.statusCode, res.body).toBe(202);
      expect(lines.filter((l) => l.msg === 'job queued')).toEqual([expect.objectContaining({ reqId: 'train-1', jobId: res.json().jobId, jobType: 'train' })]);
    } finally {
      await dispose();
    }
  });

  it('When requests are answered at info level, Then each writes exactly one line with method, url, status, time and request id', async () => {
    const { app, lines, dispose } = await loggingApp();
    try {
      await app.ready();
      lines.length = 0;
      await app.inject({ url: '/v1/popular?k=3', headers: { ...auth('read'), 'x-request-id': 'one' } });
      await app.inject({ url: '/v1/popular', headers: { 'x-request-id': 'two' } });
      expect(lines.map((l) => l.reqId)).toEqual(['one', 'two']);
      expect(lines[0]).toMatchObject({ level: 30, msg: 'request', method: 'GET', url: '/v1/popular?k=3', status: 200, ms: expect.any(Number) });
      expect(lines[1]).toMatchObject({ status: 401 });
    } finally {
      await dispose();
    }
  });

  it('When a client puts a key or token in the URL, Then the logged URL has its value redacted and the rest kept', async () => {
    const { app, lines, dispose } = await loggingApp();
    try {
      await app.ready();
      lines.length = 0;
      const key = KEYS.read;
      await app.inject({ url: `/v1/popular?k=3&api_key=${key}&category=a%26b`, headers: { 'x-request-id': 'in-url' } });
      await app.inject({ url: `/v1/users/u1/recommendations?token=abc.def&Access_Token=${key}`, headers: { 'x-request-id': 'tokens' } });
      expect(lines.map((l) => l.url)).toEqual([
        '/v1/popular?k=3&api_key=[redacted]&category=a%26b',
        '/v1/users/u1/recommendations?token=[redacted]&Access_Token=[redacted]',
      ]);
      expect(JSON.stringify(lines)).not.toContain(key);
    } finally {
      await dispose();
    }
  });

  it('When the router refuses a request before any hook (a path parameter over its limit), Then it still writes its one line', async () => {
    const { app, lines, dispose } = await loggingApp();
    try {
      await app.ready();
      lines.length = 0;
      await app.inject({ url: `/v1/items/${'x'.repeat(600)}`, headers: { 'x-request-id': 'long' } });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 30, msg: 'request', reqId: 'long', method: 'GET', status: 414, ms: expect.any(Number) });
    } finally {
      await dispose();
    }
  });

  it('When requests are refused because a store is unreachable, Then one short warn line names the failure, without a stack, not one per request', async () => {
    const { app, lines, dispose } = await loggingApp();
    app.get('/test/store-down', async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    try {
      await app.ready();
      lines.length = 0;
      const res = await app.inject({ url: '/test/store-down', headers: { 'x-request-id': 'down' } });
      expect(res.statusCode).toBe(503);
      const warns = lines.filter((l) => l.level === 40);
      expect(warns).toHaveLength(1);
      expect(warns[0]).toMatchObject({ msg: 'dependency unavailable', reqId: 'down', cause: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' });
      expect(JSON.stringify(warns[0])).not.toContain('stack');
      // The outage goes on: every refusal has its request line, the warning is not repeated.
      for (let i = 0; i < 20; i++) expect((await app.inject({ url: '/test/store-down' })).statusCode).toBe(503);
      expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
      expect(lines.filter((l) => l.msg === 'request' && l.status === 503)).toHaveLength(21);
    } finally {
      await dispose();
    }
  });
});
