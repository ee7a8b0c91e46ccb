import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { CatalogRepository } from '../../data/catalog-repository.js';
import { AppError, notFound } from '../../errors.js';
import { SEGMENT_NAMES, type ProfileService } from '../../profiles/profile-service.js';
import type { LifecyclePoint } from '../../profiles/lifecycle-history.js';
import { errors, idParam } from '../schemas/common.js';
import { lifecycleHistoryQuery, lifecycleHistoryResponse, profileResponse, segmentParams, segmentsResponse, segmentUsersQuery, segmentUsersResponse } from '../schemas/profiles.js';

const NO_PROFILES = 'No customer profiles yet: they are computed when a model is trained';
/**
 * While a process that started with Postgres down holds every customer (until it has read the erasures owed), it
 * cannot tell which customers to leave out: "no profiles" (404) would read as a shop never trained, and the report
 * with every customer in it would count customers whose erasure is owed. So: ask again, as an audience answers then.
 */
const HELD_503 =
  '503 DEPENDENCY_UNAVAILABLE (with Retry-After) while this process holds every customer: it started while Postgres did not answer and has not read the erasures owed yet, so it cannot tell which customers to leave out; ask again (readiness, `erasureCatchUp`, is false meanwhile).';

export interface ProfileRouteDeps {
  profiles: ProfileService;
  catalog: Pick<CatalogRepository, 'getUser'>;
  lifecycleHistory: (months: number) => Promise<LifecyclePoint[]>;
  /**
   * Whether the customer's erasure is owed (asked for and recorded, not completed: privacy/owed-erasures.ts): their
   * profile is answered as an erased customer's (404), as the recommendation paths answer them. Absent: none is.
   */
  owed?: (userId: string) => boolean;
}

export function profileRoutes(app: FastifyInstance, deps: ProfileRouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['profiles'];

  r.get('/v1/users/:id/profile', {
    config: { scope: 'read' },
    schema: {
      operationId: 'getUserProfile',
      tags,
      summary: "A customer's RFM profile, segment, lifecycle stage and value tier (refreshed by purchases since training)",
      description: HELD_503,
      params: idParam,
      response: { 200: profileResponse, ...errors(400, 401, 403, 404, 503) },
    },
    handler: async (req) => {
      // An owed erasure's customer, as an erased one: their record is still stored until the erasure completes.
      if (deps.owed?.(req.params.id) || !(await deps.catalog.getUser(req.params.id, { unlessOwed: true }))) throw notFound('user', req.params.id);
      const profile = await deps.profiles.profile(req.params.id);
      // No active model with profiles (never trained, or a model store that came back empty) is not the customer's lack.
      if (!profile) throw new AppError('NOT_FOUND', (await deps.profiles.report()) ? `user "${req.params.id}" has no purchases in a trained model yet` : NO_PROFILES);
      return profile;
    },
  });

  r.get('/v1/segments', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'listSegments',
      tags,
      summary: 'Customers per RFM segment, lifecycle stage and value tier: size, revenue share, mean scores',
      description: `Customers whose erasure is owed (asked, not completed) are left out, as the erased are; the \`recsvc_profiles_segment_users\` gauges count the same. 404 when no trained model holds profiles. ${HELD_503}`,
      response: { 200: segmentsResponse, ...errors(401, 403, 404, 503) },
    },
    handler: async () => {
      const report = await deps.profiles.report();
      if (!report) throw new AppError('NOT_FOUND', NO_PROFILES);
      return report;
    },
  });

  r.get('/v1/segments/lifecycle-history', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'getLifecycleHistory',
      tags,
      summary: 'Customers per lifecycle stage at the end of each month, from the stored purchases (no training needed)',
      description: `Customers whose erasure is owed are not counted. ${HELD_503}`,
      querystring: lifecycleHistoryQuery,
      response: { 200: lifecycleHistoryResponse, ...errors(400, 401, 403, 503) },
    },
    handler: async (req) => ({ points: await deps.lifecycleHistory(req.query.months) }),
  });

  r.get('/v1/segments/:name/users', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'listSegmentUsers',
      tags,
      summary: 'Customers of one segment (or lifecycle stage / value tier), by descending spend, paged',
      description: HELD_503,
      params: segmentParams,
      querystring: segmentUsersQuery,
      response: { 200: segmentUsersResponse, ...errors(400, 401, 403, 404, 409, 503) },
    },
    handler: async (req) => {
      const { dimension, limit, offset, cursor } = req.query;
      if (!SEGMENT_NAMES[dimension].includes(req.params.name)) {
        throw new AppError('NOT_FOUND', `no ${dimension} "${req.params.name}"; known: ${SEGMENT_NAMES[dimension].join(', ')}`);
      }
      const page = await deps.profiles.members(dimension, req.params.name, { limit, offset, cursor });
      if (!page) throw new AppError('NOT_FOUND', NO_PROFILES);
      return { modelVersion: page.modelVersion, dimension, name: req.params.name, total: page.total, users: page.users, nextCursor: page.nextCursor };
    },
  });
}
