import type { Dataset } from '../recommenders/dataset.js';
import { encodeProfiles } from './profile-codec.js';
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
