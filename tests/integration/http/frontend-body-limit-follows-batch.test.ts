/**
 * FRONTEND_BODY_LIMIT_BYTES (256 KiB) was sized for FRONTEND_MAX_BATCH_SIZE's default of 100 feedback events. An
 * operator who had raised FRONTEND_MAX_BATCH_SIZE (to 1,000, say) got 413s, after the upgrade that brought the
 * limit, on batches a browser sent fine before, and no word of it. Unset, the limit now follows the batch
 * (2.56 KiB an event, as 256 KiB allowed 100, at least 256 KiB, at most BODY_LIMIT_BYTES); set, alone or beside a
 * batch size, below what a full batch (of that size, or the default 100) needs at the schema's longest fields, a
 * server warns at start. The configuration holds the limit that applies, BODY_LIMIT_BYTES's cap included.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { frontendBodyLimitWarnings, longestFeedbackEventBytes } from '../../../src/http/plugins/frontend-body-limit.js';
import { createTestApp, KEYS } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

const FRONTEND = 'frontend-key-batch-1';
const API_KEYS = `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`;

/** A feedback event with every field at its longest (the schema's limits: 256-character ids, 64-character labels). */
const longest = (n: number) => ({
  eventId: `${n}`.padEnd(256, 'e'),
  userId: 'u'.repeat(256),
  itemId: 'i'.repeat(256),
  type: 'add_to_cart',
  recommendationId: 'r'.repeat(256),
  strategy: 's'.repeat(64),
  experimentId: 'x'.repeat(64),
  arm: 'a'.repeat(64),
  campaignId: 'c'.repeat(128),
  ts: new Date().toISOString().replace('Z', '+00:00'),
});
const batchOf = (n: number) => JSON.stringify({ events: Array.from({ length: n }, (_, i) => longest(i)) });

