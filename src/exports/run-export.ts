/**
 * Campaign exports: the top-k recommendations of every customer of a segment / lifecycle stage, or the
 * audience of some products, written to a CSV or JSON Lines file for e-mail and CRM tools. Every row is
 * the API's own answer (the same use cases, the same model version), so a file and
 * GET /v1/users/:id/recommendations?strategy=... agree. The file is written under a temporary name and
 * renamed when complete, so a reader never sees half an export. An answer the API would give during a
 * store outage (a fallback of the outage's) is not written: the export waits for the store, or fails. A
 * version that newer trainings delete while the export reads it (MODEL_VERSIONS_KEPT) is given up: the
 * export begins again on the version active then and writes the file anew, and its result says so.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'csv-stringify';
import type { AudienceService } from '../audiences/audience-service.js';
import { AppError } from '../errors.js';
import type { ProfileService } from '../profiles/profile-service.js';
import { JOB_OUTAGE_WAIT_MS, retryWhileUnavailable } from '../retry-while-unavailable.js';
import { DEGRADED, type Recommendation } from '../serving/recommendation.js';
import type { Serving } from '../serving/create-serving.js';
import type { ServingModel } from '../serving/serving-model.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../serving/serving-artifacts.js';
import type { ModelStore } from '../store/model-store.js';
import type { ErasureRepository } from '../data/erasure-repository.js';
import { scrubExportFile } from '../privacy/export-files.js';
import { formulaEscaped } from './csv-formulas.js';
import { erasureMarkOf } from '../training/write-model-version.js';
import type { ExportRequest } from './export-request.js';
import type { CampaignRepository } from '../data/campaign-repository.js';
import type { OwedErasures } from '../privacy/owed-erasures.js';

export interface ExportDeps {
  serving: Pick<Serving, 'recommendForExport' | 'activeModel'> & Partial<Pick<Serving, 'latestModel'>>;
  audiences: Pick<AudienceService, 'audience'>;
  profiles: Pick<ProfileService, 'userIdsIn'>;
  store: Pick<ModelStore, 'getArtifact'> & Partial<Pick<ModelStore, 'listVersions' | 'getActive'>>;
  /**
   * Customers erased after the version was trained are not written (a store brought back from before their
   * erasure may hold them again), and those erased while the export ran are removed from its file when it is
   * complete.
   */
  erasures?: Pick<ErasureRepository, 'mark' | 'locked' | 'erasedSince'>;
  /**
   * Brings what this process keeps of customers up to date with every erasure committed (erasure-follower.ts):
   * a worker process serves no requests, which is what reads them otherwise.
   */
  followErasures?: () => Promise<void>;
  /** How long a customer's answer waits for a store that stopped answering (default EXPORT_OUTAGE_WAIT_MS). */
  outageWaitMs?: number;
  /** Where the export's campaignId is put on record, so a browser's feedback naming it keeps it (migration 013). */
  campaigns?: Pick<CampaignRepository, 'record'>;
  /**
   * The customers whose erasure is owed (asked for and recorded, not completed: privacy/owed-erasures.ts), as this
   * process knows them (followErasures read them as the export began): not selected, as the erased are not, and
   * those owed by the time the file is complete are removed from it with the erasures made meanwhile. An audience
   * export gets its members from `audiences`, which leaves them out already.
   */
  owed?: Pick<OwedErasures, 'has' | 'ids'>;
}

export interface ExportResult {
  kind: ExportRequest['kind'];
  format: ExportRequest['format'];
  campaignId: string | null;
  modelVersion: string;
  /** Customers written (recommendations: customers with a list; audience: members). */
  customers: number;
  /** Lines written, header excluded. */
  rows: number;
  bytes: number;
  ms: number;
  /**
   * The versions the export began on and began again from, oldest first, because newer trainings deleted
   * each of them while it read their lists (MODEL_VERSIONS_KEPT); empty when none was. The file holds
   * `modelVersion`'s lists only.
   */
  restartedFrom: string[];
}

/** Customers scored at once: their reads overlap, the file keeps the model's customer order. */
export const EXPORT_CHUNK = 64;
/**
 * How long an export waits for Postgres or Redis to answer again (a restart, a failover) before it fails,
 * as a training's writes do: submitting it again is then safe, nothing was written in place.
 */
export const EXPORT_OUTAGE_WAIT_MS = JOB_OUTAGE_WAIT_MS;
/**
 * How many times an export begins again on the version then active when trainings delete the one it reads
 * (each time takes as many trainings as MODEL_VERSIONS_KEPT, or one when it is 1), before it fails.
 */
