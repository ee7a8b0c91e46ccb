import { randomUUID } from 'node:crypto';
import type { ModelCopyRecord, ModelCopyRepository } from '../data/model-copy-repository.js';
import { decodeCopy, unpackCopyChunks } from '../store/model-copy-codec.js';
import { SnapshotFormatError } from '../store/snapshot-codec.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { DraftLeaseLost } from '../store/version-rules.js';
import { erasureMarkOf } from './write-model-version.js';

/** How long the lease of a restore lasts without renewal; renewed as the restore goes on. */
export const RESTORE_LEASE_MS = 120_000;

/**
 * What a restore did: `restored` (this process put the version back and published it), `elsewhere` (another process
 * holds the lease, or the store holds an active version again), `none` (no whole copy of the version made active
 * last: the retraining of RETRAIN_ON_LOST_MODEL is the fallback).
 */
export type RestoreOutcome = 'restored' | 'elsewhere' | 'none';

type WholeCopy = Awaited<ReturnType<ModelCopyRepository['whole']>>[number];

/** How many times one restore begins again when the store is lost again while it puts back the versions kept for rollback. */
const TRIES_WHEN_LOST_AGAIN = 3;

/** How many times, LOST_DRAFT_WAIT_MS apart, a restore that lost a draft's lease waits for the sweeper to let go of it. */
const LOST_DRAFT_TRIES = 20;
const LOST_DRAFT_WAIT_MS = 100;

/** The store holds no active version any more while the versions kept for rollback are put back: it was lost again. */
class StoreLostAgain extends Error {}

/**
 * Puts the version that was active back into a model store that holds none (a Redis restarted without persistence),
 * from its copy in Postgres (model-copies.ts), in seconds instead of a retraining's minutes.
 *
 * The version made active last (a training's publish, a rollback, a restore: model_copies.activated_at), and only
 * when its copy is whole and holds every chunk recorded (number and bytes); otherwise `none`. It is published first
 * (readiness returns with it); then every other version with a whole copy, the versions the store kept for rollback
 * (Postgres keeps the copies of what the store keeps: model-copies.ts), listed only, each at its place (its publish
 * time), so a rollback to a version listed before the loss still answers; the store's retention prunes as at a
 * publish, and the copies of the versions it does not keep then (or whose copy is damaged) are deleted. Exactly one process restores: a lease row in Postgres, taken in
 * one statement (of several replicas noticing at once, one gets it) and renewed as the restore goes on; the others
 * answer `elsewhere` and see the version when it is published, as after a training (the store's message, or their
 * next periodic check). Under the lease the store is looked at again: a version active by then (another process
 * restored it and let go of the lease, or a training published) is left alone.
 *
 * Erasure: an erasure deletes every whole copy (model-copy-repository.ts dropWhole), so a copy read here holds
 * nobody erased before the read began; one that commits while the restore runs is caught here. The version is
 * written as a draft and published through `publishScrubbed` with the training's own erasure mark
 * (`info.erasureMark`): under the erasure lock, scrubbed of everyone erased after the mark (and of those whose
 * erasure is owed), then published, and its erasure record raised, as a training publishes and as a store back from
 * an older snapshot is scrubbed (user-erasure.ts catchUp, for a version without a record): nobody erased after the
 * copy is served from it.
 */
