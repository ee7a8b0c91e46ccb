/**
 * A rollback serves an older version, whose item table is the catalog as it was at that version's training.
 * The catalog overlay (serving/catalog-overlay.ts) patches it with the changes since before the version
 * answers, so the first answers after a rollback do not recommend products taken off sale since (weeks ago,
 * perhaps); the background passes only catch the last seconds' changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { createServing } from '../../../src/serving/create-serving.js';
import { auth, createTestApp, listedItemIds, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('a rollback and items taken off sale since', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    await seedShop(t.services);
  });
  afterAll(() => t.dispose());

  const list = (url: string) => listedItemIds(t, url);

  it('When an older version is activated again, Then its first answers do not recommend items made unavailable since it was trained', async () => {
    const old = await trainAndPublish(t.services, 'v-old');
    const top = (await list('/v1/users/g-user0/recommendations?k=5'))[0];
    const popularTop = (await list('/v1/popular?k=3'))[0];
    // The shop takes both off sale; a later training knows it.
    for (const id of [top, popularTop]) {
      const item = (await t.services.catalog.getItem(id))!;
      await t.services.catalog.upsertItems([{ ...item, id, available: false }]);
    }
    await trainAndPublish(t.services, 'v-new');
    expect(await list('/v1/users/g-user0/recommendations?k=5')).not.toContain(top);

    // Operations roll back to the older version.
    const res = await t.app.inject({ method: 'POST', url: `/v1/models/${old}/activate`, headers: auth('admin') });
    expect(res.statusCode, res.body).toBe(200);
    const user = await list('/v1/users/g-user0/recommendations?k=5');
    const popular = await list('/v1/popular?k=3');
    expect({ user: user.includes(top), popular: popular.includes(popularTop) }).toEqual({ user: false, popular: false });
  });

  it('When a process starts while an older version is active again, Then its first answer after ready() does not recommend an item taken off sale since that version', async () => {
    const old = await trainAndPublish(t.services, 'v-old-2');
    const top = (await t.services.serving.recommendForUser('g-user1', { k: 5 })).items[0].itemId;
    const item = (await t.services.catalog.getItem(top))!;
    await t.services.catalog.upsertItems([{ ...item, id: top, available: false }]);
    await trainAndPublish(t.services, 'v-new-2');
    expect(await t.services.store.activate(old)).toBe(true);
    // The new process's database answers the read of changed items in 300 ms (busy, or many pages of
    // changes since a weeks-old version): within the 2 s readying waits for.
    const db = t.services.db;
    const slow: Db = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver);
        return async (sql: string, params?: unknown[]) => {
          if (sql.includes('updated_at::text AS u')) await new Promise((r) => setTimeout(r, 300));
          return target.query(sql, params as never);
        };
      },
    });
    const replica = createServing({ store: t.services.store, db: slow, catalog: t.services.catalog, recheckMs: 60_000 });
    // What the server awaits before it reports ready.
    await replica.ready();
    const first = await replica.recommendForUser('g-user1', { k: 5 });
    expect(first.modelVersion).toBe(old);
    expect(first.items.map((i) => i.itemId)).not.toContain(top);
  });
});
