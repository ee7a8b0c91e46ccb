/**
 * recsvc_feedback_rate_ratio{strategy, rate} holds the 30-day CTR and conversion of each strategy of
 * GET /v1/metrics/online. Feedback sent without a strategy is shown under a label of its own: it must not
 * take the series of a strategy a backend (write key) really sent, or the two overwrite each other and
 * operations read one strategy's rate under the other's name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

const DAY = 86_400_000;

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`feedback rate gauges on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
    });
    afterAll(() => t?.dispose());

    it('When one strategy is named "none" and other feedback names no strategy, Then each has its own gauge series with its own rates', async () => {
      const ts = new Date(Date.now() - 2 * DAY).toISOString();
      const events = [
        // Strategy "none" (a backend's label): 4 impressions, 4 clicks -> CTR 1.
        ...[0, 1, 2, 3].map((i) => ({ eventId: `named-imp-${i}`, userId: 'a', itemId: `i${i}`, type: 'impression', strategy: 'none', ts })),
        ...[0, 1, 2, 3].map((i) => ({ eventId: `named-click-${i}`, userId: 'a', itemId: `i${i}`, type: 'click', strategy: 'none', ts })),
        // No strategy: 4 impressions, 1 click -> CTR 0.25.
        ...[0, 1, 2, 3].map((i) => ({ eventId: `bare-imp-${i}`, userId: 'b', itemId: `i${i}`, type: 'impression', ts })),
        { eventId: 'bare-click-0', userId: 'b', itemId: 'i0', type: 'click', ts },
      ];
      const posted = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
      expect(posted.statusCode, posted.body).toBe(200);

      // The hand count: two strategies, CTR 1 and 0.25, conversion 0 each.
      const report = (await t.app.inject({ url: '/v1/metrics/online?days=30', headers: auth('admin') })).json() as { strategies: { strategy: string | null; ctr: number }[] };
      expect(report.strategies.map((s) => [s.strategy, s.ctr])).toEqual([
        ['none', 1],
        [null, 0.25],
      ]);

      const lines = (await t.app.inject({ url: '/metrics' })).body.split('\n').filter((l) => l.startsWith('recsvc_feedback_rate_ratio{') && l.includes('rate="ctr"'));
      // One CTR series per strategy of the report, each with that strategy's value: neither lost to the other.
      expect(lines.map((l) => Number(l.split(' ').pop())).sort()).toEqual([0.25, 1]);
      expect(lines.find((l) => l.includes('strategy="none"'))).toBe('recsvc_feedback_rate_ratio{strategy="none",rate="ctr"} 1');
      // Feedback without a strategy: the empty label (no strategy label to Prometheus), which no strategy name takes.
      expect(lines.find((l) => l.includes('strategy=""'))).toBe('recsvc_feedback_rate_ratio{strategy="",rate="ctr"} 0.25');
    });

    // The report listed feedback sent with strategy "" apart from feedback sent without one.
    it('When feedback names the strategy "", Then it is stored and reported as feedback without a strategy', async () => {
      const ts = new Date(Date.now() - 2 * DAY).toISOString();
      const events = [0, 1, 2, 3].map((i) => ({ eventId: `empty-imp-${i}`, userId: 'c', itemId: `i${i}`, type: 'impression', strategy: '', ts }));
      const posted = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
      expect(posted.statusCode, posted.body).toBe(200);
      const report = (await t.app.inject({ url: '/v1/metrics/online?days=30', headers: auth('admin') })).json() as { strategies: { strategy: string | null; impressions: number; ctr: number }[] };
      // With the first test's: "none" (4 impressions, 4 clicks), and no strategy: 4 + 4 impressions, 1 click.
      expect(report.strategies.map((s) => [s.strategy, s.impressions, s.ctr])).toEqual([
        [null, 8, 0.125],
        ['none', 4, 1],
      ]);
      const { rows } = await t.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM feedback_events WHERE strategy = ''");
      expect(rows[0].n).toBe(0);
    });
  });
}
