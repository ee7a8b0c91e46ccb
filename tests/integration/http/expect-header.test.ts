import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { rawRequest, headerOf } from '../../helpers/raw-http.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/**
 * README: "Every response carries X-Request-Id" and errors outside routes are "in the same shape"
 * `{ "error": { "code", "message" } }`. A request whose Expect header is not 100-continue is answered by
 * Node's HTTP server itself (417, no body, no request id, no log line) unless the app handles it.
 */
describe('a request with an Expect header the server does not meet', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp({ createDb });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(() => t?.dispose());

  it('When a client sends Expect: other than 100-continue, Then the answer carries X-Request-Id and, as a refusal, the error shape', async () => {
    const body = '{"events":[]}';
    const answer = await rawRequest(
      port,
      `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.write}\r\nContent-Type: application/json\r\nExpect: 200-ok\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    const status = Number(answer.slice(9, 12));
    expect(headerOf(answer, 'x-request-id'), answer.slice(0, 200)).toBeTruthy();
    if (status >= 400) {
      expect(headerOf(answer, 'content-type'), answer.slice(0, 200)).toMatch(/^application\/json/);
      const json = JSON.parse(answer.split('\r\n\r\n').slice(1).join('\r\n\r\n')) as { error?: { code?: unknown; message?: unknown } };
      expect(typeof json.error?.code).toBe('string');
      expect(typeof json.error?.message).toBe('string');
    }
  });

  it('When the 417 is answered, Then it is EXPECTATION_FAILED with the caller\'s request id, the security headers, an allowed origin\'s CORS headers and a log line, and the server goes on', async () => {
    const lines: { reqId?: string; status?: number; url?: string; msg?: string }[] = [];
    const origin = 'https://shop.example';
    const c = await createTestApp({
      createDb,
      env: { CORS_ORIGINS: origin },
      appOptions: { logger: { level: 'info', stream: { write: (line) => void lines.push(JSON.parse(line)) } } },
    });
    try {
      await c.app.listen({ port: 0, host: '127.0.0.1' });
      const p = (c.app.server.address() as net.AddressInfo).port;
      const answer = await rawRequest(
        p,
        `PUT /v1/users/u1?token=secret HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${origin}\r\nX-Request-Id: trace-417\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 417 /);
      expect(headerOf(answer, 'x-request-id')).toBe('trace-417');
      expect(headerOf(answer, 'x-content-type-options')).toBe('nosniff');
      expect(headerOf(answer, 'content-security-policy')).toContain("default-src 'none'");
      expect(headerOf(answer, 'access-control-allow-origin')).toBe(origin);
      expect(headerOf(answer, 'cache-control')).toBe('no-store');
      const json = JSON.parse(answer.split('\r\n\r\n').slice(1).join('\r\n\r\n'));
      expect(json.error.code).toBe('EXPECTATION_FAILED');
      expect(json.error.message).toContain('200-ok');
      const line = lines.find((l) => l.reqId === 'trace-417');
      expect(line).toMatchObject({ status: 417, msg: 'request', url: '/v1/users/u1?token=[redacted]' });
      // 100-continue is still met (Node's interim 100, then the answer), and the server goes on answering.
      const ok = await rawRequest(p, 'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
      expect(ok).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    } finally {
      await c.dispose();
    }
  });
});