export const EXPORT_RESTARTS = 3;

/** The version an export reads was deleted by newer trainings: its lists since are cold starts. */
class VersionDeleted extends Error {
  constructor(readonly version: string) {
    super(`model version ${version} was deleted`);
  }
}

const exists = (path: string) => stat(path).then(() => true, () => false);

const RECOMMENDATION_COLUMNS = ['campaignId', 'userId', 'rank', 'itemId', 'title', 'score', 'explanation', 'sources', 'strategy', 'fallback', 'modelVersion', 'recommendationId'];
const AUDIENCE_COLUMNS = ['campaignId', 'rank', 'userId', 'score', 'tier', 'reason', 'itemId', 'modelVersion'];

/**
 * Writes records as CSV (with a header, after a byte-order mark on request) or JSON Lines, with
 * backpressure. CSV text cells a spreadsheet would run as formulas are escaped (csv-formulas.ts); JSON
 * Lines holds the values as they are.
 */
function openWriter(file: string, req: Pick<ExportRequest, 'format' | 'bom'>, columns: string[]) {
  const out = createWriteStream(file);
  // `bom`: the UTF-8 byte-order mark first, which tells Excel the file's encoding (without it, its code page's).
  const csv = req.format === 'csv' ? stringify({ header: true, bom: req.bom === true, columns, cast: { boolean: (v) => String(v), string: formulaEscaped } }) : null;
  csv?.pipe(out);
  const sink = csv ?? out;
  return {
    async write(record: Record<string, unknown>, json?: unknown): Promise<void> {
      const ok = csv ? csv.write(record) : out.write(`${JSON.stringify(json ?? record)}\n`);
      if (!ok) await once(sink, 'drain');
    },
    async close(): Promise<void> {
      sink.end();
      if (!out.writableFinished) await once(out, 'finish');
    },
    /** Stops writing; resolves once the file is closed, so it can be opened again. */
    async destroy(): Promise<void> {
      csv?.destroy();
      out.destroy();
      await new Promise<void>((resolve) => (out.closed ? resolve() : out.once('close', () => resolve())));
    },
  };
}

/**
 * The version an export reads lost its data in the store, and no other version is there to begin again on:
 * the store lost it (a Redis restarted without persistence, whose version this process still serves from
 * memory; keys evicted under maxmemory), no training deleted it. Nothing of it can be written.
 */
function storeLost(version: string, activeNow: string | null | undefined): AppError {
  const what =
    activeNow === null
      ? `the model store lost model version ${version}: it holds no model any more (a Redis restarted without its data?), and this process only serves it from memory`
      : activeNow === version
        ? `the model store lost the customer lists of model version ${version} (its keys evicted under maxmemory, or a cluster shard restarted empty?)`
        : `the model store no longer holds model version ${version}, and no newer version is served`;
  return new AppError(
    'CONFLICT',
    `${what}, so its customers' lists cannot be exported. Train again (POST /v1/training-jobs; with RETRAIN_ON_LOST_MODEL the service queues that training itself once it notices) and export again once its version is active`,
  );
}

/**
 * The model's customers, filtered by segment and lifecycle stage, without `erased` and those whose erasure is owed. A version whose customer
 * list the store does not hold is not one without customers (every version has the list): VersionDeleted,
 * for the caller to tell a version that newer trainings deleted from one the store lost.
 */
async function customersOf(deps: ExportDeps, version: string, req: ExportRequest, erased: ReadonlySet<string>): Promise<string[]> {
  const bytes = await deps.store.getArtifact(version, ARTIFACT_USER_IDS);
  if (!bytes) throw new VersionDeleted(version);
  // An erased customer's place in the index is '' (user-erasure.ts): nobody to write.
  let ids = decodeUserIdsArtifact(bytes).filter((id) => id !== '' && !erased.has(id) && !deps.owed?.has(id));
  for (const [dimension, name] of [['segment', req.segment], ['lifecycle', req.lifecycle]] as const) {
    if (name === undefined) continue;
    const members = await deps.profiles.userIdsIn(dimension, name);
    if (!members) throw new AppError('UNPROCESSABLE', 'the active model has no customer profiles to filter by');
    ids = ids.filter((id) => members.has(id));
  }
  return ids;
}

