import type { Dataset } from '../recommenders/dataset.js';
import { decodeProfiles, encodeProfiles } from './profile-codec.js';
import { computeProfiles } from './profile.js';
import { segmentProfiles } from './segments.js';

/** Name of the model-store artifact holding every customer's profile of a model version. */
export const PROFILES_ARTIFACT = 'profiles';

/**
 * Profiles of every customer in the training data, with RFM segment, lifecycle stage and value tier.
 * Recency is measured from the dataset's latest purchase (not the wall clock), so historical data and a
 * live shop read the same way: "days before the newest order we know of".
 */
export function buildProfilesArtifact(ds: Dataset, trainedAt: string): Uint8Array {
  const profiles = segmentProfiles(computeProfiles(ds, { now: ds.now }));
  return encodeProfiles(profiles, { now: ds.now, trainedAt });
}

/**
 * The same profiles artifact without the given customers (erasure), or null when none of them is in
 * it. The others keep their scores: they were computed against the whole training population, and
 * quintile boundaries say nothing about one erased customer.
 */
export function profilesWithout(bytes: Uint8Array, userIds: ReadonlySet<string>): Uint8Array | null {
  const decoded = decodeProfiles(bytes);
  const kept = decoded.profiles.filter((p) => !userIds.has(p.userId));
  if (kept.length === decoded.profiles.length) return null;
  return encodeProfiles(kept, { now: decoded.now ?? undefined, trainedAt: decoded.trainedAt, params: decoded.params });
}
