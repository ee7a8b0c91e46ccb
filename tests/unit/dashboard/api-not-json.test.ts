/**
 * The dashboard's API calls (src/http/static/dashboard/api.js) against a real HTTP server that answers as a
 * proxy in front of the service does when the service is away: an HTML error page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const storage = new Map<string, string>();
// The page keeps the admin key in sessionStorage: the browser's, given here as a plain map.
Object.assign(globalThis, {
  sessionStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => storage.set(k, v), removeItem: (k: string) => storage.delete(k) },
});
/** What the test uses of the page's module (plain JavaScript, served as is: it has no types). */
interface DashboardApi {
  api: (path: string) => Promise<unknown>;
  apiOrNull: (path: string) => Promise<unknown>;
  ApiError: new (...args: unknown[]) => Error;
  retryable: (err: unknown) => boolean;
}
const API_JS = '../../../src/http/static/dashboard/api.js';
const { api, apiOrNull, ApiError, retryable } = (await import(API_JS)) as DashboardApi;

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/gateway') {
      res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' });
      return res.end('<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>');
    }
    if (req.url === '/proxy-404') {
      res.writeHead(404, 'Not Found', { 'content-type': 'text/html' });
      return res.end('<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>');
    }
    if (req.url === '/service-404') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'No profile for this customer' } }));
    }
    if (req.url === '/portal') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end('<html>sign in to the network</html>');
    }
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7' });
    res.end(JSON.stringify({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'Redis did not answer' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('the dashboard API client', () => {
  it("When a proxy answers 502 with an HTML page, Then the error names the status and says the answer is not the service's, not a JSON parse error", async () => {
    const err = await api(`${base}/gateway`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 502, code: 'NOT_THE_SERVICE', message: expect.stringMatching(/^HTTP 502 Bad Gateway: the answer is not the service's JSON \(text\/html\)/) });
    expect(retryable(err)).toBe(true);
  });

  it('When a 200 answer is not JSON (a captive portal), Then the call fails saying so instead of returning garbage', async () => {
    await expect(api(`${base}/portal`)).rejects.toMatchObject({ status: 200, code: 'NOT_THE_SERVICE' });
  });

  it("When the service itself answers an error, Then its own code, message and Retry-After are kept", async () => {
    await expect(api(`${base}/service`)).rejects.toMatchObject({ status: 503, code: 'DEPENDENCY_UNAVAILABLE', message: 'Redis did not answer', retryAfter: 7 });
  });
});

describe('apiOrNull and a 404 that is not the service', () => {
  // apiOrNull reads the service's 404 as "not there" (a customer without a profile, a report not yet written); a
  // proxy's 404 page (a path it does not route to the service) must not read as that.
  it("When the service answers its own 404, Then apiOrNull gives null", async () => {
    expect(await apiOrNull(`${base}/service-404`)).toBeNull();
  });

  it("When a proxy answers 404 with its HTML page, Then apiOrNull fails saying the answer is not the service's, instead of null", async () => {
    await expect(apiOrNull(`${base}/proxy-404`)).rejects.toMatchObject({ code: 'NOT_THE_SERVICE' });
  });
});
