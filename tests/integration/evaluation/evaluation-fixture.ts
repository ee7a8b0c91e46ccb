/**
 * Two shops whose customers never mix: users a-u0..a-u5 buy items a0..a5, users b-* buy b0..b5.
 * Before the cutoff each user places three one-item orders of items u, u+1, u+2 (mod 6), so every item
 * is in the train catalog. After the cutoff:
 * - u0..u3 each buy item u+3, new to them: test users in both modes;
 * - u4 buys its own first item again: a test user in mode `all` only;
 * - u5 buys an item nobody bought before the cutoff (not in the train catalog): no test user;
 * - a user with no purchase before the cutoff buys item 0: no test user.
 */
export const CUTOFF = '2011-06-01T00:00:00.000Z';

export interface FixturePurchase {
  userId: string;
  itemId: string;
  quantity: number;
  price: number;
  orderId: string;
  ts: string;
}

const DAY = 86_400_000;

export function twoShopsAroundCutoff(): FixturePurchase[] {
  const start = Date.parse('2011-03-01T10:00:00Z');
  const after = Date.parse(CUTOFF) + 5 * DAY;
  const out: FixturePurchase[] = [];
  const buy = (userId: string, itemId: string, orderId: string, ts: number) =>
    out.push({ userId, itemId, quantity: 1, price: 2.5, orderId, ts: new Date(ts).toISOString() });
  for (const shop of ['a', 'b']) {
    for (let u = 0; u < 6; u++) {
      const user = `${shop}-u${u}`;
      for (let o = 0; o < 3; o++) buy(user, `${shop}${(u + o) % 6}`, `${user}-o${o}`, start + (o * 10 + u) * DAY);
      if (u <= 3) buy(user, `${shop}${(u + 3) % 6}`, `${user}-t`, after + u * DAY);
      if (u === 4) buy(user, `${shop}4`, `${user}-t`, after + u * DAY);
      if (u === 5) buy(user, `${shop}-new`, `${user}-t`, after + u * DAY);
    }
    buy(`${shop}-late`, `${shop}0`, `${shop}-late-o0`, after);
  }
  return out;
}

/**
 * Test users of the protocol counted straight from the purchases (independently of src/evaluation):
 * >= 1 train purchase and >= 1 test item in the train catalog, which in mode `novel` must also be new
 * to the user.
 */
export function countTestUsers(purchases: FixturePurchase[], cutoff: string): { novel: number; all: number } {
  const c = Date.parse(cutoff);
  const train = purchases.filter((p) => Date.parse(p.ts) < c);
  const test = purchases.filter((p) => Date.parse(p.ts) >= c);
  const catalog = new Set(train.map((p) => p.itemId));
  const bought = (user: string, item: string) => train.some((p) => p.userId === user && p.itemId === item);
  const users = new Set(train.map((p) => p.userId));
  const count = (novel: boolean) =>
    [...users].filter((u) => test.some((p) => p.userId === u && catalog.has(p.itemId) && !(novel && bought(u, p.itemId)))).length;
  return { novel: count(true), all: count(false) };
}
