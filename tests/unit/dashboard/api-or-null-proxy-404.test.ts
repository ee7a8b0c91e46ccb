/**
 * apiOrNull (src/http/static/dashboard/api.js) reads the service's 404 as "not there" (a customer without a
 * profile, a report not yet written). A 404 that is not the service's JSON is a proxy's page (a path the proxy
 * does not route to the service): before 8f7b04c it failed the call (as a parse error); since, api() throws it
 * as an ApiError with status 404, and apiOrNull turns it into null, so the dashboard says "no profile" for a
 * service it never reached.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const storage = new Map<string, string>();
Object.assign(globalThis, {
  sessionStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => storage.set(k, v), removeItem: (k: string) => storage.delete(k) },
});
interface DashboardApi {
  apiOrNull: (path: string) => Promise<unknown>;
}
const API_JS = '../../../src/http/static/dashboard/api.js';
const { apiOrNull } = (await import(API_JS)) as DashboardApi;

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/proxy-404') {
      res.writeHead(404, 'Not Found', { 'content-type': 'text/html' });
      return res.end('<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>');
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'No profile for this customer' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('apiOrNull and a 404 that is not the service', () => {
  it("When the service answers its own 404, Then apiOrNull gives null", async () => {
    expect(await apiOrNull(`${base}/service-404`)).toBeNull();
  });

  it("When a proxy answers 404 with its HTML page, Then apiOrNull fails saying the answer is not the service's, instead of null", async () => {
    await expect(apiOrNull(`${base}/proxy-404`)).rejects.toMatchObject({ code: 'NOT_THE_SERVICE' });
  });
});
