/**
 * The frontend key sits in every storefront page: anyone may send it, and with BODY_LIMIT_BYTES (10 MB) a
 * body of 600,000 unknown keys cost seconds of parsing and validation and a 7.7 MB error listing each.
 * A frontend key's body is held to FRONTEND_BODY_LIMIT_BYTES, refused before it is parsed; a backend's key
 * keeps BODY_LIMIT_BYTES; and a validation error lists at most MAX_LISTED_ISSUES issues.
 */
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LISTED_ISSUES } from '../../../src/http/plugins/error-handler.js';
import { loadConfig } from '../../../src/config.js';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { rawRequest } from '../../helpers/raw-http.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;
const FRONTEND = 'frontend-key-body-1';
const API_KEYS = `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`;
const LIMIT = 4096;

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

/**
 * A click by a visitor: valid with any key (a frontend key's about an unknown item is not stored, and says so).
 * Long ids, so that the bodies below stay within FRONTEND_MAX_BATCH_SIZE events: the refusal is the body's size.
 */
const click = (n: number) => ({ userId: `visitor-${n}-`.padEnd(200, 'v'), itemId: `item-${n}`, type: 'click', ts: new Date().toISOString() });
/** A valid feedback body of more than `bytes` bytes, in events of ~300 bytes. */
const feedbackOver = (bytes: number) => {
  const events = [];
  while (JSON.stringify({ events }).length <= bytes) events.push(click(events.length));
  return JSON.stringify({ events });
};

