/**
 * The overview's count reads what the customers owed add to it beside the count, in its background (service-overview.ts).
 * That read grows with the owed list (3.5 s for 10,000 owed at ten times our data on a cold heap, 1.5-4x that on a
 * loaded machine: bench/README "Owed erasures in the aggregates") and ran under the statement limit of whichever
 * request started the count (PG_QUERY_TIMEOUT_MS, 10 s): past it, the whole count failed with it, so the first
 * overview answered 503 and every later one the last counts for good. A read many calls share runs under
 * LONG_STATEMENT_MS, as the other shared scans do (query-timeout.ts startShared). Real Postgres (a schema of the
 * shared test database); the owed customers' read is the repository's, made slower than the request's limit by a
 * pg_sleep before it (as a long owed list on a cold heap is), the count itself is not.
 * (Reviewer r4, fifty-fifth session.)
 */
import { describe, expect, it } from 'vitest';
import { withQueryTimeout } from '../../../src/data/query-timeout.js';
import { createServiceOverview } from '../../../src/training/service-overview.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))("the overview's count with a read of the owed customers slower than a request's limit", () => {
  const t = owedErasureApp({ prepare: seedShop });

  it('When the owed customers take longer to read than the request that starts the count may wait, Then the count is still made and answered without them', async () => {
    const owedIds = ['g-user11', 'k-user11'];
    const repo = t.services.customers;
    const all = await repo.counts();
    const { rows } = await t.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = ANY($1)', [owedIds]);
    expect(rows[0].n).toBeGreaterThan(0);
    for (const id of owedIds) t.services.owedErasures.add(id);
    try {
      const overview = createServiceOverview({
        customers: {
          counts: () => repo.counts(),
          countsOf: async (ids, without) => {
            await t.services.db.query('SELECT pg_sleep(3)');
            return repo.countsOf(ids, without);
          },
        },
        owed: t.services.owedErasures,
        store: t.services.store,
        served: async () => null,
      });
      // A request's limit (PG_QUERY_TIMEOUT_MS) well under the owed read, well over the count of this small shop.
      const got = await withQueryTimeout(1_500, () => overview());
      expect(got.counts.customers).toBe(all.customers - 2);
      expect(got.counts.purchases).toBe(all.purchases - rows[0].n);
    } finally {
      for (const id of owedIds) t.services.owedErasures.settled(id);
    }
  }, 60_000);
});
