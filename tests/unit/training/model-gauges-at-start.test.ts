import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createModelGauges } from '../../../src/training/model-gauges.js';

describe('model gauges of a process that starts without a model', () => {
  it('When the store does not answer at start, Then the age and last-training gauges have no series, not 0; a published model gives them one', async () => {
    const metrics = createMetrics();
    const store = await createMemoryModelStore();
    let down = true;
    const gauges = createModelGauges({
      store: { ...store, getActive: () => (down ? Promise.reject(new Error('Connection is closed.')) : store.getActive()) },
      metrics,
    });
    const series = async (name: string) => (await metrics.registry.getSingleMetricAsString(name)).split('\n').filter((l) => l.startsWith(`${name} `));
    await gauges.refresh();
    expect(await series('recsvc_model_active_age_seconds')).toEqual([]);
    expect(await series('recsvc_training_last_success_timestamp_seconds')).toEqual([]);
    down = false;
    const trainedAt = new Date(Date.now() - 60_000).toISOString();
    await store.publish({ version: 'v1', recipe: 'r', trainedAt, info: {} });
    await gauges.refresh();
    expect(await series('recsvc_model_active_age_seconds')).toHaveLength(1);
    expect(await series('recsvc_training_last_success_timestamp_seconds')).toEqual([`recsvc_training_last_success_timestamp_seconds ${Date.parse(trainedAt) / 1000}`]);
    await store.close();
  });
});
