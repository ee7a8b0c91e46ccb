import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { CatalogRepository } from '../../data/catalog-repository.js';
import { notFound } from '../../errors.js';
import { errors, idParam, NEW_ID_SPACES } from '../schemas/common.js';
import { itemBatchBody, itemBody, itemResponse, upsertResult } from '../schemas/catalog.js';
import { checkBatchSize, countFirst } from './batch-size.js';
import { refuseNewPaddedIds } from './padded-ids.js';

export function itemRoutes(app: FastifyInstance, deps: { catalog: CatalogRepository; maxBatch: number }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['catalog'];

  r.put('/v1/items/:id', {
    config: { scope: 'write', ingest: 'items' },
    schema: { operationId: 'upsertItem', tags, summary: 'Create or replace an item', description: NEW_ID_SPACES, params: idParam, body: itemBody, response: { 200: itemResponse, ...errors(400, 401, 403, 413) } },
    handler: async (req) => {
      await refuseNewPaddedIds(deps.catalog, [{ path: 'params.id', kind: 'item', id: req.params.id }]);
      await deps.catalog.upsertItems([{ id: req.params.id, ...req.body }]);
      return (await deps.catalog.getItem(req.params.id))!;
    },
  });

  const checkSize = (n: number) => checkBatchSize(n, deps.maxBatch, 'items');
  r.post('/v1/items/batch', {
    config: { scope: 'write', ingest: 'items' },
    preValidation: countFirst('items', (n) => checkSize(n)),
    schema: { operationId: 'upsertItems', tags, summary: 'Create or replace items in one batch (all or nothing)', description: NEW_ID_SPACES, body: itemBatchBody, response: { 200: upsertResult, ...errors(400, 401, 403, 413) } },
    handler: async (req) => {
      checkSize(req.body.items.length);
      await refuseNewPaddedIds(deps.catalog, req.body.items.map((item, i) => ({ path: `body.items.${i}.id`, kind: 'item', id: item.id })));
      return deps.catalog.upsertItems(req.body.items);
    },
  });

  r.get('/v1/items/:id', {
    config: { scope: 'read' },
    schema: { operationId: 'getItem', tags, summary: 'Read an item', params: idParam, response: { 200: itemResponse, ...errors(400, 401, 403, 404) } },
    handler: async (req) => {
      const item = await deps.catalog.getItem(req.params.id);
      if (!item) throw notFound('item', req.params.id);
      return item;
    },
  });
}
