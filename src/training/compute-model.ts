import type { Dataset } from '../recommenders/dataset.js';
import type { ImportedAls } from '../recommenders/imported-factors.js';
import type { Recommender } from '../recommenders/recommender.js';
import type { EaseRecommender } from '../recommenders/ease.js';
import { createAlsThreads } from './als-threads.js';
import { fitInWorker, OWN_THREAD_FAMILIES } from './fit-in-worker.js';
import { buildServingModelInThreads } from './threaded-serving-build.js';
import { buildProfilesArtifact, PROFILES_ARTIFACT } from '../profiles/profiles-artifact.js';
import type { TableEntries } from '../serving/serving-model-builder.js';
import { USERS_TABLE } from '../serving/user-entry.js';
import { AUDIENCE_ARTIFACT, audienceCollector } from '../audiences/audience-artifact.js';
import type { ChunkGate } from './chunk-gate.js';
import { fitRecipe, type Recipe } from './recipe.js';

/** Everything a model version stores, computed from a dataset; plain data, so it crosses threads. */
export interface ComputedModel {
  artifacts: [string, Uint8Array][];
  tables: [string, [string, Uint8Array][]][];
  /** What the serving model says about itself (strategies, candidates...), kept in the metadata. */
  servingInfo: unknown;
  /** Milliseconds per step: `fit:<source>`, `fit:hybrid`, `serving`, `encode`. */
  durations: Record<string, number>;
  /** Sources that left bought items out (EASE with more bought than its `maxItems`), by recipe source name. */
  restrictions: Record<string, SourceRestriction>;
}

/** A source that left out items bought in the training data: those score 0 from it. */
export interface SourceRestriction {
  recommender: string;
  /** Items the source models (its most-bought ones)... */
  restrictedTo: number;
  /** ...of this many bought in the training data (boughtItems - restrictedTo were left out)... */
  boughtItems: number;
  /** ...and this many in the model's index (the catalogue; those never bought score 0 from it in any case). */
  catalogItems: number;
}

/** What each fitted source says of the bought items it left out (EASE's `info.restrictedTo`). */
export function sourceRestrictions(sources: ReadonlyMap<string, Recommender>): Record<string, SourceRestriction> {
  const out: Record<string, SourceRestriction> = {};
  for (const [name, r] of sources) {
    if (r.name !== 'ease') continue;
    // EASE learning per product group (perGroup: true, which tuning may choose) is wrapped: its fit is the inner one.
    const info = ((r as Partial<EaseRecommender>).info ?? ((r as { inner?: Partial<EaseRecommender> }).inner?.info));
    if (!info) continue;
    const { restrictedTo, boughtItems, catalogItems } = info;
    // A fit made here always counts its bought items (only an artifact of an older release lacks the count).
    if (restrictedTo !== null && boughtItems !== undefined) out[name] = { recommender: r.name, restrictedTo, boughtItems, catalogItems };
  }
  return out;
}

/** Step events: `start` before a step, `end` with its duration. */
export type ComputeStepListener = (event: { step: string; phase: 'start' | 'end'; ms?: number }) => void | Promise<void>;