export function createModelRestore(deps: {
  copies: ModelCopyRepository;
  store: ModelStore;
  /** user-erasure.ts publishScrubbed: scrub the draft of everyone erased after `mark`, then publish, under the erasure lock. */
  publishScrubbed: <T>(mark: number, meta: ModelMeta, publish: (scrubbed: number) => Promise<T>) => Promise<T>;
  /** Told after a restore published the version (this process re-reads the active version). */
  onRestored?: (meta: ModelMeta) => void;
  log?: (msg: string, err?: unknown) => void;
  info?: (obj: object, msg: string) => void;
  leaseMs?: number;
  holder?: string;
}) {
  const holder = deps.holder ?? randomUUID();
  const leaseMs = deps.leaseMs ?? RESTORE_LEASE_MS;
  const { store, copies } = deps;

  /** This process's restore under way: the lease is per process, so a second call here waits for it instead. */
  let inFlight: Promise<RestoreOutcome> | null = null;
  async function restore(): Promise<RestoreOutcome> {
    if (inFlight) {
      await inFlight.catch(() => {});
      return 'elsewhere';
    }
    inFlight = (async () => {
      // A store lost again while the versions kept for rollback were put back (an OOM-killed Redis restarted as they
      // fill it) holds none of them active: begun again, not left to a look a minute later (nor to a retraining: a
      // store with versions listed and none active is not put back).
      for (let i = 1; ; i++) {
        const outcome = await restoreOnce();
        if (outcome !== 'again') return outcome;
        if (i >= TRIES_WHEN_LOST_AGAIN) {
          deps.log?.(`model restore: the model store was lost again ${i} times while the versions kept for rollback were put back; left to the next look`);
          return 'elsewhere';
        }
      }
    })().finally(() => (inFlight = null));
    return inFlight;
  }

  /**
   * The copy's chunks, checked against the number and size recorded when it was made whole: a copy missing a chunk is
   * refused, one in its middle as it arrives (its number skips one, or the bytes pass the size recorded). At the end
   * only, the decoder would hold what follows the gap meanwhile (up to the whole version, its frames read from the
   * wrong bytes), or put back every frame after it first (a gap of whole frames). The bytes counted are the chunks'
   * decompressed (a copy stored compressed, model-copy-codec.ts; one written uncompressed reads as it is).
   */
  async function* counted(copy: ModelCopyRecord): AsyncGenerator<Uint8Array> {
    let chunks = 0;
    let bytes = 0;
    for await (const { seq, bytes: chunk } of unpackCopyChunks(copies.chunks(copy.version))) {
      if (seq !== chunks) throw new SnapshotFormatError(`its chunk ${chunks} is missing (chunk ${seq} came next)`);
      chunks++;
      bytes += chunk.byteLength;
      if (chunks > copy.chunks || bytes > copy.bytes) throw new SnapshotFormatError(`it holds more than its ${copy.chunks} chunks (${copy.bytes} bytes)`);
      yield chunk;
    }
    if (chunks !== copy.chunks || bytes !== copy.bytes) {
      throw new SnapshotFormatError(`it holds ${chunks} of its ${copy.chunks} chunks (${bytes} of ${copy.bytes} bytes)`);
    }
  }

  /**
   * Writes `copy` as a draft and publishes it where it was listed (`at`: its publish time), made active or only
   * listed; a version not published is deleted again. Resolves whether it was made active.
   */
  async function putBack(copy: WholeCopy, how: { listOnly: boolean }, renew: () => Promise<void>): Promise<boolean> {
    const { version, meta } = copy;
    // The draft's lease (ModelStore.leaseDraft), taken before anything is written and renewed with the restore's:
    // a restore killed before its publish leaves a draft that no erasure scrubs (it is listed nowhere), which the
    // next sweep (the model recovery's look, an erasure) deletes once the lease ran out.
    if (store.leaseDraft && !(await store.leaseDraft(version, holder, leaseMs))) {
      throw new Error(`model restore: the draft of ${version} is leased to another writer`);
    }
    let draftRenewedAt = performance.now();
    const renewDraft = async () => {
      if (!store.leaseDraft || performance.now() - draftRenewedAt <= leaseMs / 3) return;
      if (!(await store.leaseDraft(version, holder, leaseMs, { renew: true }))) throw new DraftLeaseLost(version);
      draftRenewedAt = performance.now();
    };
    let published = false;
    /** The publish began: from then on it drops the draft's lease (or fails, finding it lost). */
    let publishing = false;
    // Both leases renewed on timers of their own for the whole of the put-back, the draft's writing as well as the
    // wait for the erasure lock and the scrub: nothing else renews them in the publish's wait, and a wait past the
    // lease let a sweep delete the draft (its Postgres lease run out too), failing the restore and losing the version.
    // Each on a timer of its own: the Postgres renewal waits on the copy's row while an erasure holds it (its
    // dropWhole, to its commit) or fails with Postgres away, and the draft's, behind it, lapsed meanwhile and was swept
    // (the sweep asks only whether a restore's Postgres lease runs, and this one's had run out too) — as a part's
    // renewal in the writing loop did, and as the publish's did. Timers of this process: a dead holder renews nothing,
    // and the publish's wait is bounded by the lock statement's limit.
    const stop = renewWhile([
      { what: 'its lease in Postgres', renewal: renew },
      {
        what: "its draft's lease",
        renewal: async () => {
          try {
            await renewDraft();
          } catch (err) {
            // The publish drops the draft's lease as it publishes, or finds it lost and fails itself (DraftLeaseLost):
            // a renewal refused once the publish began is neither's failure, and nothing is left to renew.
            if (publishing && err instanceof DraftLeaseLost) return false;
            throw err;
          }
        },
      },
    ]);
    try {
      try {
        // What an earlier restore that died left of the draft.
        await store.deleteVersion(version);
        for await (const part of decodeCopy(counted(copy))) {
          for (const [name, data] of part.artifacts) await store.putArtifact(version, name, data);
          for (const [name, entries] of part.tables) await store.putEntries(version, name, entries);
          // A lease found lost stops the writing here. The timers keep both leases meanwhile: these renewals move one
          // only when a third of it passed since the timers' last, and one waiting on the row (an erasure holds it) is
          // the timer's own, joined (renew), so the draft's timer renews on behind it.
          await renew();
          await renewDraft();
        }
        return await deps.publishScrubbed(erasureMarkOf(meta), meta, async () => {
          // Listed only where a version is active: a store lost again must not be left with versions and none active.
          if (how.listOnly && (await store.getActive()) === null) throw new StoreLostAgain();
          const at = copy.completedAt;
          publishing = true;
          const made = await store.publish(meta, how.listOnly ? { listOnly: true, at, draftHolder: holder } : { activeWas: null, at, draftHolder: holder });
          published = true;
          return made;
        });
      } finally {
        await stop();
      }
    } catch (err) {
      if (err instanceof DraftLeaseLost) {
        // A sweeper took the lease (this restore was paused past it) and deletes the draft, but what this restore wrote
        // after that deletion (before its renewal told it) would stay, listed nowhere and under no lease, for good.
        await deleteLost(version).catch(() => {});
      } else if (!published) {
        // Its lease is dropped once it is deleted; a deletion that fails (the store away) leaves both to the sweep.
        const deleted = await store.deleteVersion(version).then(() => true, () => false);
        if (deleted) await store.releaseDraft?.(version, holder).catch(() => {});
      }
      throw err;
    }
  }

  /**
   * Runs each renewal (of `what`) every quarter of the lease, each on a timer of its own (one waiting or failing holds
   * the other's back in no tick), until the returned stop is called (which waits for the renewals under way); each
   * moves its lease only when a third of it passed (renew, renewDraft). A renewal that resolves false leaves nothing
   * more to renew there (the draft published). One that fails is logged and tried again at the next tick (an outage);
   * all of them stop when the draft's lease is found lost or one has not succeeded for a whole lease: its lease may
   * have run out then (the restore is taken to be gone: its other lease, kept alone, would hold the sweeps off for as
   * long as the publish waits), and this process's closed connections (a process going away) renew nothing.
   */
  function renewWhile(renewals: { what: string; renewal: () => Promise<boolean | void> }[]): () => Promise<void> {
    const timers: ReturnType<typeof setInterval>[] = [];
    const underWay = new Set<Promise<void>>();
    const stopAll = () => timers.forEach((timer) => clearInterval(timer));
    for (const { what, renewal } of renewals) {
      let running: Promise<void> | null = null;
      let renewedAt = performance.now();
      const timer = setInterval(() => {
        if (running) return;
        const run: Promise<void> = renewal()
          .then((more) => {
            renewedAt = performance.now();
            if (more === false) clearInterval(timer);
          })
          .catch((err: unknown) => {
            deps.log?.(`model restore: renewing ${what} while the version is put back failed`, err);
            if (err instanceof DraftLeaseLost || performance.now() - renewedAt >= leaseMs) stopAll();
          })
          .finally(() => {
            running = null;
            underWay.delete(run);
          });
        running = run;
        underWay.add(run);
      }, leaseMs / 4);
      timer.unref();
      timers.push(timer);
    }
    return async () => {
      stopAll();
      await Promise.all(underWay);
    };
  }

  /**
   * A draft whose lease this restore lost: deleted again under a lease taken anew, once the sweeper that took it let go
   * (it holds it while it deletes). Left alone when another writer holds it (a restore begun since, which deletes what
   * it finds before it writes) or it was published; a sweeper that died holding it is followed by the next sweep.
   */
  async function deleteLost(version: string): Promise<void> {
    if (!store.leaseDraft) return;
    for (let i = 0; i < LOST_DRAFT_TRIES; i++) {
      if (await store.leaseDraft(version, holder, leaseMs)) {
        await store.deleteVersion(version);
        await store.releaseDraft?.(version, holder);
        return;
      }
      await new Promise((r) => setTimeout(r, LOST_DRAFT_WAIT_MS));
    }
  }

  async function restoreOnce(): Promise<RestoreOutcome | 'again'> {
    const last = await copies.lastActive();
    if (!last?.meta) return 'none';
    const { version } = last;
    if (!(await copies.takeLease(version, holder, leaseMs))) return 'elsewhere';
    const t0 = performance.now();
    let renewedAt = performance.now();
    /** The renewal under way, which a second caller (the writing loop, the timer: putBack) joins: one connection waits on the row. */
    let renewing: Promise<void> | null = null;
    const renew = (): Promise<void> =>
      (renewing ??= (async () => {
        if (performance.now() - renewedAt <= leaseMs / 3) return;
        if (!(await copies.takeLease(version, holder, leaseMs))) throw new Error(`the lease of the restore of ${version} was lost`);
        renewedAt = performance.now();
      })().finally(() => (renewing = null)));
    try {
      if ((await store.getActive()) !== null) return 'elsewhere';
      // Versions listed and none active is not a store that came back empty: left to the recovery as before.
      if ((await store.listVersions()).length > 0) return 'none';
      // Every version kept with a whole copy, in the order they were published: the active one first (readiness
      // returns with it), then the others, kept for rollback, each listed where it was.
      const kept = await copies.whole();
      const active = kept.find((c) => c.version === version);
      // Its copy dropped since (an erasure): the retraining is the fallback.
      if (!active) return 'none';
      try {
        if (!(await putBack(active, { listOnly: false }, renew))) {
          deps.log?.(`model restore: ${version} was put back but another version was made active meanwhile; it is kept for rollback`);
          return 'elsewhere';
        }
      } catch (err) {
        // A damaged or incomplete copy would fail every try: the retraining is the fallback (an outage is tried again at the next look).
        if (err instanceof SnapshotFormatError) {
          deps.log?.(`model restore: the copy of ${version} in Postgres is damaged or incomplete (${err.message}); left to the retraining`);
          return 'none';
        }
        throw err;
      }
      await copies.markActive(version);
      const ms = Math.round(performance.now() - t0);
      deps.info?.({ version, ms, bytes: last.bytes, chunks: last.chunks }, `the model store held no version: ${version} (the one active before) was put back from its copy in Postgres in ${ms} ms, no training`);
      deps.onRestored?.(active.meta);
      if (!(await putBackKept(kept.filter((c) => c !== active), renew, t0))) return 'again';
      return 'restored';
    } finally {
      await copies.releaseLease(version, holder).catch(() => {});
    }
  }

  /**
   * The versions kept for rollback, oldest first, listed only (the store's retention prunes as a publish does); a
   * damaged copy is skipped. Then the copies of versions the store does not keep (pruned, skipped) are deleted:
   * Postgres keeps what the store keeps. A failure here (the store or Postgres away) leaves the active version served;
   * the versions not put back cannot be rolled back to. False when the store was lost again meanwhile (no version active,
   * or the store not answering, after a write failed or before the copies are deleted: nothing more is listed, nothing
   * deleted, and the restore begins again).
   */
  async function putBackKept(others: WholeCopy[], renew: () => Promise<void>, t0: number): Promise<boolean> {
    const skipped: string[] = [];
    try {
      for (const copy of others) {
        try {
          if ((await store.getActive()) === null) throw new StoreLostAgain();
          await putBack(copy, { listOnly: true }, renew);
        } catch (err) {
          if (!(err instanceof SnapshotFormatError)) throw err;
          skipped.push(copy.version);
          deps.log?.(`model restore: the copy of ${copy.version} (kept for rollback) in Postgres is damaged or incomplete (${err.message}); not put back, and deleted`);
        }
      }
      const listed = new Set((await store.listVersions()).map((m) => m.version));
      // A store lost again before that read lists nothing: every copy would be deleted as of a version it does not keep.
      if ((await store.getActive()) === null) throw new StoreLostAgain();
      const dropped = await copies.drop(others.map((c) => c.version).filter((v) => !listed.has(v)));
      const ms = Math.round(performance.now() - t0);
      deps.info?.(
        { versions: others.length - skipped.length, skipped, dropped, ms },
        `model restore: ${others.length - skipped.length} version(s) kept for rollback put back too (${ms} ms from the start); ${dropped} copies of versions the store does not keep deleted`,
      );
    } catch (err) {
      // A write that failed on a connection closed by a Redis lost again (not the check above) is the same loss: the store
      // holds no active version to serve. A store that does not answer yet counts as lost too: the restore begins again
      // (and its first read fails, so the look that asked is tried again), never `restored` with nothing served.
      if (err instanceof StoreLostAgain || (await store.getActive().then((a) => a === null, () => true))) {
        deps.log?.('model restore: the model store holds no active version any more (lost again) while the versions kept for rollback were put back; begun again');
        return false;
      }
      deps.log?.('model restore: putting back the versions kept for rollback failed (the active version is served; those not put back cannot be rolled back to)', err);
    }
    return true;
  }

  return { restore, holder };
}

export type ModelRestore = ReturnType<typeof createModelRestore>;
