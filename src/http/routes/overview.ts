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
      description:
        'Customers whose erasure is owed (asked, not completed) are left out of the counts, as the erased are. 503 DEPENDENCY_UNAVAILABLE (with Retry-After) while this process holds every customer: it started while Postgres did not answer and has not read the erasures owed yet, so its counts cannot leave them out; ask again (readiness, `erasureCatchUp`, is false meanwhile). 503 too when the model store does not answer while this process serves no model.',
      response: { 200: overviewResponse, ...errors(401, 403, 503) },
    },
    handler: () => deps.overview(),
  });
}
