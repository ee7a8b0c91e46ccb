/**
 * The lingering close (src/http/plugins/lingering-close.ts) reads and throws away the rest of a body answered 413
 * before it was read, so that a client writing its whole body before reading gets the 413 (README, "a 413 is
 * answered before the body is read and its connection closed after the client has sent the rest"). A compressed
 * body is piped into an inflater (compress.ts): once the body reader stops at the limit the inflater is no longer
 * read, so the request stops being read too. The connection was held for LINGER_MS without reading a byte, and
 * then reset: the client got Broken pipe, as before the lingering close, only ten seconds later.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;
const LIMIT = 4096;
/** Far more than the socket buffers of both ends hold; random, so its gzip form is as large (stored, level 0). */
const BODY_BYTES = 32 * 1024 * 1024;

/** Writes the head and the whole body first, as Python's http.client does, and reads the answer only then. */
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

describe('a compressed body over the limit, written whole before reading', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { BODY_LIMIT_BYTES: String(LIMIT) } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(() => t?.dispose());

  it('When a client sends a gzip body whose inflated size is over BODY_LIMIT_BYTES and reads only after writing it all, Then it reads the 413, not a reset', async () => {
    const body = zlib.gzipSync(randomBytes(BODY_BYTES), { level: 0 });
    const head =
      `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.write}\r\nContent-Type: application/json\r\n` +
      `Content-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`;
    const result = await writeAllThenRead(port, head, body);
    expect(result).toMatchObject({ answer: expect.stringMatching(/^HTTP\/1\.1 413 /) });
  });
});
