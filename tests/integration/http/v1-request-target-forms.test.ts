import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { rawRequest, headerOf } from '../../helpers/raw-http.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/**
 * The router serves `/v1` routes for request targets that do not start with the literal `/v1/`: the
 * absolute form (`GET http://host/v1/...`, which HTTP/1.1 servers must accept, RFC 9112 3.2.2, and which
 * forward proxies and some caches pass on) and percent-encoded unreserved characters (`/%76%31/...` is
 * `/v1/...`, RFC 3986 6.2.2.2; caches may normalise it to the same key). Whatever the form, the answer is
 * the same route's and must carry what every /v1 answer carries.
 */
describe('a /v1 route reached through another form of its URL', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp({ createDb });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(() => t?.dispose());

  it("When a customer's recommendations are asked with an absolute-form or percent-encoded path, Then the answer still says Cache-Control: no-store", async () => {
    for (const target of ['http://127.0.0.1/v1/users/u1/recommendations', '/%76%31/users/u1/recommendations', '/%761/popular']) {
      const answer = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.read}\r\nConnection: close\r\n\r\n`);
      // The route answered (the same list as /v1/...)...
      expect(answer.startsWith('HTTP/1.1 200'), `${target}: ${answer.slice(0, 80)}`).toBe(true);
      // ...so no shared cache may keep it for the next visitor, as README promises of every /v1 answer.
      expect(headerOf(answer, 'cache-control'), target).toBe('no-store');
    }
  });

  it('When a route that takes no query parameters is sent some through a percent-encoded path, Then 400 names them as on /v1/...', async () => {
    const plain = await t.app.inject({ method: 'POST', url: '/v1/recommendations?k=2', headers: auth('read'), payload: { items: [] } });
    expect(plain.statusCode).toBe(400);
    const encoded = await t.app.inject({ method: 'POST', url: '/%761/recommendations?k=2', headers: auth('read'), payload: { items: [] } });
    expect(encoded.statusCode).toBe(400);
    expect(encoded.json().error.details).toEqual([{ path: 'querystring.k', message: 'not a parameter of this route' }]);
  });
});
