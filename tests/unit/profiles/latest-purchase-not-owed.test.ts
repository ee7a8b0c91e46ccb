import { describe, expect, it } from 'vitest';
import { latestPurchaseNotOwed } from '../../../src/profiles/profile-service.js';
import { createOwedErasures } from '../../../src/privacy/owed-erasures.js';

/**
 * A refreshed profile's recency is measured from the shop's latest purchase of a customer whose erasure is not owed
 * (README "Erasure"). Found among the latest few purchases, the owed list looked up here, not sent to Postgres; only
 * when every one of those is owed does the statement with the owed ids run.
 */
function events(purchases: Array<{ userId: string; ts: string }>) {
  const ranges: Array<readonly string[]> = [];
  const latestFirst = [...purchases].sort((a, b) => b.ts.localeCompare(a.ts));
  return {
    ranges,
    latestPurchases: async (limit: number) => latestFirst.slice(0, limit),
    purchaseRange: async (without: readonly string[] = []) => {
      ranges.push(without);
      const kept = latestFirst.filter((p) => !without.includes(p.userId));
      return { first: kept.at(-1)?.ts ?? null, last: kept[0]?.ts ?? null };
    },
  };
}
const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();
const owing = (...ids: string[]) => {
  const owed = createOwedErasures();
  for (const id of ids) owed.add(id);
  return owed;
};

describe("a refreshed profile's latest purchase without the owed customers'", () => {
  const shop = [
    { userId: 'a', ts: at(1) },
    { userId: 'b', ts: at(2) },
    { userId: 'x', ts: at(3) },
    { userId: 'y', ts: at(4) },
  ];

  it('When none is owed, Then it is the latest purchase, read as before', async () => {
    const e = events(shop);
    expect(await latestPurchaseNotOwed(e, owing())).toBe(at(4));
    expect(e.ranges).toEqual([[]]);
  });

  it('When the latest buyers are owed, Then it is the latest of the others, and no owed id is sent', async () => {
    const e = events(shop);
    expect(await latestPurchaseNotOwed(e, owing('x', 'y', 'gone'), 3)).toBe(at(2));
    expect(e.ranges).toEqual([]);
  });

  it('When every purchase looked at is owed, Then the statement with the owed ids finds the latest of the others', async () => {
    const e = events(shop);
    expect(await latestPurchaseNotOwed(e, owing('x', 'y'), 2)).toBe(at(2));
    expect(e.ranges.map((ids) => [...ids].sort())).toEqual([['x', 'y']]);
  });

  it('When every purchase stored is of an owed customer, Then there is none', async () => {
    const e = events(shop);
    expect(await latestPurchaseNotOwed(e, owing('a', 'b', 'x', 'y'), 8)).toBeNull();
    expect(await latestPurchaseNotOwed(e, owing('a', 'b', 'x', 'y'), 4)).toBeNull();
  });
});
