import { AUDIENCE_ARTIFACT, audienceCollector } from '../../../src/audiences/audience-artifact.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelMeta } from '../../../src/store/model-store.js';
import { writeModelVersion } from '../../../src/training/write-model-version.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from '../serving/fit-sources.js';

/**
 * The two-groups shop's serving build with its stored audience postings (layout 2), written and published as each of
 * `versions` in turn into a memory store (the last one active). Two candidates a customer, so the audiences of k 24
 * have a related tier too.
 */
export async function storedAudienceVersions(versions: readonly string[]) {
  const { ds } = twoGroups();
  const fitted = fitSources(ds);
  const build = buildServingModel({ ds, fitted, precomputeDays: null, recipe: { candidates: { perUser: 2 } } });
  const collector = audienceCollector(ds.userIds, fitted.sources.size);
  collector.add([...build.tables.get(USERS_TABLE)!]);
  const store = await createMemoryModelStore();
  const metas: ModelMeta[] = [];
  for (const version of versions) {
    await writeModelVersion(store, version, { artifacts: new Map([...build.artifacts, [AUDIENCE_ARTIFACT, collector.artifact(ds.itemIds.length)]]), tables: build.tables });
    const meta = { version, recipe: 'stored', trainedAt: new Date().toISOString(), info: { serving: build.info } };
    await store.publish(meta);
    metas.push(meta);
  }
  return { store, metas };
}
