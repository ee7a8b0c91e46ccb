import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importGeneric } from '../../../src/data/importers/generic-importer.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

/**
 * "ids of 1 to 256 characters" (README), one limit for every path (data/input-limits.ts: "what one path takes,
 * the other must be able to read and write back"). The API's schemas count characters (code points); the
 * importers count UTF-16 units, so an id of 129-256 characters outside the Basic Multilingual Plane (emoji,
 * CJK extension B) that the API stored is refused by an import as `id_too_long`.
 */
const backend = DB_BACKENDS[0];
const ID = '😀'.repeat(200);

describe.skipIf(!(await backend.available()))('an id of 200 emoji through the API and through an import', () => {
  let t: TestApp;
  const dir = mkdtempSync(path.join(tmpdir(), 'id-length-'));
  beforeAll(async () => {
    t = await createTestApp({ createDb: backend.create });
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When the API has stored an item under such an id, Then an events file naming it imports as the API took it', async () => {
    const put = await t.app.inject({ method: 'PUT', url: `/v1/items/${encodeURIComponent(ID)}`, headers: auth('write'), payload: { title: 'smiles' } });
    expect(put.statusCode, put.body).toBe(200);
    writeFileSync(path.join(dir, 'events.csv'), `user_id,item_id,quantity,ts\nc1,${ID},1,2024-01-01T00:00:00Z\n`);
    const report = await importGeneric(t.services.db, dir);
    expect(report.rejected).toEqual({});
    const events = await t.app.inject({ url: '/v1/users/c1/events', headers: auth('read') });
    expect(events.statusCode, events.body).toBe(200);
    expect(events.json().events.map((e: { itemId: string }) => e.itemId)).toEqual([ID]);
  });
});
