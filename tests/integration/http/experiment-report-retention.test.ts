/**
 * The A/B report says when an experiment's tests do not hold its feedback from its start: it started before
 * the window, or before the feedback the shop keeps (FEEDBACK_RETENTION_DAYS), whose first days are deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

const DAY = 86_400_000;
const ARMS = [
  { name: 'control', strategy: 'popularity', share: 0.5 },
  { name: 'treatment', strategy: 'popularity', share: 0.5 },
];

describe('experiments older than the feedback kept', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb, env: { FEEDBACK_RETENTION_DAYS: '10' } });
    // Started 20 days ago and stopped; started 3 days ago and still running.
    for (const [id, ageDays] of [['old-1', 20], ['new-1', 3]] as const) {
      expect((await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: { id, arms: ARMS } })).statusCode).toBe(201);
      await t.services.db.query('UPDATE experiments SET created_at = $1 WHERE id = $2', [new Date(Date.now() - ageDays * DAY).toISOString(), id]);
      if (id === 'old-1') expect((await t.app.inject({ method: 'POST', url: `/v1/experiments/${id}/stop`, headers: auth('admin') })).statusCode).toBe(200);
    }
  });
  afterAll(() => t.dispose());

  const report = async (days: number) => {
    const res = await t.app.inject({ url: `/v1/metrics/online?days=${days}`, headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    return res.json() as { since: string; keptSince: string | null; experiments: { id: string; fromStart: boolean; feedbackTrimmed: boolean }[] };
  };
  const fromStart = (r: Awaited<ReturnType<typeof report>>) => Object.fromEntries(r.experiments.map((e) => [e.id, e.fromStart]));

  it('When the window reaches back past the feedback kept, Then the report says since when it is kept, and the older experiment is not read from its start', async () => {
    const r = await report(30);
    // The start of the UTC day 10 days back: the sweep deletes whole days.
    expect(r.keptSince).toBe(new Date(Math.floor((Date.now() - 10 * DAY) / DAY) * DAY).toISOString());
    expect(fromStart(r)).toEqual({ 'old-1': false, 'new-1': true });
  });

  it('When the window starts after the feedback kept, Then keptSince is null and only the window decides', async () => {
    const r = await report(7);
    expect(r.keptSince).toBeNull();
    expect(fromStart(r)).toEqual({ 'old-1': false, 'new-1': true });
    expect(fromStart(await report(2))).toEqual({ 'old-1': false, 'new-1': false });
  });

  it("When the sweep deletes feedback of an experiment created after its cutoff (feedback dated before the experiment), Then no report holds it from its start", async () => {
    expect((await t.app.inject({ method: 'POST', url: '/v1/experiments/new-1/stop', headers: auth('admin') })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: { id: 'trim-1', arms: ARMS } })).statusCode).toBe(201);
    await t.services.db.query('UPDATE experiments SET created_at = $1 WHERE id = $2', [new Date(Date.now() - 9 * DAY).toISOString(), 'trim-1']);
    // Feedback of it dated 12 days back (a backend's own times) and today.
    const events = [12 * DAY, 3_600_000].flatMap((ago) =>
      ARMS.map(({ name: arm }) => ({ userId: `trim-${arm}-${ago}`, itemId: 'i1', type: 'impression', experimentId: 'trim-1', arm, ts: new Date(Date.now() - ago).toISOString() })),
    );
    expect((await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } })).statusCode).toBe(200);
    const trim1 = async () => (await report(30)).experiments.find((e) => e.id === 'trim-1')!;
    // Its earliest feedback is older than what is kept: about to be deleted.
    expect(await trim1()).toMatchObject({ fromStart: false });
    expect((await t.services.feedbackRetention.sweep()).feedback).toBeGreaterThanOrEqual(2);
    // Deleted: its earliest feedback left is today's, but the sweep noted it trimmed.
    expect(await trim1()).toMatchObject({ fromStart: false, feedbackTrimmed: true });
  });

  it('When feedback names an experiment before it exists and the sweep deletes it, Then the experiment created later is not held from its start', async () => {
    const ts = new Date(Date.now() - 12 * DAY).toISOString();
    const events = ARMS.map(({ name: arm }) => ({ userId: `early-${arm}`, itemId: 'i1', type: 'impression', experimentId: 'later-1', arm, ts }));
    expect((await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } })).statusCode).toBe(200);
    expect((await t.services.feedbackRetention.sweep()).feedback).toBeGreaterThanOrEqual(2);
    expect((await t.app.inject({ method: 'POST', url: '/v1/experiments/trim-1/stop', headers: auth('admin') })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: { id: 'later-1', arms: ARMS } })).statusCode).toBe(201);
    expect((await report(30)).experiments.find((e) => e.id === 'later-1')).toMatchObject({ fromStart: false, feedbackTrimmed: true });
  });
});
