import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Serving } from '../../serving/create-serving.js';
import { errors, idParam } from '../schemas/common.js';
import { contextBody, recommendationResponse, userRecommendationQuery } from '../schemas/recommendations.js';
import { plainJsonSerializer } from './plain-json.js';

export function recommendationRoutes(app: FastifyInstance, deps: { serving: Serving }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['recommendations'];

  r.get('/v1/users/:id/recommendations', {
    config: { scope: 'frontend' },
    serializerCompiler: plainJsonSerializer,
    schema: {
      operationId: 'recommendForUser',
      tags,
      summary: 'Top-k recommendations for a user (cold-start answer with fallback: true for users the model does not know)',
      params: idParam,
      querystring: userRecommendationQuery,
      response: { 200: recommendationResponse, ...errors(400, 401, 403) },
    },
    // A repeated question with a kept answer is answered in the same tick; anything else awaits.
    handler: (req) => deps.serving.recommendForUserNow(req.params.id, req.query) ?? deps.serving.recommendForUser(req.params.id, req.query),
  });

  r.post('/v1/recommendations', {
    config: { scope: 'frontend' },
    serializerCompiler: plainJsonSerializer,
    schema: {
      operationId: 'recommendForContext',
      tags,
      summary: 'Recommendations for an anonymous or new visitor from a cart/session context and attributes',
      body: contextBody,
      response: { 200: recommendationResponse, ...errors(400, 401, 403, 413) },
    },
    handler: (req) => deps.serving.recommendForContext(req.body),
  });
}
