/**
 * Where trained models live. A model version is a set of named binary artifacts plus a JSON
 * metadata record. Writes go to a version that is not active; `publish` then flips the single
 * `active` pointer in one atomic step, so a reader that resolves the active version once and reads
 * everything under it never sees half a model. Versions are immutable once published.
 *
 * Implementations: `createRedisModelStore` (ioredis, REDIS_URL) and `createMemoryModelStore`
 * (in-process, snapshotted to disk). Both pass tests/integration/store/model-store.contract.ts.
 */
export interface ModelMeta {
  version: string;
  recipe: string;
  trainedAt: string;
  /** Free-form: data counts, per-step durations, params... */
  info: Record<string, unknown>;
}

export interface ModelStore {
  /** Stores one artifact of an unpublished version (overwrites a previous write of the same name). */
  putArtifact(version: string, name: string, data: Uint8Array): Promise<void>;
  getArtifact(version: string, name: string): Promise<Uint8Array | null>;
  /**
   * Stores keyed entries (e.g. per-user candidate lists) of an unpublished version in bulk.
   * Keyed entries are read one or a few at a time on the request path.
   */
  putEntries(version: string, table: string, entries: Iterable<[string, Uint8Array]>): Promise<void>;
  getEntries(version: string, table: string, keys: string[]): Promise<(Uint8Array | null)[]>;
  /** Records the metadata and atomically makes `version` the active one. */
  publish(meta: ModelMeta): Promise<void>;
  /** Makes an already published version active again (rollback). Returns false if unknown. */
  activate(version: string): Promise<boolean>;
  /** The active version's metadata, or null when nothing was published yet. */
  getActive(): Promise<ModelMeta | null>;
  /** Published versions, newest first. */
  listVersions(): Promise<ModelMeta[]>;
  /** Deletes a version's artifacts and entries (never the active one: returns false then). */
  deleteVersion(version: string): Promise<boolean>;

  /**
   * Per-user serving state: purchases that arrived after training (item id, epoch ms), newest last,
   * capped to the most recent `LIVE_EVENTS_KEPT`. Used for live updates without retraining.
   */
  appendUserEvents(userId: string, events: { itemId: string; ts: number }[]): Promise<void>;
  getUserEvents(userId: string): Promise<{ itemId: string; ts: number }[]>;
  /** Erases all per-user state of a user (GDPR erasure). */
  deleteUser(userId: string): Promise<void>;

  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const LIVE_EVENTS_KEPT = 50;
