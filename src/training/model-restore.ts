import { randomUUID } from 'node:crypto';
import type { ModelCopyRepository } from '../data/model-copy-repository.js';
import { decodeCopy } from '../store/model-copy-codec.js';
import { SnapshotFormatError } from '../store/snapshot-codec.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { erasureMarkOf } from './write-model-version.js';

/** How long the lease of a restore lasts without renewal; renewed as the restore goes on. */
export const RESTORE_LEASE_MS = 120_000;

/**
 * What a restore did: `restored` (this process put the version back and published it), `elsewhere` (another process
 * holds the lease, or the store holds an active version again), `none` (no whole copy of the version made active
 * last: the retraining of RETRAIN_ON_LOST_MODEL is the fallback).
 */
export type RestoreOutcome = 'restored' | 'elsewhere' | 'none';

/**
 * Puts the version that was active back into a model store that holds none (a Redis restarted without persistence),
 * from its copy in Postgres (model-copies.ts), in seconds instead of a retraining's minutes.
 *
 * Only the version made active last (a training's publish, a rollback, a restore: model_copies.activated_at), and
 * only when its copy is whole; otherwise `none`. Exactly one process restores: a lease row in Postgres, taken in
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
    inFlight = restoreOnce().finally(() => (inFlight = null));
    return inFlight;
  }

  async function restoreOnce(): Promise<RestoreOutcome> {
    const last = await copies.lastActive();
    if (!last?.meta) return 'none';
    const { version } = last;
    const meta = last.meta;
    if (!(await copies.takeLease(version, holder, leaseMs))) return 'elsewhere';
    const t0 = performance.now();
    let published = false;
    try {
      if ((await store.getActive()) !== null) return 'elsewhere';
      // Versions listed and none active is not a store that came back empty: left to the recovery as before.
      if ((await store.listVersions()).length > 0) return 'none';
      // What an earlier restore that died left of the draft.
      await store.deleteVersion(version);
      let renewedAt = performance.now();
      for await (const part of decodeCopy(copies.chunks(version))) {
        for (const [name, data] of part.artifacts) await store.putArtifact(version, name, data);
        for (const [name, entries] of part.tables) await store.putEntries(version, name, entries);
        if (performance.now() - renewedAt > leaseMs / 3) {
          if (!(await copies.takeLease(version, holder, leaseMs))) throw new Error(`the lease of the restore of ${version} was lost`);
          renewedAt = performance.now();
        }
      }
      const activated = await deps.publishScrubbed(erasureMarkOf(meta), meta, async () => {
        const made = await store.publish(meta, { activeWas: null });
        published = true;
        return made;
      });
      if (!activated) {
        deps.log?.(`model restore: ${version} was put back but another version was made active meanwhile; it is kept for rollback`);
        return 'elsewhere';
      }
      await copies.markActive(version);
      const ms = Math.round(performance.now() - t0);
      deps.info?.({ version, ms, bytes: last.bytes, chunks: last.chunks }, `the model store held no version: ${version} (the one active before) was put back from its copy in Postgres in ${ms} ms, no training`);
      deps.onRestored?.(meta);
      return 'restored';
    } catch (err) {
      if (!published) await store.deleteVersion(version).catch(() => false);
      // A damaged copy would fail every try: the retraining is the fallback (an outage is tried again at the next look).
      if (err instanceof SnapshotFormatError) {
        deps.log?.(`model restore: the copy of ${version} in Postgres is damaged (${err.message}); left to the retraining`);
        return 'none';
      }
      throw err;
    } finally {
      await copies.releaseLease(version, holder).catch(() => {});
    }
  }

  return { restore, holder };
}

export type ModelRestore = ReturnType<typeof createModelRestore>;
