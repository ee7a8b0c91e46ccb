import type { ArmDefinition, ExperimentRecord, ExperimentRepository } from '../data/experiment-repository.js';
import { AppError, notFound } from '../errors.js';
import type { ExperimentCache } from './experiments.js';

export interface NewExperiment {
  id: string;
  /** The first arm is the control the others are tested against. */
  arms: ArmDefinition[];
  active: boolean;
}

export type ExperimentService = ReturnType<typeof createExperimentService>;

/**
 * The admin use cases of A/B experiments (POST/GET /v1/experiments, POST /v1/experiments/:id/stop).
 * After a change this process's cache is re-read at once; other replicas see it within their refresh.
 */
export function createExperimentService(deps: {
  experiments: ExperimentRepository;
  cache: ExperimentCache;
  /** Strategies the served model offers; null without an active model (arms are then not checked). */
  offeredStrategies: () => Promise<readonly string[] | null>;
}) {
  return {
    /** 409 when the id is taken or another experiment is active; 422 when an arm names a strategy the model lacks. */
    async create(e: NewExperiment): Promise<ExperimentRecord> {
      const offered = await deps.offeredStrategies();
      const unknown = offered ? e.arms.filter((a) => !offered.includes(a.strategy)) : [];
      if (unknown.length > 0) {
        throw new AppError(
          'UNPROCESSABLE',
          `the active model does not offer ${unknown.map((a) => `"${a.strategy}" (arm ${a.name})`).join(', ')}; it offers ${offered!.join(', ')}`,
          unknown.map((a) => ({ path: `arms.${e.arms.indexOf(a)}.strategy`, message: `expected one of ${offered!.join(', ')}` })),
        );
      }
      const result = await deps.experiments.insert(e);
      if (result.outcome === 'exists') throw new AppError('CONFLICT', `experiment "${e.id}" exists already (ids are never reused: results would mix)`);
      if (result.outcome === 'another-active') throw new AppError('CONFLICT', `experiment "${result.activeId}" is active; stop it first (one experiment at a time)`);
      await deps.cache.refresh();
      return result.experiment;
    },

    list: () => deps.experiments.list(),

    async get(id: string): Promise<ExperimentRecord> {
      return (await deps.experiments.get(id)) ?? Promise.reject(notFound('experiment', id));
    },

    /** Stops assigning users to arms; the experiment and its results are kept. */
    async stop(id: string): Promise<ExperimentRecord> {
      const stopped = await deps.experiments.stop(id);
      if (!stopped) throw notFound('experiment', id);
      await deps.cache.refresh();
      return stopped;
    },
  };
}
