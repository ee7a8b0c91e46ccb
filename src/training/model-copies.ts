import type { ModelCopyRepository } from '../data/model-copy-repository.js';
import { createCopyEncoder, packCopyChunk } from '../store/model-copy-codec.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';

/**
 * What a training copies into Postgres as it writes its version, so that a model store that comes back empty (a
 * Redis restarted without persistence) is put back from it (model-restore.ts) instead of trained again.
 *
 * Copied: every artifact and table entry written under the version, as written (model-copy-codec.ts), in chunks of
 * at most 4 MiB, each chunk compressed on its own (model-copy-codec.ts packCopyChunk; uncompressed with `compress`
 * false, as the release before wrote them) and written to Postgres as the training writes the store (never the whole
 * version held for it); the metadata once the version is checked whole, before the publish. A copy that fails (Postgres refuses a
 * chunk, is away) does not stop the training: the version is published anyway and the failure logged. The copy only
 * saves a retraining should the store be lost before the next training; refusing to publish over it would leave the
 * shop on an older model for the sake of a shortcut the retraining of RETRAIN_ON_LOST_MODEL still covers.
 * After the publish, the version is recorded as the active one (when it was made so) and the copies of versions the
 * store no longer keeps are deleted with them.
 */
export interface ModelCopyWriter {
  /** Records an artifact written under the version. */
  artifact(name: string, data: Uint8Array): void;
  /** Records entries written under the version (after the store took them). */
  entries(table: string, rows: Iterable<readonly [string, Uint8Array]>): void;
  /** The same entries, recorded as the store consumes them (a one-shot iterable is read once). */
  recording(table: string, rows: Iterable<[string, Uint8Array]>): Iterable<[string, Uint8Array]>;
  /** Writes the chunks made so far; never throws (a failure ends the copy). */
  flush(): Promise<void>;
  /** Writes the rest and the metadata: the copy is whole. False when the copy failed (logged). Never throws. */
  complete(meta: ModelMeta): Promise<boolean>;
  /** The training failed: the copy is deleted (best effort). */
  abandon(): Promise<void>;
  /**
   * What was written: bytes (the copy's, decoded), stored (the chunks' bytes as written, compressed), chunks and the
   * time spent encoding, compressing and writing (ms).
   */
  readonly stats: { bytes: number; stored: number; chunks: number; ms: number; failed: boolean };
}

export interface ModelCopies {
  begin(version: string): ModelCopyWriter;
  /** After a publish: the version recorded as active (when it is) and the copies of versions no longer kept deleted. Never throws. */
  published(version: string, activated: boolean, kept: () => Promise<string[]>, erasureMark?: number): Promise<void>;
  /** The version made active last when its copy is whole (what a restore would put back), else null. Never throws. */
  lastActive(): Promise<string | null>;
  /** A version made active by hand (a rollback), or by a publish. Never throws. */
  activated(version: string): Promise<void>;
  /**
   * The version the model store holds active, recorded as the one to put back if Postgres records another (an
   * activation whose record failed: Postgres away for that moment), unless an activation is recorded meanwhile. True
   * when it recorded it. `current` reads the store's active version again: asked after Postgres's record is read
   * and before anything is written, so a rollback or a publish that lands after `active` was read (its flip, then its
   * record) is never overwritten by the version it flipped away from. Never throws.
   */
  settle(active: string, current: () => Promise<string | null>): Promise<boolean>;
}

