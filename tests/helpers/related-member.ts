import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Services } from '../../src/services.js';
import { createTrainer } from '../../src/training/train-model.js';
import { SHOP_RECIPE, seedShop } from '../integration/serving/shop-fixture.js';
import type { TestApp } from './app.js';

/**
 * A related-tier member of some product's audience on `services` (buyers of related products; a candidate-tier one
 * is checked against the store's user index), and the query that lists them. The shop needs a recipe with one
 * candidate per customer (`candidates: { perUser: 1 }`) for audiences to reach that tier.
 */
export async function relatedMember(services: Services) {
  const model = (await services.serving.activeModel())!;
  for (const itemId of model.items.ids) {
    const q = { itemIds: [itemId], k: 1000, includeRecentBuyers: true };
    const member = (await services.audiences.audience(q))!.users.find((u) => u.tier === 'related');
    if (member) return { q, userId: member.userId };
  }
  throw new Error('no audience of the shop has a related-tier member');
}

/**
 * Seeds the serving shop through `a`, trains it with one candidate per customer (so audiences reach the related
 * tier) and has `a` and `b` load the version. Returns the recipes directory it wrote (the caller removes it).
 */
export async function trainRelatedTierShop(a: TestApp, b: TestApp, dirPrefix: string): Promise<string> {
  await seedShop(a.services);
  const recipesDir = mkdtempSync(path.join(tmpdir(), dirPrefix));
  writeFileSync(path.join(recipesDir, 'serving-test.json'), JSON.stringify({ ...SHOP_RECIPE, candidates: { perUser: 1 } }));
  const { services } = a;
  await createTrainer({
    events: services.events, catalog: services.catalog, store: services.store, defaultRecipe: 'serving-test', recipesDir, isolation: 'inline', threads: 1, erasures: services.erasure,
  }).train();
  await a.services.serving.refresh();
  await b.services.serving.refresh();
  return recipesDir;
}
