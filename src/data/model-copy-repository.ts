import type { ModelMeta } from '../store/model-store.js';
import type { Db } from './db.js';

/** A copy's row (migration 038): whole once `meta` is there. */
export interface ModelCopyRecord {
  version: string;
  meta: ModelMeta | null;
  chunks: number;
  bytes: number;
}

/**
 * The durable copies of model versions (migration 038; src/training/model-copies.ts says what is kept and why):
 * a row per version, its bytes in chunks of bounded size, the version's metadata once the copy is whole, when it
 * was last made active, and the lease of the one process that puts it back into a model store that lost it.
 */
export function createModelCopyRepository(db: Db) {
  const record = (r: { version: string; meta: ModelMeta | null; chunks: number; bytes: string | number }): ModelCopyRecord => ({
    version: r.version, meta: r.meta, chunks: r.chunks, bytes: Number(r.bytes),
  });
  return {
    /** Starts the copy of `version` afresh (chunks of an earlier try of the same name dropped); keeps `activated_at`. */
    async begin(version: string): Promise<void> {
      await db.query('DELETE FROM model_copy_chunks WHERE version = $1', [version]);
      await db.query(
        `INSERT INTO model_copies (version) VALUES ($1)
         ON CONFLICT (version) DO UPDATE SET meta = NULL, chunks = 0, bytes = 0, created_at = now(), completed_at = NULL`,
        [version],
      );
    },
    async putChunk(version: string, seq: number, bytes: Uint8Array): Promise<void> {
      await db.query('INSERT INTO model_copy_chunks (version, seq, bytes) VALUES ($1, $2, $3)', [version, seq, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
    },
    /** The copy is whole: its metadata (what the restore publishes) and its size. */
    async complete(version: string, meta: ModelMeta, chunks: number, bytes: number): Promise<void> {
      await db.query('UPDATE model_copies SET meta = $2, chunks = $3, bytes = $4, completed_at = now() WHERE version = $1', [version, JSON.stringify(meta), chunks, bytes]);
    },
    /** `version` was made active now (a row without a copy is made for it: a version trained before copies were kept). */
    async markActive(version: string): Promise<void> {
      await db.query(
        `INSERT INTO model_copies (version, activated_at) VALUES ($1, clock_timestamp())
         ON CONFLICT (version) DO UPDATE SET activated_at = clock_timestamp()`,
        [version],
      );
    },
    /** The version made active last, with its copy when whole; null when none was recorded. */
    async lastActive(): Promise<ModelCopyRecord | null> {
      const { rows } = await db.query<{ version: string; meta: ModelMeta | null; chunks: number; bytes: string }>(
        `SELECT version, CASE WHEN completed_at IS NULL THEN NULL ELSE meta END AS meta, chunks, bytes
         FROM model_copies WHERE activated_at IS NOT NULL ORDER BY activated_at DESC LIMIT 1`,
      );
      return rows[0] ? record(rows[0]) : null;
    },
    /**
     * `version` made active, recorded only while the version recorded as made active last is still `last` (null:
     * none): a record set right from what the model store says is active (model-copies.ts settle) never overwrites
     * an activation recorded meanwhile (a rollback through another process). True when recorded.
     */
    async markActiveIf(version: string, last: string | null): Promise<boolean> {
      const { rows } = await db.query(
        `INSERT INTO model_copies (version, activated_at)
         SELECT $1, clock_timestamp()
         WHERE (SELECT version FROM model_copies WHERE activated_at IS NOT NULL ORDER BY activated_at DESC LIMIT 1) IS NOT DISTINCT FROM $2::text
         ON CONFLICT (version) DO UPDATE SET activated_at = clock_timestamp()
         RETURNING version`,
        [version, last],
      );
      return rows.length > 0;
    },
    /**
     * Every whole copy, in the order their versions were published (a copy is made whole just before its
     * publish): what a store that came back empty is put back to. `completedAt` (ms) is the order key each is
     * listed by again.
     */
    async whole(): Promise<(ModelCopyRecord & { meta: ModelMeta; completedAt: number })[]> {
      const { rows } = await db.query<{ version: string; meta: ModelMeta; chunks: number; bytes: string; completed_ms: string }>(
        `SELECT version, meta, chunks, bytes, (extract(epoch FROM completed_at) * 1000)::bigint AS completed_ms
         FROM model_copies WHERE completed_at IS NOT NULL AND meta IS NOT NULL ORDER BY completed_at, version`,
      );
      return rows.map((r) => ({ ...record(r), meta: r.meta, completedAt: Number(r.completed_ms) }));
    },
    /**
     * The copy's chunks in order with their numbers (from 0, one apart in a copy that misses none), one row read at a
     * time (a cursor: never the whole copy at once).
     */
    async *chunks(version: string): AsyncGenerator<{ seq: number; bytes: Uint8Array }> {
      for await (const rows of db.stream<{ seq: number; bytes: Buffer }>('SELECT seq, bytes FROM model_copy_chunks WHERE version = $1 ORDER BY seq', [version], 1)) {
        for (const row of rows) yield { seq: Number(row.seq), bytes: row.bytes };
      }
    },
    /**
     * Takes the lease of putting `version` back for `ms`, or renews it for its holder: false while another holds
     * one that has not run out. One statement, so of several processes asking at once one gets it.
     */
    async takeLease(version: string, holder: string, ms: number): Promise<boolean> {
      const { rows } = await db.query(
        `UPDATE model_copies SET restoring_by = $2, restoring_until = clock_timestamp() + $3 * interval '1 millisecond'
         WHERE version = $1 AND (restoring_until IS NULL OR restoring_until < clock_timestamp() OR restoring_by = $2)
         RETURNING version`,
        [version, holder, ms],
      );
      return rows.length > 0;
    },
    /** Whether a restore holds its lease (of any version) now. */
    async restoring(): Promise<boolean> {
      const { rows } = await db.query<{ restoring: boolean }>('SELECT EXISTS (SELECT 1 FROM model_copies WHERE restoring_until > clock_timestamp()) AS restoring');
      return rows[0]?.restoring === true;
    },
    async releaseLease(version: string, holder: string): Promise<void> {
      await db.query('UPDATE model_copies SET restoring_by = NULL, restoring_until = NULL WHERE version = $1 AND restoring_by = $2', [version, holder]);
    },
    /**
     * Deletes the copies of versions not in `kept` (pruned from the model store, or of trainings that never
     * published), except the one being written (`writing`) and any copy begun in the last hour that is not whole
     * (a training under way elsewhere: trainings are exclusive, so this is a factor import's or a leftover). Nothing
     * while a restore holds its lease (model-restore.ts): the versions kept for rollback that it has yet to put back
     * are not listed yet, and their copies are what it reads; at its end it deletes those the store does not keep.
     */
    async prune(kept: readonly string[], writing?: string): Promise<number> {
      const { rows } = await db.query(
        `DELETE FROM model_copies WHERE version <> ALL($1::text[]) AND version <> $2
           AND (completed_at IS NOT NULL OR created_at < now() - interval '1 hour')
           AND NOT EXISTS (SELECT 1 FROM model_copies WHERE restoring_until > clock_timestamp())
         RETURNING version`,
        [kept, writing ?? ''],
      );
      return rows.length;
    },
    /** Deletes the copies of these versions, whole or not, with their activation records (versions the store no longer keeps). */
    async drop(versions: readonly string[]): Promise<number> {
      if (versions.length === 0) return 0;
      const { rows } = await db.query('DELETE FROM model_copies WHERE version = ANY($1::text[]) RETURNING version', [versions]);
      return rows.length;
    },
    /** Deletes the copy of `version` (a training that failed); its activation record goes with it. */
    async remove(version: string): Promise<void> {
      await db.query('DELETE FROM model_copies WHERE version = $1 AND activated_at IS NULL', [version]);
    },
    /**
     * An erasure (in its transaction): every whole copy was made before it, so it may hold the customer; its bytes
     * are deleted and it is no longer whole (a store lost before the next training is trained again, not put back).
     * Copies still being written are left to their training, which drops them at its publish (`dropIfErasedAfter`).
     */
    async dropWhole(): Promise<string[]> {
      const { rows } = await db.query<{ version: string }>(
        'UPDATE model_copies SET meta = NULL, completed_at = NULL, chunks = 0, bytes = 0 WHERE completed_at IS NOT NULL OR meta IS NOT NULL RETURNING version',
      );
      const versions = rows.map((r) => r.version);
      if (versions.length > 0) await db.query('DELETE FROM model_copy_chunks WHERE version = ANY($1::text[])', [versions]);
      return versions;
    },
    /**
     * The copy of `version`, whose training read its data at erasure `mark`, deleted (its bytes; the row, with its
     * activation, stays, not whole) when a customer was erased after `mark`: it may hold them. True when dropped.
     */
    async dropIfErasedAfter(version: string, mark: number): Promise<boolean> {
      const { rows } = await db.query(
        `UPDATE model_copies SET meta = NULL, completed_at = NULL, chunks = 0, bytes = 0
         WHERE version = $1 AND EXISTS (SELECT 1 FROM erased_users WHERE seq > $2) RETURNING version`,
        [version, mark],
      );
      if (rows.length === 0) return false;
      await db.query('DELETE FROM model_copy_chunks WHERE version = $1', [version]);
      return true;
    },
    /** Every copy's row (tests, the bench). */
    async list(): Promise<(ModelCopyRecord & { activated: boolean })[]> {
      const { rows } = await db.query<{ version: string; meta: ModelMeta | null; chunks: number; bytes: string; activated: boolean }>(
        'SELECT version, meta, chunks, bytes, activated_at IS NOT NULL AS activated FROM model_copies ORDER BY created_at',
      );
      return rows.map((r) => ({ ...record(r), activated: r.activated }));
    },
  };
}

export type ModelCopyRepository = ReturnType<typeof createModelCopyRepository>;
