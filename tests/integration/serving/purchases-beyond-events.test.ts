import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, finishedJob, KEYS, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { DAY, seedShop, T0, trainAndPublish } from './shop-fixture.js';

const postgres = DB_BACKENDS[0];
const FRONTEND = 'frontend-key-123456';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
// The shop's data ends on day 51; these happen after the model was trained.
const after = (day: number) => new Date(T0 + day * DAY).toISOString();

describe.skipIf(!(await postgres.available()))('purchases that arrive other than through POST /v1/events', () => {
  let t: TestApp;
  let importDir: string;
  const purchasesOf = async (user: string) =>
    ((await t.app.inject({ url: `/v1/users/${user}/events`, headers: as(KEYS.read) })).json().events as { itemId: string }[]).map((e) => e.itemId);
  const liveOf = async (user: string) => (await t.services.store.getUserEvents(user)).map((e) => e.itemId);

  beforeAll(async () => {
    importDir = await mkdtemp(join(tmpdir(), 'imports-'));
    t = await createTestApp({
      createDb: postgres.create,
      env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`, IMPORT_ROOTS: importDir },
    });
    await seedShop(t.services);
    await trainAndPublish(t.services);
  });
  afterAll(async () => {
    await t.dispose();
    await rm(importDir, { recursive: true, force: true });
  });

  it.each([
    ['with', 'g-user0', { eventId: 'fb-1' }],
    ['without', 'g-user2', {}],
  ])('When a server-side key reports a purchase as feedback %s an eventId, Then it is a purchase: stored once, live, even when retried', async (_, user, id) => {
    const body = { events: [{ ...id, userId: user, itemId: 'k3', type: 'purchase', ts: after(60) }] };
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: as(KEYS.write), payload: body });
      expect(res.statusCode).toBe(200);
    }
    expect((await purchasesOf(user)).filter((i) => i === 'k3')).toHaveLength(1);
    expect(await liveOf(user)).toContain('k3');
  });

  it("When a browser's frontend key reports a purchase as feedback, Then it stays feedback only (a browser cannot forge sales)", async () => {
    const body = { events: [{ eventId: 'fb-2', userId: 'g-user1', itemId: 'k4', type: 'purchase', ts: new Date(Date.now() - 3_600_000).toISOString() }] };
    const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: as(FRONTEND), payload: body });
    expect(res.statusCode).toBe(200);
    // A browser is told only what it sent was taken (README, "Scopes"); stored as feedback all the same.
    expect(res.json()).toEqual({ accepted: 1, unknownItems: 0, unknownLabels: 0 });
    expect((await t.services.db.query<{ type: string }>(`SELECT type FROM feedback_events WHERE event_id = 'fb-2'`)).rows).toEqual([{ type: 'purchase' }]);
    expect(await purchasesOf('g-user1')).not.toContain('k4');
    expect(await liveOf('g-user1')).not.toContain('k4');
  });

  it("When an import job stores purchases newer than the model's data, Then they reach live state; older ones wait for training", async () => {
    const dir = join(importDir, 'daily');
    await rm(dir, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(dir);
    await writeFile(
      join(dir, 'events.csv'),
      `user_id,item_id,quantity,ts\nk-user2,g5,1,${after(70)}\nk-user2,g6,2,${after(71)}\nk-user5,g7,1,${after(5)}\n`,
    );
    const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: as(KEYS.admin), payload: { format: 'generic', path: dir } });
    expect(res.statusCode).toBe(202);
    const job = await finishedJob(t, `/v1/imports/${res.json().jobId}`);
    expect(job.status).toBe('succeeded');
    expect(await liveOf('k-user2')).toEqual(['g5', 'g6']);
    // Day 5 is inside the trained data: stored, but for the next training.
    expect(await purchasesOf('k-user5')).toContain('g7');
    expect(await liveOf('k-user5')).not.toContain('g7');
  });
});
