import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { seedTwoItemShop } from '../../helpers/two-item-shop.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

// A refreshed profile's `asOf` is documented as "the latest purchase known when the profile was computed"
// (schemas/profiles.ts), and training measures recency from the newest purchase of the shop. A refresh
// measured it from the customer's own latest purchase instead, so a customer who bought once after
// training stayed "bought today" (recency 0, R 5) however long the shop had gone on selling since.
const usePostgres = await serviceAvailable(POSTGRES_URL);
const DAY = 86_400_000;
const base = Date.UTC(2024, 2, 1, 12);

describe('refreshed profile reference date', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    await seedTwoItemShop(t, base);
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When a customer bought after training and the shop sold on for 59 more days, Then their refreshed profile measures recency from the latest purchase known', async () => {
    const trainedEnd = base + 19 * DAY;
    const early = trainedEnd + DAY;
    const latest = trainedEnd + 60 * DAY;
    const posted = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [
        { userId: 'c3', itemId: 'A', quantity: 1, orderId: 'c3-after', ts: new Date(early).toISOString() },
        { userId: 'c7', itemId: 'B', quantity: 1, orderId: 'c7-after', ts: new Date(latest).toISOString() },
      ] },
    });
    expect(posted.json().inserted).toBe(2);
    const res = await t.app.inject({ url: '/v1/users/c3/profile', headers: auth('read') });
    expect(res.statusCode).toBe(200);
    const profile = res.json();
    expect(profile.source).toBe('refreshed');
    // The latest purchase known is c7's, 59 days after c3's.
    expect(profile.asOf).toBe(new Date(latest).toISOString());
    expect(profile.recencyDays).toBe(59);
  });
});
