import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import type { ModelStore } from '../../store/model-store.js';
import { errors } from '../schemas/common.js';
import { modelList, modelVersion, versionParam } from '../schemas/jobs.js';

export interface ModelRouteDeps {
  store: ModelStore;
  /** Rollback: makes a kept version active (scrubbed of users erased since) and refreshes caches; false if unknown. */
  activate: (version: string) => Promise<boolean>;
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
      return { active: current, versions: versions.map((v) => ({ ...v, active: v.version === current })) };
    },
  });

  r.post('/v1/models/:version/activate', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'activateModel',
      tags,
      summary: 'Serve a kept version again (rollback); 409 when the model store no longer holds all of it. A training running meanwhile publishes its version without activating it',
      params: versionParam,
      response: { 200: z.object({ active: modelVersion }), ...errors(400, 401, 403, 404, 409) },
    },
    handler: async (req) => {
      if (!(await deps.activate(req.params.version))) throw notFound('model version', req.params.version);
      // An audit line: which version was put in service by hand, when (the request line has no version).
      // A training running now publishes its own version without activating it (train-model.ts).
      req.log.warn({ version: req.params.version, scope: req.apiScope }, 'model version activated by hand');
      const active = await deps.store.getActive();
      return { active: { ...active!, active: true } };
    },
  });
}
