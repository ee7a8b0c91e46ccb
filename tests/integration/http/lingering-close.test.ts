/**
 * A body over the limit is answered 413 before it is read, on a connection then closed. A client that writes
 * its whole body before reading the answer (Python's http.client and requests do) was still writing when the
 * server closed: it got a reset (Broken pipe) instead of the 413 naming the limit. A compressed body is read on
 * too (its inflater, stopped at the limit, held the rest back), and a request pipelined behind the body is not run:
 * an answer with `Connection: close` ends the connection's requests (RFC 9112 9.6), and the client sends it again.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;
const LIMIT = 4096;
/** Far more than the socket buffers of both ends hold: the client is still writing when the answer comes. */
const BODY_BYTES = 32 * 1024 * 1024;

/**
 * Writes the head and the whole body first, as http.client does, and reads the answer only then: what the
 * socket held when the writing was done and what came after, or the error the writing or reading met.
 */
function writeAllThenRead(port: number, head: string, body: Buffer): Promise<{ answer: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.pause();
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    socket.on('connect', () => {
      socket.write(head);
      socket.write(body, (err) => {
        if (err) return;
        socket.on('data', (chunk) => (answer += chunk));
        socket.on('end', () => resolve({ answer }));
        socket.resume();
      });
    });
  });
}

describe('an answer sent before the body was read (lingering close)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { BODY_LIMIT_BYTES: String(LIMIT) } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(() => t?.dispose());

  const head = (extra: string) => `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.write}\r\nContent-Type: application/json\r\n${extra}\r\n`;

  it('When a client writes a body announced over BODY_LIMIT_BYTES whole before reading, Then it reads the 413 naming the problem, not a reset', async () => {
    const result = await writeAllThenRead(port, head(`Content-Length: ${BODY_BYTES}\r\n`), Buffer.alloc(BODY_BYTES, 'a'));
    expect(result).toMatchObject({ answer: expect.stringMatching(/^HTTP\/1\.1 413 /) });
    const answer = (result as { answer: string }).answer;
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('When a client writes a chunked body over the limit whole before reading, Then it reads the 413 too', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const framed = Buffer.concat([...Array.from({ length: BODY_BYTES / chunk.length }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])), Buffer.from('0\r\n\r\n')]);
    const result = await writeAllThenRead(port, head('Transfer-Encoding: chunked\r\n'), framed);
    expect(result).toMatchObject({ answer: expect.stringMatching(/^HTTP\/1\.1 413 /) });
  });

  it('When a client sends a gzip body whose inflated size is over BODY_LIMIT_BYTES and reads only after writing it all, Then it reads the 413, not a reset', async () => {
    const body = zlib.gzipSync(randomBytes(BODY_BYTES), { level: 0 });
    const head =
      `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.write}\r\nContent-Type: application/json\r\n` +
      `Content-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`;
    const result = await writeAllThenRead(port, head, body);
    expect(result).toMatchObject({ answer: expect.stringMatching(/^HTTP\/1\.1 413 /) });
  });

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