/** The CPU-heavy part of a training: fit every source and the hybrid, build the serving model, encode. */
export async function computeModel(
  ds: Dataset,
  recipe: Recipe,
  opts: {
    storeRecommenders: boolean;
    onStep?: ComputeStepListener;
    threads?: number;
    precomputeDays?: number;
    importedAls?: ImportedAls;
    /** Takes the per-user tables' entries in chunks as the serving build makes them; the model's own per-user tables are then empty. */
    onEntries?: (entries: TableEntries) => void;
    /** Bounds the chunks handed to onEntries and not yet given back (see chunk-gate.ts). */
    chunkGate?: ChunkGate;
    /** Customers per chunk (default ROWS_CHUNK_USERS). */
    chunkUsers?: number;
  },
): Promise<ComputedModel> {
  const onStep = opts.onStep ?? (() => {});
  const durations: Record<string, number> = {};
  // fitRecipe's listener is synchronous: a listener failure during the fits surfaces after them.
  let listenerError: unknown = null;
  const fire = (event: Parameters<ComputeStepListener>[0]) =>
    Promise.resolve()
      .then(() => onStep(event))
      .catch((err: unknown) => {
        listenerError ??= err;
      });
  const alsThreads = createAlsThreads(opts.threads ?? 1);
  // With threads to spare, a long single-threaded fit (EASE) runs beside the others.
  const offThread = new Map<string, Promise<{ model: Recommender; ms: number }>>();
  // Ends those threads when the fits here fail first (a finished one ignores it).
  const fitsDone = new AbortController();
  if ((opts.threads ?? 1) >= 2) {
    for (const [name, { recommender, params }] of Object.entries(recipe.sources)) {
      if (!OWN_THREAD_FAMILIES.has(recommender)) continue;
      const fit = fitInWorker(ds, recommender, params, fitsDone.signal);
      // Observed at once: a failure surfaces when fitRecipe awaits it, not as an unhandled rejection before.
      fit.catch(() => {});
      offThread.set(name, fit);
    }
  }
  const fitted = await fitRecipe(
    ds,
    recipe,
    (s) => {
      const step = `fit:${s.step}`;
      if (s.ms !== null) durations[step] = s.ms;
      void fire(s.ms === null ? { step, phase: 'start' } : { step, phase: 'end', ms: s.ms });
    },
    alsThreads ? { halfSteps: alsThreads } : undefined,
    { imported: opts.importedAls, offThread },
  ).finally(() => {
    alsThreads?.close();
    fitsDone.abort(new Error('the training stopped fitting'));
  });
  await fire({ step: 'fit', phase: 'end' });
  if (listenerError) throw listenerError;

  const timed = async <T>(step: string, fn: () => T | Promise<T>): Promise<T> => {
    await onStep({ step, phase: 'start' });
    const t0 = performance.now();
    const out = await fn();
    durations[step] = performance.now() - t0;
    await onStep({ step, phase: 'end', ms: durations[step] });
    return out;
  };
  // The audience postings are collected from the users-table rows as they come (and from the tables kept, without a listener).
  const audience = audienceCollector(ds.userIds, fitted.sources.size);
  const onEntries = opts.onEntries && ((entries: TableEntries) => {
    for (const [name, rows] of entries) if (name === USERS_TABLE) audience.add(rows);
    opts.onEntries!(entries);
  });
  const build = await timed('serving', () => buildServingModelInThreads({ ds, fitted, recipe, precomputeDays: opts.precomputeDays, storeStrategyLists: !opts.storeRecommenders }, opts.threads ?? 1, { onEntries, chunkGate: opts.chunkGate, chunkUsers: opts.chunkUsers }));
  const artifacts = [...build.artifacts];
  // The audience postings of the version (audience-artifact.ts): its first audience reads them instead of every customer's entry.
  artifacts.push([
    AUDIENCE_ARTIFACT,
    await timed('audience', () => {
      if (!onEntries) audience.add([...(build.tables.get(USERS_TABLE) ?? [])]);
      return audience.artifact(ds.itemIds.length);
    }),
  ]);
  // Customer profiles and segments of the training population, read by the profile and segment routes.
  artifacts.push([PROFILES_ARTIFACT, await timed('profiles', () => buildProfilesArtifact(ds, new Date().toISOString()))]);
  if (opts.storeRecommenders) {
    await timed('encode', () => {
      for (const [name, r] of fitted.sources) artifacts.push([`recommender:${name}`, r.toArtifact()]);
      artifacts.push(['recommender:hybrid', fitted.hybrid.toArtifact()]);
    });
  }
  return { artifacts, tables: [...build.tables].map(([name, rows]) => [name, [...rows]]), servingInfo: build.info, durations, restrictions: sourceRestrictions(fitted.sources) };
}
