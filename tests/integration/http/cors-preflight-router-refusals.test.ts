import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;
const SHOP = 'https://shop.example';
const FRONTEND = 'frontend-key-123456';
const PREFLIGHT = { origin: SHOP, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' };

/** An answer's headers without those that differ on every answer. */
const stable = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !['date', 'x-request-id', 'connection', 'keep-alive'].includes(name)));

/** One request head written on a socket at once, as a browser does; the raw answer. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** The header lines of a raw answer, names in lower case. */
const rawHeaders = (answer: string) =>
  Object.fromEntries(
    answer
      .split('\r\n\r\n')[0]
      .split('\r\n')
      .slice(1)
      .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );

/**
 * README: the router's refusals (414, and 400 for a URL that does not percent-decode) "carry the CORS
 * headers themselves", so a storefront script reads the refusal instead of a network error. But every
 * storefront call sends its key in a header, so the browser first sends a preflight OPTIONS to the same
 * URL, and only a 2xx preflight lets it send the request at all: a preflight the router refuses (400 with
 * no Access-Control-Allow-Methods/Headers) makes the call a network error, its 400 never read.
 * An item id with a bare `%` ("50%off") that a page put in the path unencoded is such a URL.
 */
describe("a storefront's preflight for a URL the router refuses", () => {
  let t: TestApp;
  let pluginPreflight: Record<string, unknown>;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { CORS_ORIGINS: SHOP, API_KEYS: `frontend:${FRONTEND}` } });
    // What the CORS plugin answers a preflight for a URL the router takes.
    const answer = await t.app.inject({ method: 'OPTIONS', url: '/v1/items/sku-1/similar', headers: PREFLIGHT });
    expect(answer.statusCode).toBe(204);
    pluginPreflight = stable(answer.headers);
  });
  afterAll(() => t?.dispose());

  it.each([
    ['does not percent-decode', '/v1/items/50%off/similar', 400],
    ['has a path parameter over the router limit', `/v1/items/${'x'.repeat(600)}/similar`, 414],
  ])('When a listed origin preflights a URL that %s, Then the preflight gets the CORS answer, so the browser sends the request and its script reads the refusal', async (_what, url, status) => {
    const preflight = await t.app.inject({ method: 'OPTIONS', url, headers: PREFLIGHT });
    // What a browser needs of a preflight (Fetch standard, CORS-preflight fetch): an ok status, the origin, the method and the header allowed...
    expect(preflight.statusCode, preflight.body).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('GET');
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('x-api-key');
    // ...which is the CORS plugin's own answer, header for header.
    expect(stable(preflight.headers)).toEqual(pluginPreflight);
    // The request itself is then the readable refusal README describes.
    const get = await t.app.inject({ url, headers: { origin: SHOP, 'x-api-key': FRONTEND } });
    expect(get.statusCode).toBe(status);
    expect(get.headers['access-control-allow-origin']).toBe(SHOP);
    // Another origin is allowed nothing.
    const elsewhere = await t.app.inject({ method: 'OPTIONS', url, headers: { ...PREFLIGHT, origin: 'https://evil.example' } });
    expect(elsewhere.headers['access-control-allow-origin']).toBeUndefined();
  });

  it("When a listed origin preflights a URL over the HTTP parser's 16 KB, Then the preflight gets the CORS answer, and the request the 431 it can read", async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as net.AddressInfo).port;
    const url = `/v1/items/sku-1/similar?exclude=${'x'.repeat(20 * 1024)}`;
    const preflight = await rawRequest(port, `OPTIONS ${url} HTTP/1.1\r\nHost: x\r\nOrigin: ${SHOP}\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-api-key\r\n\r\n`);
    expect(preflight).toMatch(/^HTTP\/1\.1 204 /);
    expect(stable(rawHeaders(preflight))).toEqual(pluginPreflight);
    const get = await rawRequest(port, `GET ${url} HTTP/1.1\r\nHost: x\r\nOrigin: ${SHOP}\r\nX-API-Key: ${FRONTEND}\r\n\r\n`);
    expect(get).toMatch(/^HTTP\/1\.1 431 /);
    expect(rawHeaders(get)['access-control-allow-origin']).toBe(SHOP);
    // Not for another origin, nor for an OPTIONS that is no preflight.
    const elsewhere = await rawRequest(port, `OPTIONS ${url} HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\n\r\n`);
    expect(elsewhere).toMatch(/^HTTP\/1\.1 431 /);
    expect(elsewhere).not.toMatch(/access-control-allow/i);
    const notPreflight = await rawRequest(port, `OPTIONS ${url} HTTP/1.1\r\nHost: x\r\nOrigin: ${SHOP}\r\n\r\n`);
    expect(notPreflight).toMatch(/^HTTP\/1\.1 431 /);
    expect(notPreflight).not.toMatch(/access-control-allow-methods/i);
  });
});
