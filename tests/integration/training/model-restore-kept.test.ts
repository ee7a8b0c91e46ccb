/**
 * What a restore from the copies in Postgres (src/training/model-restore.ts) puts back besides the active version:
 * every version the store kept, in its order, so a rollback still answers after a Redis loss; Postgres keeping the
 * copies of what the store keeps, no more; a copy missing a chunk refused (the retraining is the fallback); and an
 * activation whose record in Postgres failed recorded again from the store, so a later loss does not bring back an
 * older model. Against the real Postgres and a redis-server of the test's own, restarted empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelCopyRepository } from '../../../src/data/model-copy-repository.js';
import { createModelRestore } from '../../../src/training/model-restore.js';
import { auth, type TestApp } from '../../helpers/app.js';
import { privateServerSupport, type PrivateRedis } from '../../helpers/private-servers.js';
import { POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { restartedEmpty, storeAnswers } from '../../helpers/store-emptied.js';
import { seedShop } from '../serving/shop-fixture.js';
import { restoreTestBed } from './restore-test-bed.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('a restore from Postgres puts back the versions kept, and only whole ones', () => {
  let redis: PrivateRedis;
  let testDb: TestDb;
  let app: TestApp;
  const bed = restoreTestBed('model-restore-kept');
  const KEPT = 3;
  // A retraining is the fallback (queued, not run here).
  const open = (kept: number) => bed.open({ kept, retrain: true });
  const listed = async (t: TestApp) => (await t.services.store.listVersions()).map((m) => m.version);
  const active = async (t: TestApp) => (await t.services.store.getActive())?.version ?? null;
  /** The versions Postgres holds a whole copy of, oldest first. */
  const copied = async (t: TestApp) => (await t.services.modelCopyRepository!.list()).filter((c) => c.meta !== null).map((c) => c.version);
  const train = async () => (await app.services.trainer.train({ tune: false })).version;
  const rollback = (version: string) => app.app.inject({ method: 'POST', url: `/v1/models/${version}/activate`, headers: auth('admin') });
  /** The store's versions and its active one, then the store restarted empty (nothing put back yet). */
  const emptied = async () => {
    const was = { before: await listed(app), current: await active(app) };
    await restartedEmpty(redis, app.services);
    return was;
  };
  /** A restore of this process's store from `copies`. */
  const restoreFrom = (copies: ModelCopyRepository, log?: (msg: string) => void) =>
    createModelRestore({ copies, store: app.services.store, log, publishScrubbed: (mark, meta, publish) => app.services.erasure.publishScrubbed(mark, meta, publish) });
  /**
   * The copies in Postgres, read by a restore: `lose` runs as it begins the first version kept for rollback (the active
   * one is back), and `closed` once that version's chunks are closed (read whole, or left when a write failed).
   */
  const lostAtFirstKept = (current: string | null, lose: () => Promise<void>, closed: () => Promise<void> = async () => {}) => {
    const repo = app.services.modelCopyRepository!;
    const lost = { again: false, copies: repo };
    lost.copies = {
      ...repo,
      async *chunks(version: string) {
        const first = version !== current && !lost.again;
        if (first) {
          lost.again = true;
          await lose();
        }
        try {
          yield* repo.chunks(version);
        } finally {
          if (first) await closed();
        }
      },
    };
    return lost;
  };
  /** Every version the store held is back in its order, the same one active, and Postgres still holds a copy of each. */
  const allBack = async ({ before, current }: { before: string[]; current: string | null }) => {
    expect(await active(app)).toBe(current);
    expect(await listed(app)).toEqual(before);
    expect((await copied(app)).sort()).toEqual([...before].sort());
  };

  beforeAll(async () => {
    ({ redis, testDb } = await bed.start());
    app = await open(KEPT);
    await seedShop(app.services);
  }, 60_000);
  afterAll(async () => {
    await app?.dispose();
    await bed.dispose();
  });

  it('When the store kept several versions (one rolled back to) and comes back empty, Then each is put back in its order, the same one active, and a rollback to a version listed before answers 200', async () => {
    const [v1, v2] = [await train(), await train(), await train()];
    expect((await rollback(v2)).statusCode).toBe(200);
    const before = await listed(app);
    expect(before).toHaveLength(KEPT);
    await restartedEmpty(redis, app.services);
    expect(await app.services.modelRestore!.restore()).toBe('restored');
    expect(await listed(app)).toEqual(before);
    expect(await active(app)).toBe(v2);
    const back = await rollback(v1);
    expect(back.statusCode, back.body).toBe(200);
    expect(await active(app)).toBe(v1);
    expect((await app.services.modelCopyRepository!.lastActive())?.version).toBe(v1);
  }, 120_000);

  it('When trainings publish past MODEL_VERSIONS_KEPT, Then the copies of the versions the store pruned are deleted with them: Postgres keeps a copy of each version kept, no more', async () => {
    const before = await listed(app);
    const trained = [await train(), await train()];
    const now = await listed(app);
    expect(now).toHaveLength(KEPT);
    expect(now).toEqual(expect.arrayContaining(trained));
    const pruned = before.filter((v) => !now.includes(v));
    expect(pruned.length).toBeGreaterThan(0);
    expect((await copied(app)).sort()).toEqual([...now].sort());
    const { rows } = await testDb.db.query<{ n: string }>('SELECT count(*) AS n FROM model_copy_chunks WHERE version = ANY($1::text[])', [pruned]);
    expect(Number(rows[0].n)).toBe(0);
  }, 120_000);

  it('When Postgres holds more copies than a store restored with fewer kept (MODEL_VERSIONS_KEPT lowered), Then the store keeps its number and the copies of the versions it did not keep are deleted', async () => {
    const newest = (await listed(app)).slice(0, 2);
    const fewer = await open(2);
    try {
      await restartedEmpty(redis, fewer.services, app.services);
      expect(await fewer.services.modelRestore!.restore()).toBe('restored');
      expect(await listed(fewer)).toEqual(newest);
      expect((await copied(fewer)).sort()).toEqual([...newest].sort());
    } finally {
      await fewer.dispose();
    }
  }, 120_000);

  it('When recording the version a publish made active fails in Postgres, Then the model recovery\'s next look records it from the store, and a store lost afterwards is put back to it, not to the older one', async () => {
    const older = await active(app);
    // Postgres refuses every activation record for a moment (the training's publish goes on: the copy never stops it).
    await testDb.db.query(`CREATE FUNCTION refuse_activation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'activation records refused'; END $$`);
    await testDb.db.query('CREATE TRIGGER refuse_activation BEFORE UPDATE OF activated_at ON model_copies FOR EACH ROW EXECUTE FUNCTION refuse_activation()');
    let newer: string;
    try {
      newer = await train();
    } finally {
      await testDb.db.query('DROP TRIGGER refuse_activation ON model_copies');
      await testDb.db.query('DROP FUNCTION refuse_activation()');
    }
    expect(await active(app)).toBe(newer);
    expect((await app.services.modelCopyRepository!.lastActive())?.version).toBe(older);
    expect(await app.services.modelRecovery!.recover()).toBeNull();
    expect((await app.services.modelCopyRepository!.lastActive())?.version).toBe(newer);
    await restartedEmpty(redis, app.services);
    expect(await app.services.modelRestore!.restore()).toBe('restored');
    expect(await active(app)).toBe(newer);
  }, 120_000);

  it('When a training publishes while a restore puts back the versions kept for rollback, Then its deletion of the copies the store does not list spares those the restore has yet to put back: each comes back, with its copy', async () => {
    const { services } = app;
    const repo = services.modelCopyRepository!;
    const before = await listed(app);
    const current = await active(app);
    expect(before).toHaveLength(KEPT);
    await restartedEmpty(redis, services);
    // A training's publish lands as the restore begins on the first version kept for rollback (the active one is
    // back): model-copies.ts published deletes the copies of every version the store does not list at that moment.
    let prunedAt: number | null = null;
    const copies = {
      ...repo,
      async *chunks(version: string) {
        if (version !== current && prunedAt === null) prunedAt = await repo.prune((await services.store.listVersions()).map((m) => m.version), 'a-training-publishing');
        yield* repo.chunks(version);
      },
    };
    const restore = createModelRestore({ copies, store: services.store, publishScrubbed: (mark, meta, publish) => services.erasure.publishScrubbed(mark, meta, publish) });
    expect(await restore.restore()).toBe('restored');
    expect(prunedAt).toBe(0);
    expect(await listed(app)).toEqual(before);
    expect(await active(app)).toBe(current);
    expect((await copied(app)).sort()).toEqual([...before].sort());
  }, 120_000);

  it('When Redis restarts empty again while a restore puts back the versions kept for rollback, Then no version is left listed with none active: the restore begins again and the active one and the others come back', async () => {
    const was = await emptied();
    // The active version is back: Redis is lost again (an OOM-killed Redis restarted as the versions fill it).
    const lost = lostAtFirstKept(was.current, async () => {
      await redis.kill();
      await redis.start();
      // Both of its connections: the restore's next write is on its artifacts' one.
      await storeAnswers(app.services.store);
    });
    expect(await restoreFrom(lost.copies).restore()).toBe('restored');
    expect(lost.again).toBe(true);
    await allBack(was);
  }, 120_000);

  it('When Redis is lost again while a restore writes a version kept for rollback (its write fails on the closed connection), Then the restore does not say restored with an empty store: it begins again and the active one and the others come back', async () => {
    const was = await emptied();
    // The active version is back; Redis goes away as the first version kept for rollback is written: that write fails
    // on the closed connection (not at the listOnly publish's check of the active version). It comes back, empty, once
    // the failed write closed that version's chunks, before the restore goes on.
    const lost = lostAtFirstKept(
      was.current,
      async () => {
        await redis.kill();
        for (let i = 0; await app.services.store.ping(); i++) {
          if (i >= 300) throw new Error('the store did not see the Redis go within 15 s');
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      async () => {
        await redis.start();
        await storeAnswers(app.services.store);
      },
    );
    const failures: string[] = [];
    expect(await restoreFrom(lost.copies, (msg) => failures.push(msg)).restore()).toBe('restored');
    expect(lost.again).toBe(true);
    expect(failures.length).toBeGreaterThan(0);
    await allBack(was);
  }, 120_000);

  it('When Redis restarts empty again after the versions kept for rollback were written, before the restore reads what the store lists, Then their copies in Postgres are not deleted as versions the store does not keep: the restore begins again and all come back', async () => {
    const store = app.services.store;
    const was = await emptied();
    const listVersions = store.listVersions;
    let calls = 0;
    // The restore reads the list twice: at its start (empty), and after the versions kept for rollback are listed,
    // to delete the copies of those the store does not keep. Redis restarts empty just before the second read.
    store.listVersions = async () => {
      if (++calls === 2) {
        await redis.kill();
        await redis.start();
        await storeAnswers(store);
      }
      return listVersions.call(store);
    };
    try {
      expect(await restoreFrom(app.services.modelCopyRepository!).restore()).toBe('restored');
    } finally {
      store.listVersions = listVersions;
    }
    await allBack(was);
    expect(calls).toBeGreaterThan(2);
  }, 120_000);

  it('When a rollback through another process lands between the model recovery reading the active version and its check of the record, Then the look does not record the version rolled back from: a later loss puts back the one rolled back to', async () => {
    const { services } = app;
    const [current, other] = await listed(app);
    expect(await active(app)).toBe(current);
    expect((await services.modelCopyRepository!.lastActive())?.version).toBe(current);
    const store = services.store;
    const getActive = store.getActive;
    let rolledBack = false;
    // The look reads the store (current), then another process rolls back (the store flipped, then its record).
    store.getActive = async () => {
      const seen = await getActive.call(store);
      if (!rolledBack) {
        rolledBack = true;
        expect((await rollback(other)).statusCode).toBe(200);
      }
      return seen;
    };
    try {
      expect(await services.modelRecovery!.recover()).toBeNull();
    } finally {
      store.getActive = getActive;
    }
    expect(rolledBack).toBe(true);
    expect(await active(app)).toBe(other);
    expect((await services.modelCopyRepository!.lastActive())?.version).toBe(other);
    // Back to the newest, for what follows.
    expect((await rollback(current)).statusCode).toBe(200);
  }, 120_000);

  it('When a copy kept for rollback misses a chunk, Then the active version and the other kept ones are put back, and the incomplete copy is not, and is deleted', async () => {
    const [current, ...others] = await listed(app);
    expect(await active(app)).toBe(current);
    const damaged = others[0];
    await testDb.db.query('DELETE FROM model_copy_chunks WHERE version = $1 AND seq = (SELECT max(seq) FROM model_copy_chunks WHERE version = $1)', [damaged]);
    await restartedEmpty(redis, app.services);
    expect(await app.services.modelRestore!.restore()).toBe('restored');
    expect(await listed(app)).toEqual([current, ...others.filter((v) => v !== damaged)]);
    expect(await copied(app)).not.toContain(damaged);
  }, 120_000);

  it('When the active version\'s copy misses a chunk, Then nothing is put back (no draft left) and the retraining is the fallback', async () => {
    const current = (await app.services.modelCopyRepository!.lastActive())!.version;
    await testDb.db.query('DELETE FROM model_copy_chunks WHERE version = $1 AND seq = (SELECT max(seq) FROM model_copy_chunks WHERE version = $1)', [current]);
    await restartedEmpty(redis, app.services);
    expect(await app.services.modelRestore!.restore()).toBe('none');
    expect(await listed(app)).toEqual([]);
    expect(await app.services.store.getArtifact(current, 'profiles')).toBeNull();
    // The model recovery's look: no copy to put back, so a training of the default recipe is queued.
    const job = await app.services.modelRecovery!.recover();
    expect(job).toEqual(expect.any(String));
    expect((await app.services.jobs.list({ type: 'train', limit: 10 })).map((j) => j.id)).toContain(job);
  }, 120_000);
});