export function createModelCopies(deps: {
  copies: ModelCopyRepository;
  log?: (msg: string, err?: unknown) => void;
  chunkBytes?: number;
  /** Chunks stored compressed (the default); false: as the release before stores them, which it can read (MODEL_COPY_COMPRESSION). */
  compress?: boolean;
  /** A chunk compressed (packCopyChunk, the default; a test counts the compressions in flight through it). */
  pack?: (chunk: Uint8Array) => Promise<Uint8Array>;
}): ModelCopies {
  const { copies } = deps;
  const compress = deps.compress ?? true;
  const pack = deps.pack ?? packCopyChunk;
  const recordActive = async (version: string) => {
    await copies.markActive(version).catch((err: unknown) =>
      deps.log?.(`model copies: recording ${version} as active failed (a store lost before it is recorded would be put back to the version recorded before: the model recovery's next look records it from the store)`, err),
    );
  };
  return {
    begin(version) {
      const encoder = createCopyEncoder(version, { chunkBytes: deps.chunkBytes });
      const stats = { bytes: 0, stored: 0, chunks: 0, ms: 0, failed: false };
      const fail = (err: unknown) => {
        if (!stats.failed) deps.log?.(`model copy of ${version} failed: the version is published without one (a model store lost before the next training is trained again)`, err);
        stats.failed = true;
      };
      // The writes one after another; the first failure ends the copy (what is left of it is pruned later). Handled
      // at once: the first flush may come long after (the version is built first), and a rejection left unhandled
      // meanwhile ends the process.
      let chain: Promise<void> = copies.begin(version).catch(fail);
      const timed = <T>(fn: () => T): T => {
        const t0 = performance.now();
        try {
          return fn();
        } finally {
          stats.ms += performance.now() - t0;
        }
      };
      const write = (end: boolean) => {
        if (stats.failed) return chain;
        const ready: (Uint8Array | null)[] = timed(() => encoder.take(end));
        // Each chunk compressed (in the thread pool) while the one before it is inserted: the training waits for the
        // inserts, not for each compression after each insert. One ahead, never more: a flush may hand over dozens of
        // chunks (an artifact of 145 MiB is 36), and compressing them all at once would hold every one compressed
        // besides the raw ones until its insert. A compression's failure is its insert's, below.
        let ahead: Promise<Uint8Array> | null = null;
        const packAt = (i: number): Promise<Uint8Array> => {
          const chunk = ready[i]!;
          ready[i] = null;
          const packed = compress ? pack(chunk) : Promise.resolve(chunk);
          packed.catch(() => {});
          return packed;
        };
        for (let i = 0; i < ready.length; i++) {
          const seq = stats.chunks++;
          chain = chain.then(async () => {
            if (stats.failed) return;
            const t0 = performance.now();
            const stored = await (ahead ?? packAt(i));
            ahead = i + 1 < ready.length ? packAt(i + 1) : null;
            await copies.putChunk(version, seq, stored);
            stats.stored += stored.byteLength;
            stats.ms += performance.now() - t0;
          });
        }
        chain = chain.catch(fail);
        return chain;
      };
      return {
        artifact(name, data) {
          if (!stats.failed) timed(() => encoder.artifact(name, data));
        },
        entries(table, rows) {
          if (stats.failed) return;
          timed(() => {
            for (const [key, value] of rows) encoder.entry(table, key, value);
          });
        },
        *recording(table, rows) {
          for (const row of rows) {
            if (!stats.failed) timed(() => encoder.entry(table, row[0], row[1]));
            yield row;
          }
        },
        flush: () => write(false),
        async complete(meta) {
          await write(true);
          if (stats.failed) return false;
          stats.bytes = encoder.bytes;
          const t0 = performance.now();
          try {
            await copies.complete(version, meta, stats.chunks, stats.bytes);
          } catch (err) {
            fail(err);
            return false;
          }
          stats.ms += performance.now() - t0;
          return true;
        },
        async abandon() {
          stats.failed = true;
          await chain;
          await copies.remove(version).catch(() => {});
        },
        stats,
      };
    },
    async published(version, activated, kept, erasureMark) {
      try {
        // A customer erased while the training ran (after it read its data) is in the copy, though scrubbed from the
        // version published: the copy goes (an erasure's own drop skips copies not whole yet; this runs after the
        // publish, which waited for any erasure under way: the erasure lock).
        if (erasureMark !== undefined && (await copies.dropIfErasedAfter(version, erasureMark))) {
          deps.log?.(`model copy of ${version} deleted: a customer was erased while it was trained (a store lost before the next training is trained again)`);
        }
      } catch (err) {
        deps.log?.(`model copies: checking the copy of ${version} against the erasures failed`, err);
      }
      // Each on its own: a failed activation record must not keep the copies of pruned versions, nor the reverse.
      if (activated) await recordActive(version);
      try {
        await copies.prune(await kept(), version);
      } catch (err) {
        deps.log?.(`model copies: deleting the copies of versions the store no longer keeps failed (the next training's publish tries again)`, err);
      }
    },
    async lastActive() {
      try {
        const last = await copies.lastActive();
        return last?.meta ? last.version : null;
      } catch (err) {
        deps.log?.('model copies: reading the version active last failed', err);
        return null;
      }
    },
    activated: recordActive,
    async settle(seen, current) {
      try {
        const last = (await copies.lastActive())?.version ?? null;
        if (last === seen) return false;
        // `seen` may be from before an activation whose record is `last` (a rollback through another process: the
        // store flipped, then Postgres recorded it): the store is read again, after the record.
        const active = await current();
        if (active === null || active === last) return false;
        if (!(await copies.markActiveIf(active, last))) return false;
        deps.log?.(`model copies: ${active}, active in the model store, is now recorded as the version to put back (the record said ${last ?? 'none'}: an activation whose record failed)`);
        return true;
      } catch (err) {
        deps.log?.(`model copies: recording ${seen} (active in the model store) as the version to put back failed`, err);
        return false;
      }
    },
  };
}
