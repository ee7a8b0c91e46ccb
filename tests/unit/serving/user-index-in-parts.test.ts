import { describe, expect, it } from 'vitest';
import { loadOnRequestScorer } from '../../../src/serving/on-request-scorer.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact, encodeUserIdsArtifact, userIdsIndex } from '../../../src/serving/serving-artifacts.js';
import { ArtifactFormatError, encodeArtifact } from '../../../src/recommenders/artifact.js';
import { packStrings } from '../../../src/recommenders/string-pack.js';
import { PackedIdIndex } from '../../../src/serving/packed-id-index.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from './fit-sources.js';
import { publishVersion } from './on-request-fixture.js';

const padded = (n: number) => Array.from({ length: n }, (_, k) => `pad-${k}-é`);

describe("the scorer's customer index over the packed ids", () => {
  it('When ids are looked up, Then each has its row, whatever its characters, and anything else is not found', () => {
    const ids = ['a', 'é-ü', '日本-42', 'ab', 'b', 'x'.repeat(300), '🎉', ...padded(5_000)];
    const packed = packStrings(ids);
    const index = PackedIdIndex.of(packed.bytes, packed.offsets);
    for (const [row, id] of ids.entries()) expect(index.get(id), id).toBe(row);
    for (const missing of ['', 'A', 'abc', 'é', 'x'.repeat(299), 'x'.repeat(301), 'pad-5000-é', 'pad-1-e', '🎊']) expect(index.get(missing), missing).toBeUndefined();
    // Forgotten (an erasure): not found any more; others are.
    index.forget('é-ü');
    expect(index.has('é-ü')).toBe(false);
    expect(index.get('ab')).toBe(3);
    // A duplicate (erased customers' '' places): the first row.
    const dup = packStrings(['', 'k', '', 'm']);
    expect(PackedIdIndex.of(dup.bytes, dup.offsets).get('')).toBe(0);
    // Added a part at a time, the same rows; rows not added yet are not found.
    const parts = new PackedIdIndex(packed.bytes, packed.offsets);
    parts.add(0, 3);
    expect([parts.get('ab'), parts.get('b')]).toEqual([undefined, undefined]);
    for (let from = 3; from < parts.count; from += 1000) parts.add(from, from + 1000);
    for (const [row, id] of ids.entries()) expect(parts.get(id), id).toBe(row);
  });

  it('When the user ids artifact has offsets past its bytes, Then it is refused as a bad artifact', () => {
    const bytes = encodeUserIdsArtifact(['a', 'b']);
    const index = userIdsIndex(bytes);
    index.add(0, index.count);
    expect(index.get('b')).toBe(1);
    // The same artifact with its last offset (the end of 'b') pointing past the packed bytes.
    const bad = encodeArtifact({ algorithm: ARTIFACT_USER_IDS, version: 1, trainedAt: new Date().toISOString() }, { bytes: new TextEncoder().encode('ab'), offsets: Uint32Array.from([0, 1, 9]) });
    expect(() => userIdsIndex(bad)).toThrow(ArtifactFormatError);
  });

  it("When a version has more customers than one part, Then every customer, in every part, is known", async () => {
    const { ds } = twoGroups();
    const fitted = fitSources(ds);
    const store = await createMemoryModelStore();
    const model = await publishVersion(store, 'v1', buildServingModel({ ds, fitted, recipe: {} }), fitted);
    // The fixture's customers keep their rows; 60,000 more (rows the recommenders do not have).
    const ids = [...decodeUserIdsArtifact((await store.getArtifact('v1', ARTIFACT_USER_IDS))!), ...padded(60_000)];
    const bytes = encodeUserIdsArtifact(ids);
    const reading = { getArtifact: async (version: string, name: string) => (name === ARTIFACT_USER_IDS ? bytes : store.getArtifact(version, name)) };
    const scorer = (await loadOnRequestScorer(reading, model))!;
    for (const id of [ds.userIds[0], ds.userIds.at(-1)!, 'pad-0-é', 'pad-24999-é', 'pad-25000-é', 'pad-59999-é']) expect(scorer.knows(id), id).toBe(true);
    expect(scorer.knows('pad-60000-é')).toBe(false);
    // Forgetting one (an erasure) leaves their neighbours in the index.
    scorer.forget('pad-30000-é');
    expect(scorer.knows('pad-30000-é')).toBe(false);
    expect(scorer.knows('pad-30001-é')).toBe(true);
  });
});
