import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ExperimentService } from '../../serving/experiment-service.js';
import { errors } from '../schemas/common.js';
import { experimentBody, experimentList, experimentParam, experimentResponse } from '../schemas/experiments.js';

export function experimentRoutes(app: FastifyInstance, deps: { experiments: ExperimentService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['experiments'];

  r.post('/v1/experiments', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'createExperiment',
      tags,
      summary: 'Define an A/B experiment: arms (strategies) with traffic shares; users are assigned by a hash of experiment and user id',
      body: experimentBody,
      response: { 201: experimentResponse, ...errors(400, 401, 403, 409, 413, 422) },
    },
    handler: async (req, reply) => reply.code(201).send(await deps.experiments.create(req.body)),
  });

  r.get('/v1/experiments', {
    config: { scope: 'admin' },
    schema: { operationId: 'listExperiments', tags, summary: 'Every experiment, active and stopped, newest first', response: { 200: experimentList, ...errors(401, 403) } },
    handler: async () => ({ experiments: await deps.experiments.list() }),
  });

  r.get('/v1/experiments/:id', {
    config: { scope: 'admin' },
    schema: { operationId: 'getExperiment', tags, summary: 'One experiment', params: experimentParam, response: { 200: experimentResponse, ...errors(400, 401, 403, 404) } },
    handler: (req) => deps.experiments.get(req.params.id),
  });

  r.post('/v1/experiments/:id/start', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'startExperiment',
      tags,
      summary:
        'Start an experiment created with `active: false`: users are assigned to its arms from now on, and its start (`createdAt`) is now. Starting an active one changes nothing; a stopped one does not run again (409)',
      params: experimentParam,
      response: { 200: experimentResponse, ...errors(400, 401, 403, 404, 409, 422) },
    },
    handler: (req) => deps.experiments.start(req.params.id),
  });

  r.post('/v1/experiments/:id/stop', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'stopExperiment',
      tags,
      summary: 'Stop assigning users (answers use the requested or default strategy again); results stay in /v1/metrics/online',
      params: experimentParam,
      response: { 200: experimentResponse, ...errors(400, 401, 403, 404) },
    },
    handler: (req) => deps.experiments.stop(req.params.id),
  });
}
