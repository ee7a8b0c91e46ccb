/**
 * The audience index of a model computed in process (training's computeModel, not yet stored): what the
 * audience benchmark and tests rank with, through the same decoding as a served version.
 */
import type { ComputedModel } from '../training/compute-model.js';
import { ARTIFACT_ITEMS, ARTIFACT_NEIGHBOURS, ARTIFACT_POPULAR } from '../serving/serving-artifacts.js';
import { decodeServingModel, type ServingModel } from '../serving/serving-model.js';
import { decodeUserEntry, USERS_TABLE } from '../serving/user-entry.js';
import { buildAudienceIndex, type AudienceIndex } from './audience-index.js';
import { relatedSourcesOf } from './audience-service.js';

export function audienceOfComputed(computed: Pick<ComputedModel, 'artifacts' | 'tables'>, version = 'computed'): { model: ServingModel; index: AudienceIndex } {
  const artifacts = new Map(computed.artifacts);
  const bytes = (name: string) => {
    const b = artifacts.get(name);
    if (!b) throw new Error(`computed model without ${name}`);
    return b;
  };
  const model = decodeServingModel(
    { version, recipe: version, trainedAt: new Date(0).toISOString(), info: {} },
    { items: bytes(ARTIFACT_ITEMS), neighbours: bytes(ARTIFACT_NEIGHBOURS), popular: bytes(ARTIFACT_POPULAR) },
  );
  const rows = computed.tables.find(([name]) => name === USERS_TABLE)?.[1] ?? [];
  const index = buildAudienceIndex({
    userIds: rows.map(([id]) => id),
    entries: rows.map(([, b]) => decodeUserEntry(b)),
    itemCount: model.items.ids.length,
    neighbours: model.neighbours,
    relatedSources: relatedSourcesOf(model),
    hybridSources: model.info.hybridSources,
  });
  return { model, index };
}
