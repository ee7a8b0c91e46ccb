import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedTwoShops, twoShopPurchases } from './purchase-fixture.js';

const DAY = 86_400_000;
const TUNE = { folds: 2, days: 4, variants: false };

/**
 * A training's own tuning validates rolling windows (here 2 of 4 days) ending just after the latest purchase, each
 * fold trained on the purchases before its window. A return made inside a window is a fact of that window: no fold
 * may see it. Every customer's first order (bought before the windows) is returned one day before the latest
 * purchase, inside the last window: tuning must measure and choose exactly as on the same shop without those
 * returns, while the model trained (the training's own data) is net of them.
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))("a training's tuning and returns made inside its validation windows", () => {
  let plain: TestApp;
  let planted: TestApp;
  beforeAll(async () => {
    [plain, planted] = await Promise.all([0, 1].map(() => createTestApp({ createDb: createPostgresTestDb, env: { TRAIN_THREADS: '1' } })));
    await Promise.all([seedTwoShops(plain.services), seedTwoShops(planted.services)]);
    const purchases = twoShopPurchases();
    const latest = Math.max(...purchases.map((p) => p.ts.getTime()));
    const firstOrders = purchases.filter((p) => p.orderId!.endsWith('-o0'));
    expect(Math.max(...firstOrders.map((p) => p.ts.getTime()))).toBeLessThan(latest + 1 - TUNE.folds * TUNE.days * DAY);
    await planted.services.events.insertReturns(firstOrders.map((p) => ({ userId: p.userId, itemId: p.itemId, quantity: p.quantity, orderId: p.orderId, ts: new Date(latest - DAY) })));
  }, 240_000);
  afterAll(async () => {
    await plain?.dispose();
    await planted?.dispose();
  });

  it('When both shops are trained with tuning, Then the returns in the window change nothing tuning measured or chose, and the model is net of them', async () => {
    const [a, b] = [await plain.services.trainer.train({ tune: TUNE }), await planted.services.trainer.train({ tune: TUNE })];
    expect(a.tuning && !('skipped' in a.tuning)).toBe(true);
    const measured = (r: typeof a) => JSON.parse(JSON.stringify(r.tuning, (k, v) => (/ms$|Ms$|seconds|duration/i.test(k) ? undefined : v)));
    expect(measured(b)).toEqual(measured(a));
    // The training's own data is net of them: every first order is gone from the model's purchases.
    expect(b.data.events).toBe(a.data.events - twoShopPurchases().filter((p) => p.orderId!.endsWith('-o0')).length);
  }, 480_000);
});
