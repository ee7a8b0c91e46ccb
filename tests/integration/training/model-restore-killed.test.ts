/**
 * A restore (src/training/model-restore.ts) killed while it puts back the versions kept for rollback leaves a draft
 * listed nowhere: its lease in the store (ModelStore.leaseDraft) runs out, and then an erasure deletes it with the
 * customers it holds, and so does another process's model recovery at its next look; a draft whose writer is at work
 * (a restore's, a training's) is never deleted. The killed writer is a process of its own on the same Redis and
 * Postgres, stopped before it published the draft and closed; against the real Postgres and a redis-server of the
 * test's own, restarted empty.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createModelCopyRepository } from '../../../src/data/model-copy-repository.js';
import { createModelRestore } from '../../../src/training/model-restore.js';
import { auth, type TestApp } from '../../helpers/app.js';
import { privateServerSupport, type PrivateRedis } from '../../helpers/private-servers.js';
import { POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { restartedEmpty } from '../../helpers/store-emptied.js';
import { writesAfter } from '../../helpers/writes-held.js';
import { seedShop } from '../serving/shop-fixture.js';
import { restoreTestBed } from './restore-test-bed.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** The lease of the killed writer's restore (Postgres's and the draft's): short, so the test waits little for it to run out. */
const KILLED_LEASE_MS = 300;

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('a restore killed while it puts back the versions kept leaves no draft for good', () => {
  let redis: PrivateRedis;
  let testDb: TestDb;
  let survivor: TestApp;
  const bed = restoreTestBed('model-restore-killed');
  const { prefix } = bed;
  const KEPT = 3;
  const open = () => bed.open({ kept: KEPT });
  const train = async () => (await survivor.services.trainer.train({ tune: false })).version;
  const erase = async (user: string) => (await survivor.app.inject({ method: 'DELETE', url: `/v1/users/${user}`, headers: auth('admin') })).statusCode;
  const store = () => survivor.services.store;
  /** Whether the store holds anything of `version` (its profiles artifact, the customer's entry). */
  const holds = async (version: string, user: string) => ({
    profiles: (await store().getArtifact(version, PROFILES_ARTIFACT)) !== null,
    entry: (await store().getEntries(version, USERS_TABLE, [user]))[0] !== null,
  });
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The keys of the test's Redis that match `pattern`. */
  const rawKeys = async (pattern: string) => {
    const raw = new Redis(redis.url);
    try {
      const keys: string[] = [];
      for await (const batch of raw.scanStream({ match: pattern, count: 1000 })) keys.push(...(batch as string[]));
      return keys;
    } finally {
      raw.disconnect();
    }
  };

  /**
   * KEPT trainings (whole copies to put back), then a writer process of its own and the Redis restarted empty: the
   * writer (the caller disposes it) and the version active before.
   */
  async function trainedThenEmptied() {
    for (let i = 0; i < KEPT; i++) await train();
    const writer = await open();
    try {
      await restartedEmpty(redis, survivor.services, writer.services);
      return { writer, active: (await survivor.services.modelCopyRepository!.lastActive())!.version };
    } catch (err) {
      await writer.dispose();
      throw err;
    }
  }
  /**
   * A restore by `writer` with leases of `leaseMs`: on its own store, its erasure's publish and its copies, unless
   * `over` says otherwise (a store that pauses or counts, a publish that waits).
   */
  const restoreBy = (writer: TestApp, leaseMs: number, over: Partial<Parameters<typeof createModelRestore>[0]> = {}) =>
    createModelRestore({
      copies: writer.services.modelCopyRepository!, store: writer.services.store, leaseMs, publishScrubbed: writer.services.erasure.publishScrubbed, ...over,
    });
  /** Redis's clock (the one the draft leases run on), ms, read through `raw`. */
  const redisNow = async (raw: Redis) => {
    const [s, us] = await raw.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  /**
   * Redis restarts empty; a process of its own restores, puts the active version back, writes the first version kept
   * for rollback as a draft and stops before its publish (killed), and is closed. Resolves with that draft's version.
   * `closed` false: the writer is left at work (stopped before the publish, not closed), and `go` lets it publish.
   */
  async function killedInKeptPhase(opts: { closed: boolean; leaseMs?: number } = { closed: true }) {
    const writer = await open();
    await restartedEmpty(redis, survivor.services, writer.services);
    const active = (await survivor.services.modelCopyRepository!.lastActive())!.version;
    let stopped: (version: string) => void = () => {};
    const at = new Promise<string>((r) => (stopped = r));
    let go: () => void = () => {};
    const resumed = new Promise<void>((r) => (go = r));
    const restore = restoreBy(writer, opts.leaseMs ?? KILLED_LEASE_MS, {
      publishScrubbed: async (mark, meta, publish) => {
        if (meta.version !== active) {
          stopped(meta.version);
          // Killed here: nothing after this runs (closed: the process is gone), or only once the test says go.
          await resumed;
          if (opts.closed) await new Promise(() => {});
        }
        return writer.services.erasure.publishScrubbed(mark, meta, publish);
      },
    });
    const outcome = restore.restore();
    const draft = await at;
    if (opts.closed) await writer.dispose();
    return { draft, active, writer, outcome, go };
  }

  beforeAll(async () => {
    ({ redis, testDb } = await bed.start());
    survivor = await open();
    await seedShop(survivor.services);
    for (let i = 0; i < KEPT; i++) await train();
  }, 60_000);
  afterAll(async () => {
    await survivor?.dispose();
    await bed.dispose();
  });

  it('When a restore is killed before it publishes a version kept for rollback and a customer is erased once its lease ran out, Then the erasure deletes the draft: it holds neither them nor anything else', async () => {
    const { draft, active } = await killedInKeptPhase();
    expect(draft).not.toBe(active);
    expect(await store().getActive()).toMatchObject({ version: active });
    expect((await store().listVersions()).map((m) => m.version)).not.toContain(draft);
    // The draft is whole and holds the customer (what the erasure must not leave behind).
    expect(await holds(draft, 'g-user4')).toEqual({ profiles: true, entry: true });
    await pause(3 * KILLED_LEASE_MS);
    expect(await erase('g-user4')).toBe(204);
    expect(await holds(draft, 'g-user4')).toEqual({ profiles: false, entry: false });
    expect(await holds(active, 'g-user4')).toEqual({ profiles: true, entry: false });
  }, 120_000);

  it('When a restore is killed in the same place, Then another process\'s model recovery deletes the draft at its look once the lease ran out, and a restore later puts every version kept back', async () => {
    // Copies again (the erasure above deleted them), the newest versions kept.
    for (let i = 0; i < KEPT; i++) await train();
    const before = (await store().listVersions()).map((m) => m.version);
    const { draft, active } = await killedInKeptPhase();
    expect(await holds(draft, 'g-user5')).toEqual({ profiles: true, entry: true });
    await pause(3 * KILLED_LEASE_MS);
    expect(await survivor.services.modelRecovery!.recover()).toBeNull();
    expect(await holds(draft, 'g-user5')).toEqual({ profiles: false, entry: false });
    expect(await store().getActive()).toMatchObject({ version: active });
    // Nothing of the killed restore is left in the way of the next one.
    await restartedEmpty(redis, survivor.services);
    expect(await survivor.services.modelRestore!.restore()).toBe('restored');
    expect((await store().listVersions()).map((m) => m.version)).toEqual(before);
  }, 120_000);

  it('When a restore is at work on a version kept for rollback (its lease held), Then another process\'s look and an erasure leave its draft alone, and it publishes it scrubbed of the customer erased meanwhile', async () => {
    const before = (await store().listVersions()).map((m) => m.version);
    // The default lease: held throughout, whatever the machine's load.
    const { draft, writer, outcome, go } = await killedInKeptPhase({ closed: false, leaseMs: 120_000 });
    try {
      expect(await survivor.services.modelRecovery!.recover()).toBeNull();
      expect(await holds(draft, 'g-user6')).toEqual({ profiles: true, entry: true });
      expect(await erase('g-user6')).toBe(204);
      expect((await holds(draft, 'g-user6')).profiles).toBe(true);
      go();
      expect(await outcome).toBe('restored');
      // Put back where it was (the versions after it are not: the erasure deleted their copies).
      expect((await store().listVersions()).map((m) => m.version)).toEqual(before.filter((v, k) => k === 0 || v === draft));
      expect(await holds(draft, 'g-user6')).toEqual({ profiles: true, entry: false });
    } finally {
      go();
      await writer.dispose();
    }
  }, 120_000);

  it('When a restore is paused past its draft\'s lease, a sweep deletes the draft and the restore then writes one more part, Then that part is deleted too once it finds the lease lost (nothing of the draft is left)', async () => {
    const { writer, active } = await trainedThenEmptied();
    try {
      const real = writer.services.store;
      let paused: string | null = null;
      let writes = 0;
      /** The second write of the first version kept for rollback comes after a pause past the lease and another process's sweep. */
      const late = async (version: string) => {
        if (version === active || (paused !== null && paused !== version) || ++writes !== 2) return;
        paused = version;
        await pause(3 * KILLED_LEASE_MS);
        expect(await survivor.services.store.sweepDrafts!()).toEqual([version]);
      };
      const store = writesAfter(real, late);
      const restore = restoreBy(writer, KILLED_LEASE_MS, { store });
      expect(await restore.restore()).toBe('restored');
      expect(paused).not.toBeNull();
      expect((await store.listVersions()).map((m) => m.version)).not.toContain(paused);
      // Every key of the version's slot: what the restore wrote after the sweep included.
      const keys = await rawKeys(`${prefix}{v:${paused!}}:*`);
      expect(keys).toEqual([]);
    } finally {
      await writer.dispose();
    }
  }, 120_000);

  it('When a training has written its draft and not published it yet, Then another process\'s look and erasure leave it alone, and it publishes it scrubbed of the customer erased', async () => {
    const { services } = survivor;
    const contentsOf = services.store.contentsOf!;
    let checked = false;
    // The training's check of what it wrote, before its publish: the draft is whole then.
    services.store.contentsOf = async (version, names) => {
      if (!checked) {
        checked = true;
        const other = await open();
        try {
          expect(await other.services.modelRecovery!.recover()).toBeNull();
          expect(await other.services.store.sweepDrafts!()).toEqual([]);
          expect((await other.app.inject({ method: 'DELETE', url: '/v1/users/g-user8', headers: auth('admin') })).statusCode).toBe(204);
        } finally {
          await other.dispose();
        }
        expect(await holds(version, 'g-user7')).toEqual({ profiles: true, entry: true });
      }
      return contentsOf.call(services.store, version, names);
    };
    let trained: string;
    try {
      trained = await train();
    } finally {
      services.store.contentsOf = contentsOf;
    }
    expect(checked).toBe(true);
    expect(await store().getActive()).toMatchObject({ version: trained });
    expect(await holds(trained, 'g-user7')).toEqual({ profiles: true, entry: true });
    expect((await holds(trained, 'g-user8')).entry).toBe(false);
  }, 120_000);
  it('When a restore of the release before (no draft lease) puts back a version on which a killed restore left its lease run out, Then no look nor erasure deletes its draft while it holds its lease in Postgres; after it, the draft is swept', async () => {
    await train();
    const copies = survivor.services.modelCopyRepository!;
    const active = (await copies.lastActive())!.version;
    const draft = 'v20990101T000000Z-0ld1';
    // The killed restore's lease, run out.
    expect(await store().leaseDraft!(draft, 'killed-restore', 1)).toBe(true);
    await pause(50);
    // The old release's restore: its Postgres lease, then the draft written without a draft lease.
    expect(await copies.takeLease(active, 'old-release', 120_000)).toBe(true);
    try {
      await store().putArtifact(draft, PROFILES_ARTIFACT, new Uint8Array([1, 2, 3]));
      expect(await survivor.services.modelRecovery!.recover()).toBeNull();
      expect(await erase('g-user9')).toBe(204);
      expect(await store().getArtifact(draft, PROFILES_ARTIFACT)).not.toBeNull();
    } finally {
      await copies.releaseLease(active, 'old-release');
    }
    expect(await survivor.services.modelRecovery!.recover()).toBeNull();
    expect(await store().getArtifact(draft, PROFILES_ARTIFACT)).toBeNull();
  }, 120_000);

  it('When a restore is killed in the same place and the erasures are caught up (no erasure asked) once its lease ran out, Then the catch-up deletes the draft (a store that came back empty is behind its erasure records): nothing of it is left', async () => {
    for (let i = 0; i < KEPT; i++) await train();
    const { draft, active } = await killedInKeptPhase();
    expect(await holds(draft, 'g-user10')).toEqual({ profiles: true, entry: true });
    await pause(3 * KILLED_LEASE_MS);
    // The store came back empty: its erasure records are behind, so the catch-up scrubs under the lock (and sweeps first).
    await survivor.services.erasure.catchUp();
    expect(await holds(draft, 'g-user10')).toEqual({ profiles: false, entry: false });
    expect(await store().getActive()).toMatchObject({ version: active });
  }, 120_000);

  it('When a restore of a version kept for rollback goes on longer than its draft\'s lease, Then it renews the lease as it goes: another process\'s sweep once the first lease would have run out leaves the draft, and it publishes it', async () => {
    const { writer, active } = await trainedThenEmptied();
    const LEASE_MS = 1500;
    try {
      const real = writer.services.store;
      const raw = new Redis(redis.url);
      let kept: string | null = null;
      let firstWriteAt = 0;
      const sweeps: string[][] = [];
      /**
       * Each write of the first version kept for rollback (one a part) waits half a lease first, so that the renewal
       * after each part is due (a third of a lease). The first write once a lease has passed since its first (a lease
       * not renewed has run out by then: it was taken before) is preceded by another process's sweep, just after the
       * part before's renewal; the writes after it wait no more.
       */
      const slow = async (version: string) => {
        if (version === active || (kept !== null && kept !== version) || sweeps.length > 0) return;
        if (kept === null) {
          kept = version;
          firstWriteAt = await redisNow(raw);
        } else if ((await redisNow(raw)) > firstWriteAt + LEASE_MS) {
          sweeps.push(await survivor.services.store.sweepDrafts!());
          return;
        }
        await pause(LEASE_MS / 2);
      };
      const store = writesAfter(real, slow);
      const restore = restoreBy(writer, LEASE_MS, { store });
      try {
        expect(await restore.restore()).toBe('restored');
      } finally {
        raw.disconnect();
      }
      // The sweep came (the version's writes spanned more than a lease) and took nothing.
      expect(sweeps).toEqual([[]]);
      expect((await store.listVersions()).map((m) => m.version)).toContain(kept);
      expect(await holds(kept!, 'g-user11')).toEqual({ profiles: true, entry: true });
    } finally {
      await writer.dispose();
    }
  }, 120_000);

  it('When a restore\'s publish waits for the erasure lock longer than its leases and an erasure sweeps meanwhile, Then the waiting restore keeps its leases: the draft is left, published scrubbed of the customer erased', async () => {
    const { writer, active } = await trainedThenEmptied();
    // Short, so the wait soon passes it; the renewals while it waits come every quarter of it.
    const LEASE_MS = 2000;
    /**
     * What a renewal made while the publish waits asks for instead of LEASE_MS: once renewed there, both leases hold to
     * the test's end whatever the load, so the sweep's outcome says whether they were renewed in the wait, not whether
     * the next renewal came within the margin a 2 s lease leaves (about 0.8 s: a flake under load, review r1's low).
     */
    const RENEWED_MS = 120_000;
    const raw = new Redis(redis.url);
    try {
      const realStore = writer.services.store;
      const realCopies = writer.services.modelCopyRepository!;
      let waiting = false;
      let draftRenewed = () => {};
      let leaseRenewed = () => {};
      const renewals = Promise.all([new Promise<void>((r) => (draftRenewed = r)), new Promise<void>((r) => (leaseRenewed = r))]);
      // Both leases' renewals while the publish waits: made longer, and told to the test (the event its wait ends on).
      const store = Object.create(realStore) as typeof realStore;
      store.leaseDraft = async (version, holder, ms, opts) => {
        const inWait = waiting && opts?.renew === true && version === active;
        const ok = await realStore.leaseDraft!(version, holder, inWait ? RENEWED_MS : ms, opts);
        if (inWait && ok) draftRenewed();
        return ok;
      };
      const copies = Object.create(realCopies) as typeof realCopies;
      copies.takeLease = async (version, holder, ms) => {
        const inWait = waiting && version === active;
        const ok = await realCopies.takeLease(version, holder, inWait ? RENEWED_MS : ms);
        if (inWait && ok) leaseRenewed();
        return ok;
      };
      /** Each lease's deadline and its store's clock now (ms): the draft's by Redis's, the Postgres lease's by Postgres's. */
      const draftDeadline = async () => Number((await raw.hget(`${prefix}versions:drafts`, active))?.split(':')[0]);
      const pgLease = async () => {
        const { rows } = await survivor.services.db.query<{ until: string; now: string }>(
          'SELECT extract(epoch FROM restoring_until) * 1000 AS until, extract(epoch FROM clock_timestamp()) * 1000 AS now FROM model_copies WHERE version = $1',
          [active],
        );
        return { until: Number(rows[0]?.until), now: Number(rows[0]?.now) };
      };
      let renewedInWait = false;
      const restore = restoreBy(writer, LEASE_MS, {
        store,
        copies,
        publishScrubbed: async (mark, meta, publish) => {
          if (meta.version === active && !waiting) {
            const draftUntil = await draftDeadline();
            const leaseUntil = (await pgLease()).until;
            expect(Number.isFinite(draftUntil) && Number.isFinite(leaseUntil)).toBe(true);
            waiting = true;
            // Its turn at the erasure lock comes late (an erasure ahead of it holds the lock): once both its leases were
            // renewed in the wait, and past both their deadlines as the wait began (each by its store's clock), another
            // process's erasure sweeps the drafts whose writer's lease ran out. Not renewed (the fix reverted), no event
            // comes: the wait ends after ten leases, both run out.
            renewedInWait = await Promise.race([renewals.then(() => true), pause(10 * LEASE_MS).then(() => false)]);
            while ((await redisNow(raw)) <= draftUntil) await pause(50);
            for (let pg = await pgLease(); pg.now <= leaseUntil; pg = await pgLease()) await pause(50);
            expect(await erase('k-user1')).toBe(204);
          }
          return writer.services.erasure.publishScrubbed(mark, meta, publish);
        },
      });
      expect(await restore.restore()).toBe('restored');
      expect(renewedInWait).toBe(true);
      expect(await store.getActive()).toMatchObject({ version: active });
      expect(await holds(active, 'k-user1')).toEqual({ profiles: true, entry: false });
      expect(await holds(active, 'k-user2')).toEqual({ profiles: true, entry: true });
    } finally {
      raw.disconnect();
      await writer.dispose();
    }
  }, 120_000);
  /**
   * An erasure ahead of a restore (another process's) with its transaction holding the copies' rows (its dropWhole, to
   * its commit; the restore's Postgres renewal waits on them), and the survivor's sweeps (an erasure's, services.ts:
   * only while no restore holds its Postgres lease) recorded as they end. `hold()` takes the rows, and resolves once
   * they are held with `done`: past the draft's deadline when the rows were taken and past the Postgres lease, once
   * the draft's lease was renewed (not before the fix: then past four leases), another process's erasure of `user`
   * sweeps and waits for its turn; then the rows are let go. `dispose` puts the sweep back.
   */
  function rowHeldByErasure(active: string, leaseMs: number, user: string) {
    const raw = new Redis(redis.url);
    const { store: survivorStore } = survivor.services;
    const sweepDrafts = survivorStore.sweepDrafts!;
    const copies = survivor.services.modelCopyRepository!;
    /** The deadline of `version`'s draft lease, by Redis's clock (ms). */
    const deadline = async (version: string) => Number((await raw.hget(`${prefix}versions:drafts`, version))?.split(':')[0]);
    const sweeps: string[][] = [];
    survivorStore.sweepDrafts = async () => {
      const swept = await sweepDrafts.call(survivorStore);
      sweeps.push(swept);
      return swept;
    };
    let erasing: Promise<number> | undefined;
    const hold = async () => {
      let commit = () => {};
      let holding = () => {};
      const held = new Promise<void>((r) => (holding = r));
      const committed = survivor.services.db.transaction(async (tx) => {
        await createModelCopyRepository(tx).dropWhole();
        holding();
        await new Promise<void>((r) => (commit = r));
      });
      await held;
      const done = (async () => {
        try {
          const first = await deadline(active);
          const until = performance.now() + 4 * leaseMs;
          while ((await redisNow(raw)) <= first || (await copies.restoring()) || ((await deadline(active)) === first && performance.now() < until)) await pause(50);
          // Another process's erasure: it sweeps, then waits for its turn.
          erasing = erase(user);
          while (sweeps.length === 0) await pause(20);
        } finally {
          commit();
          await committed;
        }
        return erasing;
      })();
      return { done };
    };
    /** The sweep came with the Postgres lease run out and took nothing (the draft's lease was held); the version is active, scrubbed of `user` only. */
    const leftThenScrubbed = async (kept: string) => {
      expect(sweeps[0]).toEqual([]);
      expect(await store().getActive()).toMatchObject({ version: active });
      expect(await holds(active, user)).toEqual({ profiles: true, entry: false });
      expect(await holds(active, kept)).toEqual({ profiles: true, entry: true });
    };
    const dispose = () => {
      survivorStore.sweepDrafts = sweepDrafts;
      raw.disconnect();
    };
    return { hold, leftThenScrubbed, dispose };
  }

  it('When a restore\'s publish waits behind an erasure whose transaction holds its copy\'s row in Postgres (its dropWhole, to its commit) past both its leases, Then its draft\'s lease is renewed all the same: another process\'s erasure sweeping meanwhile (the Postgres lease run out) leaves the draft, and the restore publishes it scrubbed', async () => {
    const { writer, active } = await trainedThenEmptied();
    const LEASE_MS = 2000;
    const ahead = rowHeldByErasure(active, LEASE_MS, 'k-user3');
    try {
      let waited = false;
      const restore = restoreBy(writer, LEASE_MS, {
        publishScrubbed: async (mark, meta, publish) => {
          if (meta.version === active && !waited) {
            waited = true;
            // The erasure ahead of it at the lock has dropped the whole copies; the restore's turn comes after its commit.
            expect(await (await ahead.hold()).done).toBe(204);
          }
          return writer.services.erasure.publishScrubbed(mark, meta, publish);
        },
      });
      expect(await restore.restore()).toBe('restored');
      expect(waited).toBe(true);
      await ahead.leftThenScrubbed('k-user4');
    } finally {
      ahead.dispose();
      await writer.dispose();
    }
  }, 120_000);

  it('When a restore writes its draft and a part\'s lease renewal waits behind an erasure whose transaction holds its copy\'s row in Postgres (its dropWhole, to its commit) past both its leases, Then its draft\'s lease is renewed all the same: another process\'s erasure sweeping meanwhile leaves the draft, and the restore publishes it scrubbed', async () => {
    const { writer, active } = await trainedThenEmptied();
    const LEASE_MS = 2000;
    const ahead = rowHeldByErasure(active, LEASE_MS, 'k-user5');
    try {
      // The erasure ahead begins while the restore writes the active version's first part: its next renewal in
      // Postgres waits on the row.
      let erased: Promise<number | undefined> | undefined;
      const firstPart = async (version: string) => {
        if (version !== active || erased) return;
        erased = (await ahead.hold()).done;
        // The part's writes take past a third of the lease: the renewal after it goes to Postgres.
        await pause(LEASE_MS / 2);
      };
      const writing = writesAfter(writer.services.store, firstPart);
      const restore = restoreBy(writer, LEASE_MS, { store: writing });
      const outcome = await restore.restore().catch((err: unknown) => err);
      expect(erased).toBeDefined();
      expect(await erased).toBe(204);
      expect(outcome).toBe('restored');
      await ahead.leftThenScrubbed('k-user6');
    } finally {
      ahead.dispose();
      await writer.dispose();
    }
  }, 120_000);

  it('When the renewal\'s tick lands while the restore publishes (the publish dropped the draft\'s lease, the restore not told yet), Then nothing is logged as failed', async () => {
    const { writer, active } = await trainedThenEmptied();
    const LEASE_MS = 1500;
    try {
      const real = writer.services.store;
      const store = Object.create(real) as typeof real;
      let publishedAt: number | null = null;
      let refused = 0;
      store.leaseDraft = async (version, holder, ms, opts) => {
        const ok = await real.leaseDraft!(version, holder, ms, opts);
        if (!ok && opts?.renew && publishedAt !== null) refused++;
        return ok;
      };
      // The publish of the active version is slow to return (its pruning, a loaded Redis): a renewal's tick comes first.
      store.publish = async (meta, opts) => {
        const made = await real.publish(meta, opts);
        if (meta.version === active && publishedAt === null) {
          publishedAt = performance.now();
          while (refused === 0 && performance.now() - publishedAt < 4 * LEASE_MS) await pause(20);
          await pause(20);
        }
        return made;
      };
      const logged: string[] = [];
      const restore = restoreBy(writer, LEASE_MS, {
        store,
        log: (msg) => logged.push(msg),
      });
      expect(await restore.restore()).toBe('restored');
      // A renewal came after the publish dropped the lease, and was refused.
      expect(refused).toBeGreaterThan(0);
      expect(logged.filter((m) => m.includes('renewing'))).toEqual([]);
    } finally {
      await writer.dispose();
    }
  }, 120_000);
  it('When a restore\'s publish waits for the erasure lock and its draft\'s renewals fail for a whole lease (its Redis away), Then it renews its Postgres lease no more either: the lease runs out, and with it the hold on every sweep, while the publish still waits', async () => {
    const { writer, active } = await trainedThenEmptied();
    const LEASE_MS = 1000;
    try {
      const real = writer.services.store;
      const store = Object.create(real) as typeof real;
      const copies = writer.services.modelCopyRepository!;
      let redisAway = false;
      store.leaseDraft = async (version, holder, ms, opts) => {
        if (redisAway && opts?.renew) throw new Error('the Redis of the drafts does not answer');
        return real.leaseDraft!(version, holder, ms, opts);
      };
      let ranOut = false;
      const restore = restoreBy(writer, LEASE_MS, {
        store,
        publishScrubbed: async (mark, meta, publish) => {
          if (meta.version === active && !redisAway) {
            redisAway = true;
            // The wait for the lock: the draft's renewals fail meanwhile; the Postgres lease, renewed alone, would run on.
            const until = performance.now() + 5 * LEASE_MS;
            while (!(ranOut = !(await copies.restoring())) && performance.now() < until) await pause(50);
            redisAway = false;
          }
          return writer.services.erasure.publishScrubbed(mark, meta, publish);
        },
        log: () => {},
      });
      await restore.restore().catch(() => {});
      expect(redisAway).toBe(false);
      expect(ranOut).toBe(true);
    } finally {
      await writer.dispose();
    }
  }, 120_000);

  it('When a restore ends (the version and those kept put back), Then nothing renews its leases any more: its Postgres lease, let go, is not taken back by a timer left running', async () => {
    const { writer } = await trainedThenEmptied();
    const LEASE_MS = 1000;
    try {
      const copies = writer.services.modelCopyRepository!;
      const restore = restoreBy(writer, LEASE_MS);
      expect(await restore.restore()).toBe('restored');
      // Past a lease: a timer left running would have renewed (taken back) the lease let go by now.
      await pause(1.5 * LEASE_MS);
      expect(await copies.restoring()).toBe(false);
    } finally {
      await writer.dispose();
    }
  }, 120_000);
});
