/**
 * 6c2fd06: GET /v1/overview names the model this process serves and reads the store's active version beside
 * it; a store that does not answer "no longer fails the overview" and leaves `activeInStore` out. A process
 * that serves nothing yet (it started during a Redis outage, or its first load failed) then answers exactly
 * what a shop that was never trained answers, { model: null }: the dashboard reads "No model yet: start a
 * training below" over a shop whose store holds models, which is what the commit set out to end.
 */
import { describe, expect, it } from 'vitest';
import type { DataCounts } from '../../../src/data/customer-repository.js';
import type { ModelMeta } from '../../../src/store/model-store.js';
import { createServiceOverview } from '../../../src/training/service-overview.js';

const counts: DataCounts = { items: 10, customers: 5, purchases: 40, orders: 12, feedback: 0, firstPurchase: '2024-01-01T00:00:00.000Z', lastPurchase: '2024-02-01T00:00:00.000Z' };
const customers = { counts: async () => counts };

describe('the overview while the model store does not answer', () => {
  it('When this process serves no model yet and the store is down, Then the overview does not read as a shop never trained', async () => {
    const storeDown = createServiceOverview({
      customers,
      store: { getActive: async (): Promise<ModelMeta | null> => { throw new Error('connect ECONNREFUSED 127.0.0.1:6379'); } },
      served: async () => null,
    });
    const neverTrained = createServiceOverview({ customers, store: { getActive: async () => null }, served: async () => null });
    const never = await neverTrained();
    expect(never).toEqual({ counts: { ...counts, countedAt: expect.any(String), ageSeconds: 0 }, model: null });
    // Observed: { counts, model: null } as well: nothing tells the store did not answer.
    expect(await storeDown().catch((err: unknown) => ({ rejected: String(err) }))).not.toEqual(never);
  });
});