export async function runExport(
  deps: ExportDeps,
  req: ExportRequest,
  file: string,
  opts: { onProgress?: (fraction: number, step: string) => void; signal?: AbortSignal } = {},
): Promise<ExportResult> {
  const started = performance.now();
  // Set once a read gave up: the other reads of its chunk stop asking a store that is away.
  let gaveUp = false;
  /** `fn` again while Postgres or Redis is away, up to the wait; an abort meanwhile is the abort, not the outage. */
  const throughOutage = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await retryWhileUnavailable(fn, { forMs: deps.outageWaitMs ?? EXPORT_OUTAGE_WAIT_MS, stop: () => gaveUp || (opts.signal?.aborted ?? false) });
    } catch (err) {
      gaveUp = true;
      opts.signal?.throwIfAborted();
      throw err;
    }
  };
  const erasureMark = deps.erasures ? await throughOutage(() => deps.erasures!.mark()) : undefined;
  if (deps.followErasures) await throughOutage(deps.followErasures);
  await mkdir(dirname(file), { recursive: true });
  const part = `${file}.part`;
  const campaign = req.campaignId ?? null;
  const restartedFrom: string[] = [];
  let step = 'export';
  let written: { version: string; rows: number; customers: number };

  // The version active now, not the one this process last checked: an export right after a training must
  // not write the version before it (storefront requests do not wait for this read).
  const latest = () => throughOutage(() => (deps.serving.latestModel ?? deps.serving.activeModel)());

  /**
   * The whole file of one version under the temporary name; VersionDeleted when the store no longer holds
   * the version (newer trainings deleted it meanwhile, or the store lost it).
   */
  async function writeVersion(model: ServingModel): Promise<typeof written> {
    const version = model.meta.version;
    // Everyone erased after the version was trained, whatever the store holds of them: a Redis restarted from
    // a snapshot taken before their erasure holds them again until it is scrubbed again (user-erasure.ts
    // catchUp), which followErasures asked for and which may have failed. One erased before the training
    // and back since is a new customer the version learned, and is written.
    const erased = new Set(deps.erasures ? await throughOutage(() => deps.erasures!.erasedSince(erasureMarkOf(model.meta))) : []);
    const writer = openWriter(part, req, req.kind === 'audience' ? AUDIENCE_COLUMNS : RECOMMENDATION_COLUMNS);
    let rows = 0;
    let customers = 0;
    try {
      if (req.kind === 'audience') {
        const audience = await throughOutage(() => deps.audiences.audience({ ...req, k: req.k }));
        if (!audience) throw new AppError('UNPROCESSABLE', 'no model is active yet: train one first');
        // The store lost members' entries (their reasons): the version's customer lists are not whole, as for a
        // recommendations export (storeLost), rather than a file of reasons the model did not give.
        if (audience.fallback) throw new VersionDeleted(audience.modelVersion);
        const members = audience.users.filter((u) => !erased.has(u.userId));
        for (const [r, u] of members.entries()) {
          const record = { campaignId: campaign, rank: r + 1, userId: u.userId, score: u.score, tier: u.tier, reason: u.reason, itemId: u.itemId, modelVersion: audience.modelVersion };
          await writer.write(record);
          rows++;
        }
        customers = members.length;
        opts.onProgress?.(1, step);
      } else {
        const ids = await throughOutage(() => customersOf(deps, version, req, erased));
        const query = { k: req.k, strategy: req.strategy ?? 'hybrid', excludePurchased: req.excludePurchased };
        /**
         * The customer's answer as the API gives it. One made while a store was unreachable is not the list
         * the campaign asked for (a cold start for a customer not precomputed, or a list without purchases
         * since training, marked fallback): it is asked again until the store answers, and the export fails
         * if it does not within the wait, rather than mailing the outage's popularity list.
         */
        const answerOf = (userId: string) =>
          throughOutage(async (): Promise<Recommendation> => {
            // The version the export began with, whatever a training publishes meanwhile.
            const a = await deps.serving.recommendForExport(userId, query, model);
            if (a[DEGRADED]) throw new AppError('DEPENDENCY_UNAVAILABLE');
            return a;
          });
        let reported = 0;
        for (let from = 0; from < ids.length; from += EXPORT_CHUNK) {
          opts.signal?.throwIfAborted();
          const chunk = ids.slice(from, from + EXPORT_CHUNK);
          const answers = await Promise.all(chunk.map(answerOf));
          // Its version deleted meanwhile (trainings published past MODEL_VERSIONS_KEPT), the lists read since
          // are cold starts: none is written under that version's name. A version is unlisted before its data
          // goes (model-store deleteVersion), so one still listed now was whole for every read of this chunk.
          if (deps.store.listVersions && !(await throughOutage(() => deps.store.listVersions!())).some((v) => v.version === version)) {
            throw new VersionDeleted(version);
          }
          for (const [c, a] of answers.entries()) {
            const userId = chunk[c];
            if (req.format === 'jsonl') {
              await writer.write({}, { campaignId: campaign, userId, ...a });
              rows++;
            } else {
              for (const [r, item] of a.items.entries()) {
                await writer.write({
                  campaignId: campaign, userId, rank: r + 1, itemId: item.itemId, title: item.title ?? '', score: item.score, explanation: item.explanation ?? '',
                  sources: item.sources.join('|'), strategy: a.strategy, fallback: a.fallback, modelVersion: a.modelVersion, recommendationId: a.recommendationId,
                });
                rows++;
              }
            }
            customers++;
          }
          const fraction = Math.min(1, (from + chunk.length) / ids.length);
          // At most once per percent.
          if (fraction - reported >= 0.01 || fraction === 1) {
            reported = fraction;
            opts.onProgress?.(fraction, step);
          }
        }
      }
      await writer.close();
    } catch (err) {
      await writer.destroy();
      throw err;
    }
    return { version, rows, customers };
  }

  let model = await latest();
  if (!model) throw new AppError('UNPROCESSABLE', 'no model is active yet: train one first');
  try {
    for (;;) {
      try {
        written = await writeVersion(model);
        break;
      } catch (err) {
        if (!(err instanceof VersionDeleted)) throw err;
        const deleted = err.version;
        // A training that deleted it made another version active, which this process serves once loaded.
        // Still the same one (from memory), or none: the store lost it, and beginning again cannot help.
        const next = await latest();
        if (!next || next.meta.version === deleted) {
          const activeNow = deps.store.getActive ? ((await throughOutage(() => deps.store.getActive!()))?.version ?? null) : undefined;
          // Another version active that this process has not loaded yet: begun again on what it serves, as before.
          if (!next || activeNow === null || activeNow === undefined || activeNow === deleted) throw storeLost(deleted, activeNow);
        }
        model = next;
        if (restartedFrom.length >= EXPORT_RESTARTS) {
          throw new AppError(
            'CONFLICT',
            `model versions ${[...restartedFrom, deleted].join(', ')} were each deleted while the export read its lists (newer trainings published past MODEL_VERSIONS_KEPT), and it began again ${EXPORT_RESTARTS} times: export again when trainings publish less often, or keep more versions`,
          );
        }
        // Begun again on the version active now, which that training published: the file is written anew,
        // and the result names the versions given up. Nothing else to reset: the erasures since the export
        // began are scrubbed from the file at the end whichever version it holds.
        restartedFrom.push(deleted);
        step = `export again: model version ${deleted} was deleted by a newer training`;
        opts.onProgress?.(0, step);
      }
    }
    // An erasure during the export scrubbed the files there were; this one was not there yet. It is
    // scrubbed of those customers and renamed into place under the erasure lock: an erasure still running
    // is waited for and counted, and every later one finds the file in place.
    if (erasureMark === undefined) await rename(part, file);
    else {
      // Waits for a Postgres that restarts, as the reads did. A turn whose commit was lost after its rename
      // is done again on the file in place: the lost connection gave the lock up, so an erasure may have
      // scrubbed the file meanwhile, and the erasures since the mark are read again. What each turn removed
      // counts, whether or not its commit went through.
      await throughOutage(() =>
        deps.erasures!.locked(async (erasedSince) => {
          // Those owed now are removed too: one asked while the export ran (the rest were not selected).
          const erased = new Set([...(await erasedSince(erasureMark)), ...(deps.owed?.ids() ?? [])]);
          const target = (await exists(part)) ? part : file;
          if (erased.size > 0) {
            const removed = await scrubExportFile(target, erased, req.format);
            written.rows -= removed.rows;
            written.customers -= removed.customers;
          }
          if (target === part) await rename(part, file);
        }),
      );
    }
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  const { size } = await stat(file);
  // On record once its file is in place: a browser's feedback naming it keeps its campaignId from now on.
  if (campaign !== null && deps.campaigns) await throughOutage(() => deps.campaigns!.record(campaign));
  return {
    kind: req.kind, format: req.format, campaignId: campaign, modelVersion: written.version, customers: written.customers, rows: written.rows, bytes: size,
    ms: Math.round(performance.now() - started), restartedFrom,
  };
}
