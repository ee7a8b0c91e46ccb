import type { ModelStore } from '../store/model-store.js';

/** Everything stored under one model version before it is published. */
export interface ModelContents {
  artifacts: ReadonlyMap<string, Uint8Array>;
  tables: ReadonlyMap<string, Iterable<[string, Uint8Array]>>;
}

/** What was written: bytes per artifact and entries per table (kept in the metadata, so a reader can check completeness). */
export interface ContentsSummary {
  artifacts: Record<string, number>;
  tables: Record<string, number>;
}

/** Counts the entries of a table as the store consumes them, so a big table is iterated only once. */
function* counted(entries: Iterable<[string, Uint8Array]>, count: { n: number }): Iterable<[string, Uint8Array]> {
  for (const entry of entries) {
    count.n++;
    yield entry;
  }
}

/**
 * Writes every artifact and table of an unpublished version. Nothing is served from it until
 * `store.publish` flips the active pointer; on a failure the caller deletes the version.
 */
export async function writeModelVersion(store: ModelStore, version: string, contents: ModelContents, signal?: AbortSignal): Promise<ContentsSummary> {
  const summary: ContentsSummary = { artifacts: {}, tables: {} };
  for (const [name, bytes] of contents.artifacts) {
    signal?.throwIfAborted();
    await store.putArtifact(version, name, bytes);
    summary.artifacts[name] = bytes.byteLength;
  }
  for (const [name, entries] of contents.tables) {
    signal?.throwIfAborted();
    const count = { n: 0 };
    await store.putEntries(version, name, counted(entries, count));
    summary.tables[name] = count.n;
  }
  return summary;
}