describe('FRONTEND_BODY_LIMIT_BYTES when FRONTEND_MAX_BATCH_SIZE was raised', () => {
  it('When FRONTEND_MAX_BATCH_SIZE is 1,000 and FRONTEND_BODY_LIMIT_BYTES unset, Then a frontend key\'s full batch at the longest fields is read, not refused 413', async () => {
    const t = await createTestApp({ createDb: createPgliteTestDb, env: { API_KEYS, FRONTEND_MAX_BATCH_SIZE: '1000' } });
    try {
      const body = batchOf(1000);
      expect(body.length).toBeGreaterThan(256 * 1024);
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { authorization: `Bearer ${FRONTEND}`, 'content-type': 'application/json' }, payload: body });
      expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
      expect(res.json().accepted).toBe(1000);
    } finally {
      await t.dispose();
    }
  }, 60_000);

  it('When FRONTEND_BODY_LIMIT_BYTES is unset, Then it is 2.56 KiB an event of the frontend batch, at least 256 KiB, at most BODY_LIMIT_BYTES', () => {
    expect(loadConfig({}).FRONTEND_BODY_LIMIT_BYTES).toBe(256 * 1024);
    expect(loadConfig({ FRONTEND_MAX_BATCH_SIZE: '10' }).FRONTEND_BODY_LIMIT_BYTES).toBe(256 * 1024);
    expect(loadConfig({ FRONTEND_MAX_BATCH_SIZE: '1000' }).FRONTEND_BODY_LIMIT_BYTES).toBe(2560 * 1024);
    // The frontend batch is at most MAX_BATCH_SIZE, and the limit at most BODY_LIMIT_BYTES.
    expect(loadConfig({ FRONTEND_MAX_BATCH_SIZE: '1000', MAX_BATCH_SIZE: '200' }).FRONTEND_BODY_LIMIT_BYTES).toBe(512 * 1024);
    expect(loadConfig({ FRONTEND_MAX_BATCH_SIZE: '100000', MAX_BATCH_SIZE: '100000' }).FRONTEND_BODY_LIMIT_BYTES).toBe(10 * 1024 * 1024);
    expect(loadConfig({ BODY_LIMIT_BYTES: '65536' }).FRONTEND_BODY_LIMIT_BYTES).toBe(65536);
    // Set, it is kept.
    expect(loadConfig({ FRONTEND_MAX_BATCH_SIZE: '1000', FRONTEND_BODY_LIMIT_BYTES: '300000' }).FRONTEND_BODY_LIMIT_BYTES).toBe(300_000);
  });

  it('When both are set and the limit cannot hold a full batch at the longest fields, Then a start warning names both and the limit that would; otherwise none', () => {
    const warnings = (env: Record<string, string>) => frontendBodyLimitWarnings(loadConfig(env), env);
    expect(longestFeedbackEventBytes()).toBe(Buffer.byteLength(JSON.stringify(longest(0))));
    const needed = Buffer.byteLength(batchOf(1000));
    expect(warnings({ FRONTEND_MAX_BATCH_SIZE: '1000', FRONTEND_BODY_LIMIT_BYTES: '262144' })).toEqual([
      expect.stringMatching(new RegExp(`^FRONTEND_BODY_LIMIT_BYTES 262144 cannot hold a full batch of FRONTEND_MAX_BATCH_SIZE 1000 feedback events .*Raise FRONTEND_BODY_LIMIT_BYTES to at least ${needed}`)),
    ]);
    expect(warnings({ FRONTEND_MAX_BATCH_SIZE: '1000', FRONTEND_BODY_LIMIT_BYTES: String(needed) })).toEqual([]);
    // BODY_LIMIT_BYTES caps the frontend limit: the warning says so.
    expect(warnings({ FRONTEND_MAX_BATCH_SIZE: '1000', FRONTEND_BODY_LIMIT_BYTES: String(needed), BODY_LIMIT_BYTES: '1048576' })).toEqual([
      expect.stringMatching(/^FRONTEND_BODY_LIMIT_BYTES 1048576 \(BODY_LIMIT_BYTES, which caps it\) .*Raise BODY_LIMIT_BYTES and FRONTEND_BODY_LIMIT_BYTES/),
    ]);
    // The batch size alone: the limit follows it.
    expect(warnings({ FRONTEND_MAX_BATCH_SIZE: '1000' })).toEqual([]);
    expect(warnings({ FRONTEND_MAX_BATCH_SIZE: '100', FRONTEND_BODY_LIMIT_BYTES: '262144' })).toEqual([]);
  });

  it('When FRONTEND_BODY_LIMIT_BYTES alone is set below what a full default batch needs, Then a start warning names it, the default batch and the limit that would', () => {
    const warnings = (env: Record<string, string>) => frontendBodyLimitWarnings(loadConfig(env), env);
    const needed = Buffer.byteLength(batchOf(100));
    expect(warnings({ FRONTEND_BODY_LIMIT_BYTES: '4096' })).toEqual([
      expect.stringMatching(new RegExp(`^FRONTEND_BODY_LIMIT_BYTES 4096 cannot hold a full batch of FRONTEND_MAX_BATCH_SIZE 100 feedback events .*batch of more than 2 such events .*Raise FRONTEND_BODY_LIMIT_BYTES to at least ${needed}`)),
    ]);
    expect(warnings({ FRONTEND_BODY_LIMIT_BYTES: String(needed) })).toEqual([]);
    expect(warnings({ FRONTEND_BODY_LIMIT_BYTES: String(needed - 1) })).toHaveLength(1);
    // Set above BODY_LIMIT_BYTES, which caps it below a default batch: the warning says which one to raise.
    expect(warnings({ FRONTEND_BODY_LIMIT_BYTES: '262144', BODY_LIMIT_BYTES: '65536' })).toEqual([
      expect.stringMatching(/^FRONTEND_BODY_LIMIT_BYTES 65536 \(BODY_LIMIT_BYTES, which caps it\) cannot hold a full batch of FRONTEND_MAX_BATCH_SIZE 100 .*Raise BODY_LIMIT_BYTES and FRONTEND_BODY_LIMIT_BYTES/),
    ]);
  });

  it('When FRONTEND_BODY_LIMIT_BYTES is set above BODY_LIMIT_BYTES, Then the configuration holds BODY_LIMIT_BYTES: the limit is resolved once, where every user reads it', () => {
    expect(loadConfig({ FRONTEND_BODY_LIMIT_BYTES: '300000', BODY_LIMIT_BYTES: '65536' }).FRONTEND_BODY_LIMIT_BYTES).toBe(65536);
    expect(loadConfig({ FRONTEND_BODY_LIMIT_BYTES: '300000', BODY_LIMIT_BYTES: '300000' }).FRONTEND_BODY_LIMIT_BYTES).toBe(300_000);
    expect(loadConfig({ FRONTEND_BODY_LIMIT_BYTES: '4096', BODY_LIMIT_BYTES: '65536' }).FRONTEND_BODY_LIMIT_BYTES).toBe(4096);
  });
});
