import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, notFound } from '../../errors.js';
import type { ActivationAttempt } from '../../privacy/user-erasure.js';
import type { ModelStore } from '../../store/model-store.js';
import { errors } from '../schemas/common.js';
import { modelList, modelVersion, versionParam } from '../schemas/jobs.js';

export interface ModelRouteDeps {
  store: ModelStore;
  /** Rollback: makes a kept version active (scrubbed of users erased since) and refreshes caches; false if unknown. */
  activate: (version: string, attempt?: ActivationAttempt) => Promise<boolean>;
  /**
   * How long a rollback may wait for its turn under the erasure lock (Postgres frozen or failing over,
   * erasures queued) before it is given up with a 503 that says nothing was activated; 0: no limit.
   */
  activateWithinMs?: number;
  /** The version this process answers with (in memory), null before it serves one. */
  served?: () => string | null;
}

/** `work`'s result, or a 503 once `ms` pass before the attempt has committed (then it activates nothing). */
function withinLimit<T>(ms: number, attempt: ActivationAttempt, work: Promise<T>): Promise<T> {
  if (ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const givenUp = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      if (attempt.committed) return;
      attempt.abandoned = true;
      reject(new AppError('DEPENDENCY_UNAVAILABLE', `the rollback could not take its turn under the erasure lock within ${ms} ms (Postgres not answering, or erasures queued); nothing was activated: try again`));
    }, ms);
  });
  // The abandoned attempt ends with its own refusal, which nobody waits for.
  work.catch(() => {});
  return Promise.race([work, givenUp]).finally(() => clearTimeout(timer));
}

function lostFromStore(version: string): AppError {
  return new AppError(
    'CONFLICT',
    `model version "${version}" is the one this process serves from memory, but the model store no longer holds it (Redis restarted empty or evicted it), so it cannot be activated: a training publishes a new version (model recovery queues one within a minute when RETRAIN_ON_LOST_MODEL is on; see GET /v1/training-jobs)`,
  );
}

export function modelRoutes(app: FastifyInstance, deps: ModelRouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['models'];

  r.get('/v1/models', {
    config: { scope: 'admin' },
    schema: { operationId: 'listModels', tags, summary: 'Kept model versions, newest first, and which one is served', response: { 200: modelList, ...errors(401, 403) } },
    handler: async () => {
      const [active, versions] = await Promise.all([deps.store.getActive(), deps.store.listVersions()]);
      const current = active?.version ?? null;
      const served = deps.served?.() ?? null;
      return {
        active: current,
        versions: versions.map((v) => ({ ...v, active: v.version === current })),
        served,
        // A Redis restarted empty: this process still answers with a version the store no longer lists.
        servedInStore: served !== null && versions.some((v) => v.version === served),
      };
    },
  });

  r.post('/v1/models/:version/activate', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'activateModel',
      tags,
      summary: 'Serve a kept version again (rollback); 409 when the model store no longer holds all of it. A training running meanwhile publishes its version without activating it',
      params: versionParam,
      response: { 200: z.object({ active: modelVersion }), ...errors(400, 401, 403, 404, 409, 503) },
    },
    handler: async (req) => {
      const attempt: ActivationAttempt = { abandoned: false, committed: false };
      if (!(await withinLimit(deps.activateWithinMs ?? 0, attempt, deps.activate(req.params.version, attempt)))) {
        // The version answers still carry, lost by the store (a Redis restarted empty): it exists, but cannot
        // be put back, since its per-customer entries lived only in the store.
        if (deps.served?.() === req.params.version) throw lostFromStore(req.params.version);
        throw notFound('model version', req.params.version);
      }
      // An audit line: which version was put in service by hand, when (the request line has no version).
      // A training running now publishes its own version without activating it (train-model.ts).
      req.log.warn({ version: req.params.version, scope: req.apiScope }, 'model version activated by hand');
      const active = await deps.store.getActive();
      return { active: { ...active!, active: true } };
    },
  });
}
