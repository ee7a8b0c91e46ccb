/**
 * Migration 023 adds feedback_daily_counts.model_version, and the rollup of the new code fills it. During a
 * rolling upgrade a replica still on the release before counts closed days as it always did (every API
 * process counts them in the background, ONLINE_METRICS_COUNT_MS): its statement names no model_version, so a
 * day it counts gets all its rows under NULL, and that day stays counted. The new replicas' per-version report
 * then shows that day's feedback on version X as feedback "naming no signed recommendationId", for good.
 *
 * The older replica's count is reproduced here with the statements of feedback-rollup.ts as of 721e030^.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

const DAY = 86_400_000;

/** countSpan of the release before migration 023 (src/data/feedback-rollup.ts at 721e030^), as an older replica runs it. */
async function olderReplicaCounts(db: Db, day: string): Promise<void> {
  await db.query('INSERT INTO feedback_counted_days (day, counted) VALUES ($1::date, false) ON CONFLICT (day) DO NOTHING', [day]);
  const start = new Date(day).toISOString();
  const end = new Date(Date.parse(day) + DAY).toISOString();
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7262361205)');
    const { rows } = await tx.query<{ day: string; changes: string }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, changes::text AS changes FROM feedback_counted_days
       WHERE day = ANY($1::date[]) AND NOT counted ORDER BY day`,
      [[day]],
    );
    const days = rows.map((r) => r.day);
    await tx.query('DELETE FROM feedback_daily_counts WHERE day = ANY($1::date[])', [days]);
    await tx.query(
      `INSERT INTO feedback_daily_counts (day, strategy, experiment_id, arm, campaign_id, impressions, clicks, add_to_cart, purchases)
       SELECT (ts AT TIME ZONE 'UTC')::date, strategy, experiment_id, arm, campaign_id,
              count(*) FILTER (WHERE type = 'impression'), count(*) FILTER (WHERE type = 'click'),
              count(*) FILTER (WHERE type = 'add_to_cart'), count(*) FILTER (WHERE type = 'purchase')
       FROM feedback_events
       WHERE ts >= $1 AND ts < $2 AND (ts AT TIME ZONE 'UTC')::date = ANY($3::date[])
       GROUP BY 1, 2, 3, 4, 5`,
      [start, end, days],
    );
    await tx.query('SELECT 1 FROM feedback_counted_days WHERE day = ANY($1::date[]) ORDER BY day FOR UPDATE', [days]);
    await tx.query(
      `UPDATE feedback_counted_days c SET counted = true FROM unnest($1::date[], $2::bigint[]) AS r(day, changes)
       WHERE c.day = r.day AND c.changes = r.changes`,
      [days, rows.map((r) => r.changes)],
    );
  });
}

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('per-version online metrics during a rolling upgrade (migration 023)', () => {
  let t: TestApp;
  let testDb: TestDb;
  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    t = await createTestApp({ createDb: async () => ({ db: testDb.db, dispose: async () => {} }) });
    await seedShop(t.services);
    await trainAndPublish(t.services, 'mv-upgrade');
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    await testDb?.dispose();
  });

  it('When a replica still on the release before counts a closed day, Then that day\'s feedback still counts for the version its signed id names', async () => {
    const list = (await t.app.inject({ url: '/v1/users/g-user1/recommendations?k=3', headers: auth('read') })).json() as { recommendationId: string; modelVersion: string; items: { itemId: string }[] };
    expect(list.modelVersion).toBe('mv-upgrade');
    // A closed day (three days back, noon UTC), feedback sent through a new replica: stored with its version.
    const back = new Date(Math.floor(Date.now() / DAY) * DAY - 3 * DAY + DAY / 2);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: { authorization: `Bearer ${KEYS.write}` },
      payload: { events: ['impression', 'click'].map((type) => ({ userId: 'g-user1', itemId: list.items[0].itemId, type, recommendationId: list.recommendationId, ts: back.toISOString(), eventId: randomUUID() })) },
    });
    expect(res.statusCode, res.body).toBe(200);
    const stored = await testDb.db.query<{ model_version: string | null }>('SELECT DISTINCT model_version FROM feedback_events');
    expect(stored.rows).toEqual([{ model_version: 'mv-upgrade' }]);

    // The older replica's background count gets to that day first.
    await olderReplicaCounts(testDb.db, back.toISOString().slice(0, 10));

    const report = (await t.app.inject({ url: '/v1/metrics/online?days=30', headers: auth('admin') })).json() as { modelVersions: { modelVersion: string | null; impressions: number; clicks: number }[] };
    // Observed: [{ modelVersion: null, impressions: 1, clicks: 1 }]: the version's feedback is reported as naming no signed id.
    expect(report.modelVersions.map(({ modelVersion, impressions, clicks }) => ({ modelVersion, impressions, clicks }))).toEqual([{ modelVersion: 'mv-upgrade', impressions: 1, clicks: 1 }]);
  });
});
