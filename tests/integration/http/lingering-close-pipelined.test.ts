/**
 * An answer with `Connection: close` ends the connection's requests: a server that sends "close" "MUST NOT
 * process any further requests received on that connection" (RFC 9112 9.6). The client was told so, so it
 * takes a request it had pipelined behind as not done, and sends it again. Reading on after a 413 (the
 * lingering close) must throw those bytes away, not parse and run them.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;
const LIMIT = 4096;

describe('a request pipelined behind one answered 413 with Connection: close', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { BODY_LIMIT_BYTES: String(LIMIT) } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(() => t?.dispose());

  it('When the client sends the rest of the oversized body and then a second request, Then the second request is not run', async () => {
    const bodyBytes = LIMIT * 4;
    const first = `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.write}\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n\r\n`;
    const itemBody = JSON.stringify({ title: 'pipelined after a 413' });
    const second = `PUT /v1/items/pipelined-after-413 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.write}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(itemBody)}\r\n\r\n${itemBody}`;
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      let sentRest = false;
      socket.on('error', () => resolve(text));
      socket.on('data', (chunk) => {
        text += chunk;
        // The 413 came before the body was read: send the rest of the body and the pipelined request.
        if (!sentRest && text.includes('\r\n\r\n')) {
          sentRest = true;
          socket.write(Buffer.concat([Buffer.alloc(bodyBytes - 10, 'a'), Buffer.from(second)]));
        }
      });
      socket.on('close', () => resolve(text));
      socket.write(first);
      socket.write(Buffer.alloc(10, 'a'));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    // Whatever the server did with the second request, it must not have stored it.
    await new Promise((r) => setImmediate(r));
    await t.app.ready();
    const res = await t.app.inject({ url: '/v1/items/pipelined-after-413', headers: auth('read') });
    expect(res.statusCode).toBe(404);
  });
});
