import { describe, expect, it } from 'vitest';
import { loadOnRequestScorer } from '../../../src/serving/on-request-scorer.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact, encodeUserIdsArtifact, userIdsReader } from '../../../src/serving/serving-artifacts.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from './fit-sources.js';
import { publishVersion } from './on-request-fixture.js';

const padded = (n: number) => Array.from({ length: n }, (_, k) => `pad-${k}-é`);

describe("the scorer's customer index, read a part at a time", () => {
  it('When the user ids are read in slices, Then the slices put together are the whole list, in order', () => {
    const ids = ['a', 'é-ü', '', 'd', ...padded(10)];
    const reader = userIdsReader(encodeUserIdsArtifact(ids));
    expect(reader.count).toBe(ids.length);
    const parts: string[] = [];
    for (let from = 0; from < reader.count; from += 3) parts.push(...reader.slice(from, from + 3));
    expect(parts).toEqual(ids);
    expect(reader.slice(12, 99)).toEqual(ids.slice(12));
    expect(reader.slice(ids.length, ids.length + 3)).toEqual([]);
  });

  it("When a version has more customers than one part, Then every customer, in every part, is known", async () => {
    const { ds } = twoGroups();
    const fitted = fitSources(ds);
    const store = await createMemoryModelStore();
    const model = await publishVersion(store, 'v1', buildServingModel({ ds, fitted, recipe: {} }), fitted);
    // The fixture's customers keep their rows; 60,000 more (rows the recommenders do not have) fill three parts.
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
