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
 * The admin use cases of A/B experiments (POST/GET /v1/experiments, POST /v1/experiments/:id/start and /stop).
 * After a change this process's cache is re-read at once; other replicas see it within their refresh.
 */
export function createExperimentService(deps: {
  experiments: ExperimentRepository;
  cache: ExperimentCache;
  /** Strategies the served model offers; null without an active model (arms are then not checked). */
  offeredStrategies: () => Promise<readonly string[] | null>;
}) {
  /** 422 when an arm names a strategy the active model does not offer (none checked without a model). */
  async function checkArms(arms: readonly ArmDefinition[]): Promise<void> {
    const offered = await deps.offeredStrategies();
    const unknown = offered ? arms.filter((a) => !offered.includes(a.strategy)) : [];
    if (unknown.length > 0) {
      throw new AppError(
        'UNPROCESSABLE',
        `the active model does not offer ${unknown.map((a) => `"${a.strategy}" (arm ${a.name})`).join(', ')}; it offers ${offered!.join(', ')}`,
        unknown.map((a) => ({ path: `arms.${arms.indexOf(a)}.strategy`, message: `expected one of ${offered!.join(', ')}` })),
      );
    }
  }

  return {
    /** 409 when the id is taken or another experiment is active; 422 when an arm names a strategy the model lacks. */
    async create(e: NewExperiment): Promise<ExperimentRecord> {
      await checkArms(e.arms);
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

    /**
     * Starts assigning users to the arms of an experiment created with `active: false`; 409 when it was
     * stopped or another runs, 422 when an arm names a strategy the model no longer offers.
     */
    async start(id: string): Promise<ExperimentRecord> {
      const existing = await deps.experiments.get(id);
      if (!existing) throw notFound('experiment', id);
      if (!existing.active && existing.stoppedAt === null) await checkArms(existing.arms);
      const result = await deps.experiments.start(id);
      if (result.outcome === 'missing') throw notFound('experiment', id);
      if (result.outcome !== 'started' && result.outcome !== 'another-active') throw new AppError('CONFLICT', `experiment "${id}" was stopped; a stopped experiment does not run again (create one with a new id)`);
      if (result.outcome === 'another-active') throw new AppError('CONFLICT', `experiment "${result.activeId}" is active; stop it first (one experiment at a time)`);
      await deps.cache.refresh();
      return result.experiment;
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
