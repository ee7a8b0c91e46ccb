import { describe, expect, it } from 'vitest';
import { runEvaluationInWorker } from '../../../src/evaluation/evaluate-in-worker.js';
import { runEvaluation } from '../../../src/evaluation/run-evaluation.js';
import { DAY, recipe, T0, twoGroups } from '../../unit/evaluation/two-groups-fixture.js';

const request = { split: { kind: 'temporal' as const, cutoff: new Date(T0 + 50 * DAY).toISOString() }, modes: ['novel' as const, 'all' as const], ks: [3] };

describe('an evaluation run in a worker thread', () => {
  it('When run in a thread, Then the report is the one the calling thread computes, and progress arrives', async () => {
    const steps: number[] = [];
    const threaded = await runEvaluationInWorker({ events: twoGroups() }, [recipe], request, (p) => steps.push(p.progress));
    const inline = await runEvaluation({ events: twoGroups() }, [recipe], request);
    expect(threaded).toEqual(inline);
    expect(steps.length).toBeGreaterThan(0);
    expect(Math.max(...steps)).toBeLessThanOrEqual(1);
  });

  it('When the progress listener throws (a cancelled job), Then the run stops with its error', async () => {
    const cancelled = new Error('job cancelled');
    await expect(
      runEvaluationInWorker({ events: twoGroups() }, [recipe], request, () => {
        throw cancelled;
      }),
    ).rejects.toBe(cancelled);
  });

  it('When the run fails in the thread, Then the promise rejects with its message', async () => {
    await expect(runEvaluationInWorker({ events: twoGroups() }, [recipe], { ...request, strategies: ['als'] })).rejects.toThrow(
      /strategy "als" is not a source of recipe "tiny"/,
    );
  });
});
