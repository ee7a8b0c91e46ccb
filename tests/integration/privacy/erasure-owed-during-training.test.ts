/**
 * README "Erasure": while an erasure is owed (asked, recorded in erasure_requests, not completed), a training does not
 * learn the customer; one asked after the training read its data "is scrubbed from the version before it is
 * published, as erasures during a training are" (user-erasure.ts publishScrubbed reads the owed list under the
 * erasure lock). Here the erasure is owed from just after the training's load: its data was read, and the published
 * version must hold none of it. Real Postgres, the in-process model store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';

const runnable = await serviceAvailable(POSTGRES_URL);
if (!runnable && process.env.REQUIRE_SERVICES === 'true') throw new Error('Postgres is required (REQUIRE_SERVICES=true)');

describe.skipIf(!runnable)('an erasure owed from after a training read its data', () => {
  const t = owedErasureApp({ prepare: seedShop });
  const recipesDir = mkdtempSync(path.join(tmpdir(), 'owed-training-recipes-'));
  writeFileSync(path.join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
  afterAll(() => rmSync(recipesDir, { recursive: true, force: true }));

  it('When an erasure is recorded as owed after the load, Then the published version holds no entry of the customer, and the others keep theirs', async () => {
    const { services } = t;
    const steps: string[] = [];
    const trained = await createTrainer({
      events: services.events, catalog: services.catalog, store: services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, erasures: services.erasure,
      // Asked (a DELETE answered 503: recorded, then failed) once the training holds the customer's data.
      afterStep: async (step) => {
        steps.push(step);
        if (step === 'load') await services.db.query("INSERT INTO erasure_requests (user_id, next_at) VALUES ('k-user4', now() + interval '1 hour')");
      },
    }).train();
    expect(steps).toContain('load');
    // Read with the customer (the erasure came after the load), published without them.
    const { rows } = await services.db.query<{ users: number }>('SELECT count(DISTINCT user_id)::int AS users FROM purchase_events');
    expect(trained.data.users).toBe(rows[0].users);
    expect((await services.store.getEntries(trained.version, USERS_TABLE, ['k-user4']))[0]).toBeNull();
    expect((await services.store.getEntries(trained.version, USERS_TABLE, ['k-user5']))[0]).not.toBeNull();
    // Still owed: nothing of it is completed by the training.
    const { rows: owed } = await services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM erasure_requests WHERE user_id = 'k-user4'");
    expect(owed[0].n).toBe(1);
  }, 120_000);
});
