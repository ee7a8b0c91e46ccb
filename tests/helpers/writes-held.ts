import type { ModelStore } from '../../src/store/model-store.js';

/**
 * `store` with `before(version)` awaited ahead of each of its part writes (putArtifact, putEntries), everything else
 * its own: a test's hook to pause a writer (a restore putting a version back) at a part of its choosing, or to do
 * something of its own (a sweep, an erasure) between two parts.
 */
export function writesAfter<S extends ModelStore>(store: S, before: (version: string) => Promise<void>): S {
  const held = Object.create(store) as S;
  held.putArtifact = async (version, name, data) => {
    await before(version);
    return store.putArtifact(version, name, data);
  };
  held.putEntries = async (version, table, entries) => {
    await before(version);
    return store.putEntries(version, table, entries);
  };
  return held;
}
