import { AppError } from '../errors.js';

/**
 * Rules both model stores share, so they refuse and prune exactly alike.
 *
 * Version names become part of Redis keys (inside a `{...}` hash tag) and are hashed into snapshot
 * file names, so they are limited to characters that can break neither: letters, digits and `._:-`,
 * starting with a letter or digit, at most 128 characters. An ISO timestamp such as
 * `2026-11-22T15:45:25.123Z` fits.
 */
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function assertVersionName(version: string): void {
  if (!VERSION_NAME.test(version)) {
    throw new AppError('VALIDATION_FAILED', `model version name "${version.slice(0, 40)}" must match ${VERSION_NAME}`);
  }
}

/** Published versions are immutable: a write or a second publish under the same name is a conflict. */
export const alreadyPublished = (version: string) =>
  new AppError('CONFLICT', `model version "${version}" is already published and cannot change`);

/**
 * A publish of a draft written under a lease (ModelStore.leaseDraft) that its writer no longer holds: its writer
 * was taken for gone (it renewed nothing for the lease's length) and a sweeper took the draft to delete it.
 */
export class DraftLeaseLost extends Error {
  constructor(readonly version: string) {
    super(`the lease of the draft of model version "${version}" was lost (taken as abandoned and deleted)`);
    this.name = 'DraftLeaseLost';
  }
}

/**
 * Which published versions to delete so that at most `kept` remain: the oldest first, never the
 * active one (it is skipped, so a rolled-back active version can outlive newer ones), nor, when more
 * than one is kept, `activeBefore`: the version a publish just flipped away from. After a rollback that
 * is the known-good version the operator went back to, older than the bad one rolled back from, and the
 * one to go back to again if the new version is bad too. Both fit within `kept` (2 or more).
 */
export function versionsToPrune(oldestFirst: readonly string[], active: string | null, kept: number, activeBefore: string | null = null): string[] {
  let excess = oldestFirst.length - kept;
  const victims: string[] = [];
  for (const version of oldestFirst) {
    if (excess <= 0) break;
    if (version === active || (kept > 1 && version === activeBefore)) continue;
    victims.push(version);
    excess--;
  }
  return victims;
}

/**
 * The order key of a newly published version: its publish time in ms, bumped past the newest one so
 * two publishes in the same millisecond still list in the order they happened.
 */
export const publishScore = (newestScore: number | null, now = Date.now()) =>
  newestScore === null ? now : Math.max(now, newestScore + 1);

/**
 * Which versions a publish of `published` deletes (versionsToPrune after it). A training's publish that did not flip
 * (a rollback stands) never prunes its own version, even when only one is kept: its note tells the operator to
 * activate it. A version put back listed only (`listOnly`: a restore's version kept for rollback) is pruned as any
 * other: kept, it stayed as one version more than MODEL_VERSIONS_KEPT until the next publish (at 1 kept, a restore
 * left two).
 */
export function prunedAtPublish(oldestFirst: readonly string[], active: string | null, kept: number, activeBefore: string | null, published: string, listOnly: boolean): string[] {
  return versionsToPrune(oldestFirst, active, kept, activeBefore).filter((victim) => listOnly || victim !== published);
}
