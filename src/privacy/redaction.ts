/**
 * What an erasure does to one stored artifact of a model version, as pure functions of its bytes: the
 * profiles without the customers, the training's user index with their ids made '' (positions kept), a
 * fitted recommender without their rows. Run off the thread that answers requests (redaction-worker.ts):
 * at 420,000 customers each is tens to hundreds of milliseconds of copying, and decoding every profile
 * into objects, as the first version did, held the event loop 17 s.
 */
import { audienceArtifactWithout } from '../audiences/audience-artifact.js';
import { encodedProfilesWithout } from '../profiles/profile-codec.js';
import { decodeArtifact, encodeArtifact } from '../recommenders/artifact.js';
import { recommenderFactory } from '../recommenders/registry.js';
import { packedPositionsOf, packedWithout } from '../recommenders/string-pack.js';
import { ARTIFACT_USER_IDS } from '../serving/serving-artifacts.js';

export type RedactionJob =
  | { kind: 'profiles'; bytes: Uint8Array; userIds: readonly string[] }
  | { kind: 'user-ids'; bytes: Uint8Array; userIds: readonly string[] }
  | { kind: 'recommender'; family: string; bytes: Uint8Array; rows: readonly number[] }
  | { kind: 'audience'; bytes: Uint8Array; rows: readonly number[] };

/** `bytes` null: nothing of the customers was in the artifact. `rows`: a user index's positions of them. */
export interface RedactionResult {
  bytes: Uint8Array | null;
  rows?: number[];
}

/** The user index (serving-artifacts.ts encodeUserIdsArtifact) with the customers' ids made '', and their positions. */
function userIdsWithout(bytes: Uint8Array, userIds: readonly string[]): RedactionResult {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ARTIFACT_USER_IDS, version: 1 }, { share: true });
  const { bytes: packed, offsets } = arrays;
  if (!(packed instanceof Uint8Array) || !(offsets instanceof Uint32Array) || offsets.length === 0 || offsets[offsets.length - 1] > packed.length) {
    throw new Error('user ids artifact: missing string arrays');
  }
  // Erased before (made '' then) or never in it: not a row of these customers.
  const rows = packedPositionsOf(packed, offsets, userIds.filter((id) => id !== ''));
  if (rows.size === 0) return { bytes: null, rows: [] };
  const { arrays: _listed, ...rest } = header as typeof header & { arrays?: unknown };
  return { bytes: encodeArtifact(rest, packedWithout(packed, offsets, rows, true)), rows: [...rows].sort((a, b) => a - b) };
}

export function redact(job: RedactionJob): RedactionResult {
  switch (job.kind) {
    case 'profiles':
      return { bytes: encodedProfilesWithout(job.bytes, new Set(job.userIds)) };
    case 'user-ids':
      return userIdsWithout(job.bytes, job.userIds);
    case 'audience':
      return { bytes: audienceArtifactWithout(job.bytes, job.rows) };
    case 'recommender': {
      const without = recommenderFactory(job.family)?.withoutUsers;
      return { bytes: without ? without(job.bytes, new Set(job.rows)) : null };
    }
  }
}