describe('a frontend key body limit (FRONTEND_BODY_LIMIT_BYTES)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { API_KEYS, FRONTEND_BODY_LIMIT_BYTES: String(LIMIT) } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(() => t?.dispose());

  const post = (key: string, payload: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, payload });

  it('When a frontend key sends a body over the limit, Then 413 PAYLOAD_TOO_LARGE naming the limit; the same body with a write key is parsed and stored', async () => {
    const body = feedbackOver(LIMIT);
    const browser = await post(FRONTEND, body);
    expect(browser.statusCode).toBe(413);
    expect(browser.json()).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining(`at most ${LIMIT} bytes (FRONTEND_BODY_LIMIT_BYTES); this one has ${body.length}`) } });
    expect(browser.headers['x-request-id']).toBeTruthy();
    const backend = await post(KEYS.write, body);
    expect(backend.statusCode, backend.body).toBe(200);
    expect(backend.json().accepted).toBe(JSON.parse(body).events.length);
    // Within the limit, the frontend key's body is read as before.
    const small = await post(FRONTEND, JSON.stringify({ events: [click(1)] }));
    expect(small.statusCode, small.body).toBe(200);
    // A frontend key's body on the context recommendation route too.
    const context = await t.app.inject({
      method: 'POST',
      url: '/v1/recommendations',
      headers: { authorization: `Bearer ${FRONTEND}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => `item-${i}`.padEnd(64, 'x')) }),
    });
    expect(context.statusCode).toBe(413);
    expect(context.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('When a frontend key announces a body over the limit, Then 413 comes before the body is read, and the connection is closed', async () => {
    // Only the head is sent: a server reading the body first would wait for it (and answer 408 after REQUEST_TIMEOUT_MS).
    const answer = await rawRequest(
      port,
      `POST /v1/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${FRONTEND}\r\nContent-Type: application/json\r\nContent-Length: 7000000\r\n\r\n{"events":[`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(bodyOf(answer).error.message).toContain(`at most ${LIMIT} bytes (FRONTEND_BODY_LIMIT_BYTES); this one has 7000000`);
  });

  it('When a frontend key sends a large body without Content-Length (chunked), Then it is counted as it is read and refused 413', async () => {
    const body = feedbackOver(LIMIT * 3);
    const chunks = [body.slice(0, LIMIT), body.slice(LIMIT, LIMIT * 2), body.slice(LIMIT * 2)].map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('');
    const head = (key: string) =>
      `POST /v1/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
    const browser = await rawRequest(port, head(FRONTEND) + chunks + '0\r\n\r\n');
    expect(browser).toMatch(/^HTTP\/1\.1 413 /);
    expect(bodyOf(browser)).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining(`at most ${LIMIT} bytes (FRONTEND_BODY_LIMIT_BYTES); this one is larger`) } });
    const backend = await rawRequest(port, head(KEYS.write) + chunks + '0\r\n\r\n');
    expect(backend).toMatch(/^HTTP\/1\.1 200 /);
    // A chunked body within the limit is read as before.
    const small = JSON.stringify({ events: [click(2)] });
    expect(await rawRequest(port, head(FRONTEND) + `${small.length.toString(16)}\r\n${small}\r\n0\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('When a frontend key sends a compressed body small on the wire but over the limit inflated, Then 413; within it, the body is read', async () => {
    const body = feedbackOver(LIMIT * 4);
    expect(JSON.parse(body).events.length).toBeLessThanOrEqual(100);
    const gzipped = gzipSync(body);
    expect(gzipped.length).toBeLessThan(LIMIT);
    const browser = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${FRONTEND}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipped });
    expect(browser.statusCode).toBe(413);
    expect(browser.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    const backend = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { ...auth('write'), 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipped });
    expect(backend.statusCode, backend.body).toBe(200);
    const small = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${FRONTEND}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync(JSON.stringify({ events: [click(3)] })) });
    expect(small.statusCode, small.body).toBe(200);
  });

  it('When a body is invalid in many places, Then the error lists the first MAX_LISTED_ISSUES issues and says how many more; unknown keys are named by the first few', async () => {
    const junk = Array.from({ length: 60 }, () => ({ userId: '', itemId: 7, type: 'shout' }));
    const res = await post(KEYS.write, JSON.stringify({ events: junk }));
    expect(res.statusCode).toBe(400);
    const { details } = res.json().error as { details: { path: string; message: string }[] };
    expect(details).toHaveLength(MAX_LISTED_ISSUES + 1);
    expect(details[MAX_LISTED_ISSUES]).toEqual({ path: 'body', message: expect.stringMatching(/^and \d+ more issues, not listed/) });
    const unknown = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`extra${i}`, i]));
    const keys = await post(KEYS.write, JSON.stringify({ events: [click(4)], ...unknown }));
    expect(keys.statusCode).toBe(400);
    expect(keys.json().error.message).toBe('body: Unrecognized keys: "extra0", "extra1", "extra2", "extra3", "extra4", "extra5", "extra6", "extra7", "extra8", "extra9" and 490 more');
    expect(keys.body.length).toBeLessThan(1000);
  });
});

describe('the default FRONTEND_BODY_LIMIT_BYTES', () => {
  it('When a frontend key sends FRONTEND_MAX_BATCH_SIZE feedback events with every field at its longest, Then the body is within the default limit and read', async () => {
    const config = loadConfig({});
    expect(config.FRONTEND_BODY_LIMIT_BYTES).toBe(256 * 1024);
    const id = (c: string) => c.repeat(256);
    const event = (n: number) => ({
      eventId: `${n}`.padEnd(256, 'e'),
      userId: id('u'),
      itemId: id('i'),
      type: 'add_to_cart',
      recommendationId: id('r'),
      strategy: 's'.repeat(64),
      experimentId: 'x'.repeat(64),
      arm: 'a'.repeat(64),
      campaignId: 'c'.repeat(128),
      ts: new Date().toISOString().replace('Z', '+00:00'),
    });
    // Pretty-printed, as a hand-written client may send it.
    const body = JSON.stringify({ events: Array.from({ length: config.FRONTEND_MAX_BATCH_SIZE }, (_, n) => event(n)) }, null, 2);
    expect(body.length).toBeLessThan(config.FRONTEND_BODY_LIMIT_BYTES);
    const t = await createTestApp({ createDb, env: { API_KEYS } });
    try {
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${FRONTEND}`, 'content-type': 'application/json' }, payload: body });
      expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    } finally {
      await t.dispose();
    }
  });
});
