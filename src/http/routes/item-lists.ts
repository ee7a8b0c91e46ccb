import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Serving } from '../../serving/create-serving.js';
import { errors, idParam } from '../schemas/common.js';
import { boughtTogetherResponse, listQuery, popularQuery, recommendationResponse, similarQuery } from '../schemas/recommendations.js';
import { plainJsonSerializer } from './plain-json.js';

export function itemListRoutes(app: FastifyInstance, deps: { serving: Serving }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['recommendations'];

  r.get('/v1/items/:id/similar', {
    config: { scope: 'frontend' },
    serializerCompiler: plainJsonSerializer,
    schema: {
      operationId: 'listSimilarItems',
      tags,
      summary: 'Items similar to an item (content or collaborative neighbours)',
      description:
        'An item added to the catalog after the active model was trained gets the items most like it by content ' +
        '(title, description, categories, price band, attributes: `strategy: content`, `fallback: true` unless `strategy=content` was asked), ' +
        'then popular items of its first category, then popular items; popularity alone (`fallback: true`) when it shares no words, category or attribute with a trained item.',
      params: idParam,
      querystring: similarQuery,
      response: { 200: recommendationResponse, ...errors(400, 401, 403, 404) },
    },
    handler: (req) => deps.serving.similarItems(req.params.id, req.query),
  });

  r.get('/v1/items/:id/bought-together', {
    config: { scope: 'frontend' },
    serializerCompiler: plainJsonSerializer,
    schema: {
      operationId: 'listBoughtTogether',
      tags,
      summary: 'Items bought in the same order as an item, with support, confidence and lift',
      params: idParam,
      querystring: listQuery,
      response: { 200: boughtTogetherResponse, ...errors(400, 401, 403, 404) },
    },
    handler: (req) => deps.serving.boughtTogether(req.params.id, req.query),
  });

  r.get('/v1/popular', {
    config: { scope: 'frontend' },
    serializerCompiler: plainJsonSerializer,
    schema: {
      operationId: 'listPopularItems',
      tags,
      summary: 'Popular items, globally or for a user attribute value, optionally in a time window',
      querystring: popularQuery,
      response: { 200: recommendationResponse, ...errors(400, 401, 403) },
    },
    handler: (req) => deps.serving.popular(req.query),
  });
}
