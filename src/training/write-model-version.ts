import { AUDIENCE_ARTIFACT, AUDIENCE_ARTIFACT_V1 } from '../audiences/audience-artifact.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';

/**
 * Artifacts a version is whole without: the audience postings (audience-artifact.ts) only speed up a first
 * audience, which is built from the customers' entries without them (as for a version trained before they
 * were stored). Being the biggest artifact (241 MB at 100,000 customers), they are the first an
 * `allkeys-lru` Redis evicts; their loss alone must not make the version lost (readiness, the retraining
 * of RETRAIN_ON_LOST_MODEL, a rollback's CONFLICT, the check of a training's write). Present, they are
 * checked as any other artifact.
 */
export const OPTIONAL_ARTIFACTS: ReadonlySet<string> = new Set([AUDIENCE_ARTIFACT, AUDIENCE_ARTIFACT_V1]);

/** Everything stored under one model version before it is published. */
export interface ModelContents {
  artifacts: ReadonlyMap<string, Uint8Array>;
  tables: ReadonlyMap<string, Iterable<[string, Uint8Array]>>;
}

/** What was written: bytes per artifact and entries per table (kept in the metadata, so a reader can check completeness). */
export interface ContentsSummary {
  /** The artifacts the version is not whole without: what every release checks (goneFromStore). */
  artifacts: Record<string, number>;
  tables: Record<string, number>;
  /**
   * The optional artifacts written (OPTIONAL_ARTIFACTS), apart: a replica of the release before (b978bd3) counts
   * every artifact of `artifacts` missing as lost but `serving-audience`, so `serving-audience-2` listed there and
   * evicted would make it call the version lost (readiness, RETRAIN_ON_LOST_MODEL, a rollback's CONFLICT) during a
   * rolling upgrade. This release checks them as written after the write (lostFromStore) and never counts them gone.
   */
  optionalArtifacts?: Record<string, number>;
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
export async function writeModelVersion(
  store: Pick<ModelStore, 'putArtifact' | 'putEntries'>,
  version: string,
  contents: ModelContents,
  signal?: AbortSignal,
  /**
   * Runs each write (again while the store is unavailable, say). Only a table that can be read twice (an
   * array, a Map) goes through it: a one-shot iterable would be empty at a second attempt.
   */
  attempt: (write: () => Promise<void>) => Promise<void> = (write) => write(),
): Promise<ContentsSummary> {
  const summary: ContentsSummary = { artifacts: {}, tables: {} };
  for (const [name, bytes] of contents.artifacts) {
    signal?.throwIfAborted();
    await attempt(() => store.putArtifact(version, name, bytes));
    if (OPTIONAL_ARTIFACTS.has(name)) (summary.optionalArtifacts ??= {})[name] = bytes.byteLength;
    else summary.artifacts[name] = bytes.byteLength;
  }
  for (const [name, entries] of contents.tables) {
    signal?.throwIfAborted();
    const count = { n: 0 };
    const write = () => {
      count.n = 0;
      return store.putEntries(version, name, counted(entries, count));
    };
    await (Array.isArray(entries) || entries instanceof Map ? attempt(write) : write());
    summary.tables[name] = count.n;
  }
  return summary;
}

/**
 * What the store lacks of what was written to `version`, in words, or null when it holds all of it. With
 * `erased` 0 (nothing scrubbed since the write): every artifact at its size and every table at its count.
 * After an erasure's scrub of `erased` customers, which rewrites artifacts and drops at most one entry per
 * customer from each table: every artifact still there, and each table short by at most `erased`; an
 * optional artifact (OPTIONAL_ARTIFACTS) may be missing whole. Null
 * too for a store that cannot tell (no `contentsOf`).
 */
export async function lostFromStore(store: ModelStore, version: string, written: ContentsSummary, erased: number): Promise<string | null> {
  if (!store.contentsOf) return null;
  const held = await heldOf(store.contentsOf.bind(store), version, written);
  const problems: string[] = [];
  for (const [name, want] of Object.entries({ ...written.artifacts, ...written.optionalArtifacts })) {
    const have = held.artifacts[name];
    if (have === 0 && (OPTIONAL_ARTIFACTS.has(name) || written.optionalArtifacts?.[name] !== undefined)) continue;
    if (erased === 0 ? have !== want : want > 0 && have === 0) problems.push(`artifact ${name}: ${have} of ${want} bytes`);
  }
  for (const [name, want] of Object.entries(written.tables)) {
    const have = held.tables[name];
    if (have > want || have < want - erased) problems.push(`table ${name}: ${have} of ${want} entries`);
  }
  return problems.length === 0 ? null : problems.join(', ');
}

/**
 * The artifacts and tables of a published version that the store no longer holds at all (`artifact NAME`,
 * `table NAME`; an optional artifact, OPTIONAL_ARTIFACTS, is never named), empty when none is gone, or when the store cannot tell or the metadata has no `contents`
 * (versions published before it was recorded). Erasures since the publish shorten tables, so only what is gone entirely counts:
 * a Redis evicting keys under maxmemory (an `allkeys-*` policy) or a cluster shard restarted empty drops
 * whole keys while the active pointer, kept elsewhere, still names the version.
 */
export async function goneFromStore(
  store: Pick<ModelStore, 'contentsOf'>,
  meta: ModelMeta,
  /**
   * How many customers were erased after the version's erasure mark (asked only when a table is empty):
   * each may have taken one entry from each table, so a table of no more entries than that may have been
   * emptied by erasures (a Redis hash goes with its last field) and is not counted as gone.
   */
  erasedSince: (mark: number) => Promise<number> = async () => 0,
): Promise<string[]> {
  const written = contentsSummaryOf(meta);
  if (!store.contentsOf || !written) return [];
  const held = await heldOf(store.contentsOf.bind(store), meta.version, written);
  const empty = Object.entries(written.tables).filter(([name, want]) => want > 0 && held.tables[name] === 0);
  const erased = empty.length > 0 ? await erasedSince(erasureMarkOf(meta)) : 0;
  return [
    ...Object.entries(written.artifacts).filter(([name, want]) => want > 0 && held.artifacts[name] === 0 && !OPTIONAL_ARTIFACTS.has(name)).map(([name]) => `artifact ${name}`),
    ...empty.filter(([, want]) => want > erased).map(([name]) => `table ${name}`),
  ];
}

function heldOf(contentsOf: NonNullable<ModelStore['contentsOf']>, version: string, written: ContentsSummary) {
  return contentsOf(version, { artifacts: [...Object.keys(written.artifacts), ...Object.keys(written.optionalArtifacts ?? {})], tables: Object.keys(written.tables) });
}

/** The erasure mark a version was trained under (0 for versions older than the mark: check them against every erasure). */
export const erasureMarkOf = (meta: ModelMeta): number => (typeof meta.info.erasureMark === 'number' ? meta.info.erasureMark : 0);

/** The write summary a training kept in the version's metadata (`info.contents`), when it is there and well formed. */
function contentsSummaryOf(meta: ModelMeta): ContentsSummary | null {
  const contents = meta.info.contents as Partial<ContentsSummary> | undefined;
  const counts = (r: unknown): r is Record<string, number> =>
    typeof r === 'object' && r !== null && Object.values(r).every((n) => typeof n === 'number');
  return contents && counts(contents.artifacts) && counts(contents.tables) ? { artifacts: contents.artifacts, tables: contents.tables } : null;
}
