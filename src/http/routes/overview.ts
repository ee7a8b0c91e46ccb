import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServiceOverviewReader } from '../../training/service-overview.js';
import { errors } from '../schemas/common.js';
import { overviewResponse } from '../schemas/overview.js';

export function overviewRoutes(app: FastifyInstance, deps: { overview: ServiceOverviewReader }) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/overview', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'getOverview',
      tags: ['models'],
      summary: 'Catalogue, customers, purchases, orders and feedback held, and the model being served',
      response: { 200: overviewResponse, ...errors(401, 403) },
    },
    handler: () => deps.overview(),
  });
}
