/**
 * README "Erasure": while an erasure is owed (recorded as asked, not completed), its customer's purchases stay in
 * Postgres, and the data team's evaluations read none of them, as a training reads none: an evaluation
 * (`POST /v1/evaluations`; `npm run evaluate` builds the same service) and the tune command's read of the database
 * (`npm run tune`: readTuneInput) leave their purchases and attributes out, as an erased customer's are gone. Real
 * Postgres (a schema of the shared test database).
 */
import { describe, expect, it } from 'vitest';
import { readTuneInput } from '../../../src/cli/tune-command.js';
import { purchaseRangeWithoutOwed, readOwedFreeInput } from '../../../src/evaluation/owed-free-input.js';
import { auth, finishedJob } from '../../helpers/app.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { DAY, seedShop, T0 } from '../serving/shop-fixture.js';

interface Split {
  trainUsers: number;
  testUsers: { novel?: number };
}

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))("an owed erasure's customers in evaluations and tuning", () => {
  // The re-driver waits an hour: nothing completes the owed erasures during the test.
  const t = owedErasureApp({ prepare: seedShop });
  const owedIds = ['g-user11', 'k-user11'];
  /** The split of an evaluation of the default recipe with its cutoff between the shop's two orders per buyer. */
  const evaluated = async (): Promise<Split> => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/evaluations', headers: auth('admin'),
      payload: { split: { kind: 'temporal', cutoff: new Date(T0 + 30 * DAY).toISOString() }, modes: ['novel'], ks: [5] },
    });
    expect(res.statusCode).toBe(202);
    const job = await finishedJob(t, `/v1/evaluations/${(res.json() as { jobId: string }).jobId}`, 60_000);
    expect(job.status).toBe('succeeded');
    return (job.report as { split: Split }).split;
  };
  const sources = () => ({ events: t.services.events, catalog: t.services.catalog });
  /** The tune command's input: its purchases' customers and the customers with attributes. */
  const tuneInput = async () => {
    const input = await readTuneInput(sources());
    return { purchases: input.purchases!.length, buyers: [...input.purchases!.userIds], users: [...(input.users ?? [])].map((u) => u.id) };
  };

  it('When erasures are owed, Then an evaluation and the tune command read none of their customers', async () => {
    // Every buyer on both sides of the cutoff, each with new items after it.
    expect(await evaluated()).toMatchObject({ trainUsers: 24, testUsers: { novel: 24 } });
    const all = await tuneInput();
    expect(owedIds.every((id) => all.buyers.includes(id) && all.users.includes(id))).toBe(true);

    // Owed: recorded as asked, not due for an hour.
    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) SELECT unnest($1::text[]), now() + interval '1 hour'", [owedIds]);

    expect(await evaluated()).toMatchObject({ trainUsers: 22, testUsers: { novel: 22 } });
    const tuned = await tuneInput();
    expect(tuned.buyers.filter((id) => owedIds.includes(id))).toEqual([]);
    expect(tuned.users.filter((id) => owedIds.includes(id))).toEqual([]);
    const { rows } = await t.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = ANY($1)', [owedIds]);
    expect(rows[0].n).toBeGreaterThan(0);
    expect(tuned.purchases).toBe(all.purchases - rows[0].n);
  }, 120_000);

  it("When the owed customers hold the latest purchases, Then an evaluation's period is checked, and windows cut, without them", async () => {
    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) SELECT unnest($1::text[]), now() + interval '1 hour' ON CONFLICT DO NOTHING", [owedIds]);
    // Theirs are the latest (day 51, 11:00); the others' latest is day 50, 10:00. A test period from day 51 holds
    // only theirs: refused now (422), as with them erased, not accepted and failed as a job for want of test data.
    const res = await t.app.inject({
      method: 'POST', url: '/v1/evaluations', headers: auth('admin'),
      payload: { split: { kind: 'temporal', cutoff: new Date(T0 + 51 * DAY).toISOString() }, modes: ['novel'], ks: [5] },
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ error: { code: 'UNPROCESSABLE', message: expect.stringContaining('no purchases at or after the cutoff') } });

    // The latest purchase a window is cut from (a validation split without `end`, tune's returns window) is the others'.
    const others = new Date(T0 + 50 * DAY + 10 * 3_600_000).toISOString();
    expect(await purchaseRangeWithoutOwed(sources())).toMatchObject({ last: others });
    let latest: string | null = null;
    await readTuneInput(sources(), undefined, undefined, async (read) => ((latest = await read()), new Date(0)));
    expect(latest).toBe(others);
    // The attributes too, through the reader an evaluation uses (an evaluation's filter was left untested before).
    const input = await readOwedFreeInput(sources(), {});
    expect(input.users.map((u) => u.id).filter((id) => owedIds.includes(id))).toEqual([]);
    expect([...input.purchases.userIds].filter((id) => owedIds.includes(id))).toEqual([]);
  }, 120_000);
  it("When every buyer's erasure is owed, Then an evaluation is refused saying so, not that no purchases are stored", async () => {
    const { rows: buyers } = await t.services.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events');
    const ids = buyers.map((r) => r.user_id);
    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) SELECT unnest($1::text[]), now() + interval '1 hour' ON CONFLICT DO NOTHING", [ids]);
    try {
      const owedOnly = expect.stringContaining('every purchase stored is of a customer whose erasure is owed');
      // A split with a period: refused as it is submitted (npm run evaluate refuses it the same way: the same prepare).
      for (const split of [{ kind: 'temporal', cutoff: new Date(T0 + 30 * DAY).toISOString() }, { kind: 'validation', days: 7 }]) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('admin'), payload: { split, modes: ['novel'], ks: [5] } });
        expect(res.statusCode, res.body).toBe(422);
        expect(res.json()).toMatchObject({ error: { code: 'UNPROCESSABLE', message: owedOnly, details: [{ path: 'split', message: owedOnly }] } });
      }
      // Split per customer (no period to check at submission): the job fails saying the same.
      const res = await t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('admin'), payload: { split: { kind: 'leave-last-order' }, modes: ['novel'], ks: [5] } });
      expect(res.statusCode, res.body).toBe(202);
      const job = await finishedJob(t, `/v1/evaluations/${(res.json() as { jobId: string }).jobId}`, 60_000);
      expect(job).toMatchObject({ status: 'failed', error: owedOnly });
    } finally {
      await t.services.db.query('DELETE FROM erasure_requests WHERE user_id = ANY($1::text[])', [ids]);
    }
  }, 120_000);
});
