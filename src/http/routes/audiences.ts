import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AudienceService } from '../../audiences/audience-service.js';
import { AppError } from '../../errors.js';
import { errors, idParam } from '../schemas/common.js';
import { audienceBody, audienceQuery, audienceResponse } from '../schemas/audiences.js';

const noModel = () => new AppError('UNPROCESSABLE', 'no model is active yet: train one first (POST /v1/training-jobs)');

export function audienceRoutes(app: FastifyInstance, deps: { audiences: AudienceService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['audiences'];

  r.get('/v1/items/:id/audience', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'getItemAudience',
      tags,
      summary: 'The customers most likely to buy an item, each with a score and a reason',
      description: 'Ranked by the active model\'s scores of the item for every known customer (see README "Audiences"); customers who bought it recently are left out unless includeRecentBuyers=true.',
      params: idParam,
      querystring: audienceQuery,
      response: { 200: audienceResponse, ...errors(400, 401, 403, 404, 422) },
    },
    handler: async (req) => (await deps.audiences.audience({ ...req.query, itemIds: [req.params.id] })) ?? Promise.reject(noModel()),
  });

  r.post('/v1/audiences', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'createAudience',
      tags,
      summary: 'The customers most likely to buy any of several items, or an item of a category',
      body: audienceBody,
      response: { 200: audienceResponse, ...errors(400, 401, 403, 404, 422) },
    },
    handler: async (req) => (await deps.audiences.audience(req.body)) ?? Promise.reject(noModel()),
  });
}
