import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

type FeedbackType = 'impression' | 'click' | 'add_to_cart' | 'purchase';

const DAY = 86_400_000;

/** `n` feedback events of one type and strategy, `daysAgo` days before now, each on its own item. */
function feedback(strategy: string | null, type: FeedbackType, n: number, daysAgo = 1) {
  const ts = new Date(Date.now() - daysAgo * DAY).toISOString();
  return Array.from({ length: n }, (_, i) => ({
    userId: `u${i % 4}`,
    itemId: `${strategy ?? 'none'}-${type}-${i}-${daysAgo}`,
    type,
    recommendationId: `rec-${i}`,
    ...(strategy ? { strategy } : {}),
    ts,
  }));
}

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`online metrics on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      const events = [
        ...feedback('hybrid', 'impression', 8),
        ...feedback('hybrid', 'click', 2),
        ...feedback('hybrid', 'add_to_cart', 1),
        ...feedback('hybrid', 'purchase', 1),
        ...feedback('item-knn', 'impression', 4),
        ...feedback('item-knn', 'click', 3),
        // A click sent without a strategy, and old impressions outside a 30-day window.
        ...feedback(null, 'click', 1),
        ...feedback('hybrid', 'impression', 2, 40),
      ];
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
      expect(res.statusCode).toBe(200);
      expect(res.json().inserted).toBe(events.length);
    });
    afterAll(() => t.dispose());

    it('When feedback was posted, Then counts, CTR and conversion per strategy over 30 days match the hand count', async () => {
      const res = await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.days).toBe(30);
      expect(Date.now() - Date.parse(body.since)).toBeGreaterThanOrEqual(30 * DAY);
      // hybrid: 2 clicks / 8 impressions, 1 purchase / 8; item-knn: 3 / 4 and 0 / 4; no strategy: no impressions.
      expect(body.strategies).toEqual([
        { strategy: 'hybrid', impressions: 8, clicks: 2, addToCart: 1, purchases: 1, ctr: 0.25, conversion: 0.125 },
        { strategy: 'item-knn', impressions: 4, clicks: 3, addToCart: 0, purchases: 0, ctr: 0.75, conversion: 0 },
        { strategy: null, impressions: 0, clicks: 1, addToCart: 0, purchases: 0, ctr: null, conversion: null },
      ]);
    });

    it('When the window is 60 days, Then the old impressions count too', async () => {
      const body = (await t.app.inject({ url: '/v1/metrics/online?days=60', headers: auth('admin') })).json();
      expect(body.strategies[0]).toEqual({ strategy: 'hybrid', impressions: 10, clicks: 2, addToCart: 1, purchases: 1, ctr: 0.2, conversion: 0.1 });
    });

    it('When /metrics is scraped, Then the 30-day rates are gauges by strategy, and strategies without impressions have none', async () => {
      const page = (await t.app.inject({ url: '/metrics' })).body;
      const lines = page.split('\n').filter((l) => l.startsWith('recsvc_feedback_rate_ratio{'));
      expect(lines.sort()).toEqual(
        [
          'recsvc_feedback_rate_ratio{strategy="hybrid",rate="ctr"} 0.25',
          'recsvc_feedback_rate_ratio{strategy="hybrid",rate="conversion"} 0.125',
          'recsvc_feedback_rate_ratio{strategy="item-knn",rate="ctr"} 0.75',
          'recsvc_feedback_rate_ratio{strategy="item-knn",rate="conversion"} 0',
        ].sort(),
      );
    });

    it('When the window is out of range or the key is not admin, Then 400 and 403', async () => {
      for (const days of ['0', '366', 'abc']) {
        expect((await t.app.inject({ url: `/v1/metrics/online?days=${days}`, headers: auth('admin') })).statusCode).toBe(400);
      }
      expect((await t.app.inject({ url: '/v1/metrics/online', headers: auth('read') })).statusCode).toBe(403);
    });
  });
}
