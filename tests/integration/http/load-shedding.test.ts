import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { auth, KEYS } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** An app like the server's; `extra` may add routes before it is ready. */
async function app(env: Record<string, string>, extra?: (app: FastifyInstance) => void) {
  const config = loadConfig({ API_KEYS: `read:${KEYS.read}`, SAMPLE_DATA: 'false', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
  const db = await createDb();
  const store = await createMemoryModelStore({});
  const built = await buildApp(createServices({ config, db: db.db, store }));
  extra?.(built);
  cleanups.push(() => db.dispose(), () => store.close(), () => built.close());
  return built;
}

/** Raw HTTP/1.1 exchange on one socket: writes `requests` (each written when the previous `gate` resolves) and returns all it read. */
function rawExchange(port: number, first: string) {
  const socket = net.connect({ host: '127.0.0.1', port });
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (received += d));
  const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  socket.write(first);
  return { socket, ended, received: () => received };
}

describe('load shedding and the error shape outside routes', () => {
  it('When the heap is over its limit, Then requests get 503 OVERLOADED with Retry-After, and health and metrics still answer; the storefront probe is shed with the requests', async () => {
    const a = await app({ UNDER_PRESSURE_MAX_HEAP_USED_MB: '1' });
    await a.ready();
    // under-pressure samples memory once a second; wait for the first sample to land.
    let res = await a.inject({ url: '/v1/popular', headers: auth('read') });
    for (let i = 0; i < 60 && res.statusCode !== 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await a.inject({ url: '/v1/popular', headers: auth('read') });
    }
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toEqual({ error: { code: 'OVERLOADED', message: 'The server is overloaded; retry later' } });
    expect((await a.inject({ url: '/health/live' })).statusCode).toBe(200);
    expect((await a.inject({ url: '/metrics' })).statusCode).toBe(200);
    // Told by the route, whatever form its URL takes (`%68` is `h`).
    expect((await a.inject({ url: '/%68ealth/live' })).statusCode).toBe(200);
    // It says whether recommendation requests are answered: not now.
    const serving = await a.inject({ url: '/health/serving' });
    expect(serving.statusCode).toBe(503);
    expect(serving.json().error.code).toBe('OVERLOADED');
    // As the OpenAPI says of its 503 in the error shape (review r1).
    expect(serving.headers['retry-after']).toBe('5');
  });

  it('When a request arrives on an open connection while the server closes, Then 503 SHUTTING_DOWN in the error shape, and the request in flight finishes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inHandler!: () => void;
    const entered = new Promise<void>((r) => (inHandler = r));
    let closing!: () => void;
    const closeBegan = new Promise<void>((r) => (closing = r));
    const a = await app({}, (f) => {
      f.get('/test/slow', async () => {
        inHandler();
        await gate;
        return { done: true };
      });
      f.addHook('preClose', (done) => {
        closing();
        done();
      });
    });
    await a.listen({ port: 0, host: '127.0.0.1' });
    const port = (a.server.address() as net.AddressInfo).port;
    const conn = rawExchange(port, 'GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await entered;
    const closed = a.close();
    await closeBegan;
    conn.socket.write(`GET /v1/popular HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.read}\r\n\r\n`);
    // The second request is answered at once (503) but after the first in the connection's order.
    await new Promise((r) => setTimeout(r, 50));
    release();
    const text = await conn.ended;
    await closed;
    const responses = text.split(/(?=HTTP\/1\.1 )/);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(responses[0]).toContain('{"done":true}');
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503/);
    expect(responses[1]).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(responses[1]).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(responses[1].slice(responses[1].indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'SHUTTING_DOWN', message: 'The server is shutting down; retry on another instance' },
    });
  });

  it('When request headers exceed the server limit, Then 431 in the error shape, with a new request id and the security headers', async () => {
    const a = await app({});
    await a.listen({ port: 0, host: '127.0.0.1' });
    const port = (a.server.address() as net.AddressInfo).port;
    const conn = rawExchange(port, `GET /v1/popular HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    const text = await conn.ended;
    expect(text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: 'The request headers are too large' } });
    // The headers were not read, so the caller's id cannot be echoed: a new one, as for an unusable id.
    expect(text).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/i);
    expect(text).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i);
  });

  it('When a storefront origin\'s request is refused by the parser (headers too large, a malformed head), Then the refusal carries that origin\'s CORS headers; another origin\'s does not', async () => {
    const a = await app({ CORS_ORIGINS: 'https://shop.example' });
    await a.listen({ port: 0, host: '127.0.0.1' });
    const port = (a.server.address() as net.AddressInfo).port;
    const refused = (origin: string, head: string) => rawExchange(port, `GET /v1/popular HTTP/1.1\r\nHost: x\r\nOrigin: ${origin}\r\n${head}\r\n`).ended;
    const big = `Cookie: ${'a'.repeat(20 * 1024)}\r\n`;
    const tooLarge = await refused('https://shop.example', big);
    expect(tooLarge).toMatch(/^HTTP\/1\.1 431 /);
    expect(tooLarge).toMatch(/\r\naccess-control-allow-origin: https:\/\/shop\.example\r\n/i);
    expect(tooLarge).toMatch(/\r\naccess-control-expose-headers: [^\r]*x-request-id/i);
    expect(tooLarge).toMatch(/\r\nvary: Origin\r\n/i);
    const malformed = await refused('https://shop.example', 'Bad Header Line\r\n');
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
    expect(malformed).toMatch(/\r\naccess-control-allow-origin: https:\/\/shop\.example\r\n/i);
    // Not a listed origin, nor one that only starts like it.
    for (const origin of ['https://evil.example', 'https://shop.example.evil']) expect(await refused(origin, big)).not.toMatch(/access-control-allow-origin/i);
    // Blanks around the value are not part of it.
    expect(await refused('  https://shop.example \t', big)).toMatch(/\r\naccess-control-allow-origin: https:\/\/shop\.example\r\n/i);
    // A long run of blanks in a line that never ends is read in one pass (a pattern with overlapping runs
    // of blanks took cubic time: minutes for 8 KB, the event loop blocked), and answered without CORS.
    const blanks = await rawExchange(port, `GET /v1/popular HTTP/1.1\r\nHost: x\r\nOrigin:${' '.repeat(8 * 1024)}\u0001`).ended;
    expect(blanks).toMatch(/^HTTP\/1\.1 (400|431) /);
    expect(blanks).not.toMatch(/access-control-allow-origin/i);
  });

  it('When an HTTP/1.1 request has no Host header, Then 400 MALFORMED_REQUEST in the error shape with a request id', async () => {
    const a = await app({});
    await a.listen({ port: 0, host: '127.0.0.1' });
    const port = (a.server.address() as net.AddressInfo).port;
    // Before, Node answered it itself: an empty 400, no request id, no security headers, no log line.
    const conn = rawExchange(port, 'GET /health/live HTTP/1.1\r\n\r\n');
    const deadline = Date.now() + 5_000;
    const text = await new Promise<string>((resolve) => {
      const check = setInterval(() => {
        if (conn.received().includes('}') || Date.now() > deadline) {
          clearInterval(check);
          conn.socket.destroy();
          resolve(conn.received());
        }
      }, 20);
    });
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toMatch(/\r\nx-request-id: [^\r]+\r\n/i);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'MALFORMED_REQUEST', message: expect.stringMatching(/no Host header/) } });
    // HTTP/1.0 has no Host requirement.
    expect(await rawExchange(port, 'GET /health/live HTTP/1.0\r\n\r\n').ended).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('When a request body never arrives whole, Then 408 REQUEST_TIMEOUT in the error shape after REQUEST_TIMEOUT_MS', async () => {
    const a = await app({ REQUEST_TIMEOUT_MS: '500', API_KEYS: `write:${KEYS.write}` });
    await a.listen({ port: 0, host: '127.0.0.1' });
    const port = (a.server.address() as net.AddressInfo).port;
    // 100 bytes announced, 14 sent. Before, the connection was held open with no answer (400 s in a helper's trial).
    const slow = rawExchange(
      port,
      `PUT /v1/users/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.write}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"attributes":`,
    );
    // Given up after 10 s so that a missing answer fails the test rather than holding it.
    const giveUp = setTimeout(() => slow.socket.destroy(), 10_000);
    const text = await slow.ended;
    clearTimeout(giveUp);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'REQUEST_TIMEOUT', message: 'The request was not received in time' } });
  });

  it('When a client sends CONNECT (a proxy tunnel), Then 405 METHOD_NOT_ALLOWED in the error shape, and the connection is closed', async () => {
    const a = await app({});
    await a.listen({ port: 0, host: '127.0.0.1' });
    const port = (a.server.address() as net.AddressInfo).port;
    // Before, Node closed the connection without an answer (no listener for 'connect').
    for (const target of ['example.com:443', '/v1/popular']) {
      const conn = rawExchange(port, `CONNECT ${target} HTTP/1.1\r\nHost: example.com:443\r\n\r\nbytes of a tunnel`);
      const giveUp = setTimeout(() => conn.socket.destroy(), 10_000);
      const text = await conn.ended;
      clearTimeout(giveUp);
      expect(text, target).toMatch(/^HTTP\/1\.1 405 /);
      expect(text).toMatch(/\r\nx-request-id: [^\r]+\r\n/i);
      expect(text).toMatch(/\r\nx-content-type-options: nosniff\r\n/i);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'CONNECT is not supported: this service is not a proxy' } });
    }
    // The server goes on answering.
    expect(await rawExchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').ended).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('When the bytes are not HTTP, Then 400 MALFORMED_REQUEST in the error shape', async () => {
    const a = await app({});
    await a.listen({ port: 0, host: '127.0.0.1' });
    const port = (a.server.address() as net.AddressInfo).port;
    const text = await rawExchange(port, 'HELLO THERE\r\n\r\n').ended;
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error.code).toBe('MALFORMED_REQUEST');
  });
});
