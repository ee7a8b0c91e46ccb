/**
 * README "Erasure": while a customer's erasure is owed (asked, not completed) their purchases stay in Postgres, and
 * the dates the service derives from "the latest purchase" are the other customers': a refreshed profile's recency
 * (measured from the shop's latest purchase, as a training measures it) and the check of a training window
 * (`POST /v1/training-jobs` with `from`/`to`: the training reads none of the owed customers' purchases). An erased
 * customer's last purchase moved both. Real Postgres (a schema of the shared test database).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { seedTwoItemShop } from '../../helpers/two-item-shop.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const DAY = 86_400_000;
const base = Date.UTC(2024, 2, 1, 12);
const trainedEnd = base + 19 * DAY;
/** c3 buys again the day after the training's data ends; c7, whose erasure will be owed, 59 days after that. */
const early = trainedEnd + DAY;
const latest = trainedEnd + 60 * DAY;
const OWED = 'c7';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))("an owed erasure's purchases in the dates the service derives", () => {
  let t: TestApp;
  beforeAll(async () => {
    // The re-driver waits an hour: nothing completes the owed erasure during the test.
    t = await createTestApp({ createDb: createPostgresTestDb, env: { ERASURE_REDRIVE_MS: '3600000' } });
    await seedTwoItemShop(t, base);
    const after = [
      { userId: 'c3', itemId: 'A', quantity: 1, orderId: 'c3-after', ts: new Date(early).toISOString() },
      { userId: OWED, itemId: 'B', quantity: 1, orderId: 'c7-after', ts: new Date(latest).toISOString() },
      // Half a day after c10's: the only purchase of its day.
      { userId: OWED, itemId: 'A', quantity: 1, orderId: 'c7-between', ts: new Date(base + 10.5 * DAY).toISOString() },
    ];
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: after } })).json().inserted).toBe(3);
    // Owed: recorded as asked, not due for an hour; this process knows it as the DELETE's process would.
    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) VALUES ($1, now() + interval '1 hour')", [OWED]);
    t.services.owedErasures.add(OWED);
  }, 120_000);
  afterAll(() => t?.dispose());

  it("When the owed customer holds the shop's latest purchase, Then a refreshed profile's recency is measured from the others' latest", async () => {
    const res = await t.app.inject({ url: '/v1/users/c3/profile', headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    const profile = res.json();
    expect(profile.source).toBe('refreshed');
    // c3's own purchase is the latest of the customers not owed (c7's, 59 days later, was: recency 59).
    expect(profile.asOf).toBe(new Date(early).toISOString());
    expect(profile.recencyDays).toBe(0);
  });

  it('When 10,000 erasures are owed, Then a refreshed profile does not send their ids to Postgres (the latest purchase is found among the latest few)', async () => {
    // The owed list as a backlog leaves it (a Redis outage through a burst of erasures): customers who bought nothing.
    const backlog = Array.from({ length: 10_000 }, (_, k) => `gone-${k}`);
    for (const id of backlog) t.services.owedErasures.add(id);
    const query = vi.spyOn(t.services.db, 'query');
    try {
      const res = await t.app.inject({ url: '/v1/users/c3/profile', headers: auth('read') });
      expect(res.statusCode, res.body).toBe(200);
      // Still the others' latest purchase: c7's, later, is left out.
      expect(res.json().asOf).toBe(new Date(early).toISOString());
      // Each refresh sent the 10,001 ids (63 ms at 10,000, about 1-3 s at 100,000: bench/README).
      const largest = Math.max(0, ...query.mock.calls.flatMap(([, params]) => ((params ?? []) as unknown[]).map((p) => (Array.isArray(p) ? p.length : 0))));
      expect(largest).toBeLessThan(100);
    } finally {
      query.mockRestore();
      for (const id of backlog) t.services.owedErasures.settled(id);
    }
  });

  it("When a training window holds only the owed customer's purchases, Then it is refused as holding none", async () => {
    const submit = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false, ...payload } });
    // After the others' latest purchase: only c7's is there.
    const from = await submit({ from: new Date(early + 30 * DAY).toISOString() });
    expect(from.statusCode, from.body).toBe(422);
    expect(from.json()).toMatchObject({ error: { code: 'UNPROCESSABLE', details: [{ path: 'from' }] } });
    expect(from.json().error.message).toContain(`the last is at ${new Date(early).toISOString()}`);
    // Inside the others' data, a window whose only purchase is c7's: a gap for the purchases a training reads.
    const gap = await submit({ from: new Date(base + 10.25 * DAY).toISOString(), to: new Date(base + 10.75 * DAY).toISOString() });
    expect(gap.statusCode, gap.body).toBe(422);
    expect(gap.json().error.message).toContain('a gap in the data');
    // A window holding the others' purchases is queued as before.
    const ok = await submit({ from: new Date(base).toISOString() });
    expect(ok.statusCode, ok.body).toBe(202);
  });
});
