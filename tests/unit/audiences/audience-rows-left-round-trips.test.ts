import { describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT, audienceRowsLeft } from '../../../src/audiences/audience-artifact.js';
import { artifactLayout, type ArtifactRangeReader } from '../../../src/recommenders/artifact.js';
import { ARTIFACT_USER_IDS } from '../../../src/serving/serving-artifacts.js';
import { createUserErasure, type UserErasureDeps } from '../../../src/privacy/user-erasure.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { storedAudienceVersions } from './stored-audience-versions.fixture.js';

/**
 * The start's scrub (user-erasure.ts catchUp) checks every kept version's audience postings with ranged reads
 * (audienceRowsLeft), each a round trip to Redis. Read one after another they were 7 trips a version, 4.9 s of a
 * start on a Redis whose replies come 700 ms late (bench/README "A start on a slow Redis, batched"). Reads that
 * do not depend on each other are made at once, so they share a trip: counted here as waves, each wave the reads
 * made before any of them is answered (no timing).
 */
function inWaves() {
  let pending: Array<() => void> = [];
  let waves = 0;
  let reads = 0;
  const held =
    (read: ArtifactRangeReader): ArtifactRangeReader =>
    (start, end) =>
      new Promise((resolve, reject) => {
        reads++;
        pending.push(() => void read(start, end).then(resolve, reject));
      });
  /** Answers the reads wave by wave until `work` settles. */
  async function run<T>(work: Promise<T>): Promise<{ value: T; waves: number; reads: number }> {
    let done = false;
    const settled = work.finally(() => void (done = true));
    settled.catch(() => {});
    for (;;) {
      // Every read the answers so far lead to is made before the next wave is answered.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (done) break;
      if (pending.length === 0) continue;
      waves++;
      const now = pending;
      pending = [];
      for (const answer of now) answer();
    }
    return { value: await settled, waves, reads };
  }
  return { held, run };
}

async function storedVersions(versions: readonly string[]) {
  return (await storedAudienceVersions(versions)).store;
}

async function storedVersion() {
  const store = await storedVersions(['v1']);
  const reader = (name: string): ArtifactRangeReader => (start, end) => store.readArtifactRange!('v1', name, start, end);
  return { audience: reader(AUDIENCE_ARTIFACT), userIds: reader(ARTIFACT_USER_IDS) };
}

describe("the start's check of a version's audience postings, in round trips", () => {
  it('When an artifact has a short header, Then its layout is one read', async () => {
    const { audience } = await storedVersion();
    const w = inWaves();
    const { value, reads } = await w.run(artifactLayout(w.held(audience)));
    expect(value?.arrays.has('positions')).toBe(true);
    expect(reads).toBe(1);
  });

  it('When a version is checked for postings left behind, Then its reads take two waves (the layouts, then the arrays)', async () => {
    const { audience, userIds } = await storedVersion();
    const direct = await audienceRowsLeft(audience, userIds);
    const w = inWaves();
    const { value, waves } = await w.run(audienceRowsLeft(w.held(audience), w.held(userIds)));
    expect(value).toEqual(direct);
    expect(waves).toBe(2);
  });

  it("When the start's scrub checks three kept versions, Then their reads share the same two waves", async () => {
    const store = await storedVersions(['v1', 'v2', 'v3']);
    const w = inWaves();
    const read = store.readArtifactRange!.bind(store);
    const held = { ...store, listVersions: store.listVersions.bind(store), readArtifactRange: (version: string, name: string, start: number, end: number) => w.held((a, b) => read(version, name, a, b))(start, end) } as ModelStore;
    // The in-process store keeps no erasure records: catchUp is the audience check alone, nothing read of Postgres.
    const erasure = createUserErasure({ events: {} as UserErasureDeps['events'], erasures: {} as UserErasureDeps['erasures'], store: held, forget: async () => {} });
    const { waves } = await w.run(erasure.catchUp());
    expect(waves).toBe(2);
  });
  it("When one kept version's array read fails while the others' succeed, Then the start's scrub fails, not says that version is clean", async () => {
    const store = await storedVersions(['v1', 'v2', 'v3']);
    const read = store.readArtifactRange!.bind(store);
    // v2's postings' arrays (past the header) fail to read: a Redis reply that errors part-way through the batch.
    const failing = {
      ...store,
      listVersions: store.listVersions.bind(store),
      readArtifactRange: async (version: string, name: string, start: number, end: number) => {
        if (version === 'v2' && name === AUDIENCE_ARTIFACT && start > 0) throw new Error('WRONGTYPE a reply that failed');
        return read(version, name, start, end);
      },
    } as ModelStore;
    const erasure = createUserErasure({ events: {} as UserErasureDeps['events'], erasures: {} as UserErasureDeps['erasures'], store: failing, forget: async () => {} });
    await expect(erasure.catchUp()).rejects.toThrow('a reply that failed');
  });
});
