/**
 * Worker-thread entry of the threaded serving build: rebuilds the fitted sources and the hybrid from
 * their artifacts and builds the per-user rows of the chunks of users it takes from the shared counter
 * (see threaded-serving-build.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from '../recommenders/dataset.js';
import { hybridFromArtifact } from '../recommenders/hybrid.js';
import type { Recommender } from '../recommenders/recommender.js';
import { recommenderFactory } from '../recommenders/registry.js';
import { ROWS_CHUNK_USERS, userRowChunks, type PreparedServingModel, type UserRows } from '../serving/serving-model-builder.js';
import { ownedBuffers } from './transfer-list.js';
import { takeSlotSync, type ChunkGate } from './chunk-gate.js';
import { sharedChunks } from './shared-chunks.js';

export interface UserRowsJob {
  ds: Dataset;
  /** [recipe source name, recommender family, artifact] per fitted source. */
  sources: [string, string, Uint8Array][];
  hybrid: Uint8Array;
  prepared: Omit<PreparedServingModel, 'artifacts'>;
  /** The counter every thread of the build takes its next chunk of users from (see sharedChunks). */
  next: Int32Array;
  /** Post the rows in chunks as they are built (`{ type: 'rows' }`); else all of them when done. */
  stream?: boolean;
  /** Users per posted chunk (default ROWS_CHUNK_USERS). */
  chunkUsers?: number;
  /** A slot of it is taken before each chunk is posted (see chunk-gate.ts). */
  chunkGate?: ChunkGate;
}

const rowBytes = (rows: UserRows) => [...rows.users.map(([, b]) => b), ...rows.strategies.flatMap((t) => t.map(([, b]) => b))];

function run(job: UserRowsJob): UserRows[] {
  const sources = new Map<string, Recommender>();
  for (const [name, family, bytes] of job.sources) {
    const factory = recommenderFactory(family);
    if (!factory) throw new Error(`unknown recommender family "${family}"`);
    sources.set(name, factory.fromArtifact(bytes, job.ds));
  }
  const fitted = { sources, hybrid: hybridFromArtifact(job.hybrid, sources) };
  // Decoding copied what the models need (ALS and item-kNN keep views of their bytes): the list can go while the rows are built.
  job.sources.length = 0;
  const rows = userRowChunks({ ...job.prepared, ds: job.ds, fitted }, sharedChunks(job.next, job.ds.userIds.length, job.chunkUsers ?? ROWS_CHUNK_USERS));
  if (!job.stream) return [...rows];
  for (const chunk of rows) {
    if (job.chunkGate) takeSlotSync(job.chunkGate);
    parentPort!.postMessage({ type: 'rows', rows: chunk }, ownedBuffers(rowBytes(chunk)));
  }
  return [];
}

if (parentPort) {
  try {
    const rows = run(workerData as UserRowsJob);
    parentPort.postMessage({ type: 'done', rows }, ownedBuffers(rows.flatMap(rowBytes)));
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}
