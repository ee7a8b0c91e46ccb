import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CatalogRepository } from '../../data/catalog-repository.js';
import type { CustomerRepository } from '../../data/customer-repository.js';
import type { EventRepository } from '../../data/event-repository.js';
import { AppError, notFound } from '../../errors.js';
import { owedErasureAnswer } from '../../privacy/user-erasure.js';
import { customersHeldError } from '../../privacy/customers-held.js';
import { refuseNewPaddedIds } from './padded-ids.js';
import { errors, idParam, NEW_ID_SPACES } from '../schemas/common.js';
import { userBody, userResponse } from '../schemas/catalog.js';
import { purchasePageResponse, purchasePagingQuery } from '../schemas/events.js';
import { customerSearchQuery, customerSearchResponse } from '../schemas/overview.js';

export interface UserRouteDeps {
  catalog: CatalogRepository;
  events: EventRepository;
  customers: Pick<CustomerRepository, 'search'>;
  /** Erases the user everywhere (events, attributes, per-user model state); false when unknown. */
  eraseUser: (id: string) => Promise<boolean>;
  /**
   * Whether the customer's erasure is owed (asked for and recorded, not completed: privacy/owed-erasures.ts): their
   * record and purchases are answered as an erased customer's (404), as their profile and recommendations are.
   * Absent: none is.
   */
  owed?: (userId: string) => boolean;
  /** The ids owed (the same list): the admin's customer search leaves them out. Absent: none is. */
  owedIds?: () => readonly string[];
  /**
   * True while every customer is held (serving.holdingCustomers: a process started with Postgres down has not read the
   * erasures owed yet): `owed` cannot tell an owed customer then, so a customer's record, purchases and the search are
   * refused (503, ask again), as their profile is. Reviewer r2, fifty-sixth session.
   */
  customersHeld?: () => boolean;
}

const HELD_503 =
  '503 DEPENDENCY_UNAVAILABLE (with Retry-After) while this process holds every customer: it started while Postgres did not answer and has not read the erasures owed yet, so it cannot tell a customer whose erasure is owed; ask again (readiness, `erasureCatchUp`, is false meanwhile).';

export function userRoutes(app: FastifyInstance, deps: UserRouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['users'];

  r.put('/v1/users/:id', {
    config: { scope: 'write', ingest: 'users' },
    schema: { operationId: 'upsertUser', tags, summary: "Create or replace a user's attributes", description: NEW_ID_SPACES, params: idParam, body: userBody, response: { 200: userResponse, ...errors(400, 401, 403, 413) } },
    handler: async (req) => {
      await refuseNewPaddedIds(deps.catalog, [{ path: 'params.id', kind: 'user', id: req.params.id }]);
      return deps.catalog.putUser({ id: req.params.id, attributes: req.body.attributes });
    },
  });

  r.get('/v1/users', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'searchUsers',
      tags,
      summary: 'Find customers by id prefix, with purchase totals (listing customers is an admin task)',
      description: HELD_503,
      querystring: customerSearchQuery,
      response: { 200: customerSearchResponse, ...errors(400, 401, 403, 503) },
    },
    handler: async (req) => {
      if (deps.customersHeld?.()) throw customersHeldError();
      return { ...(await deps.customers.search({ ...req.query, without: deps.owedIds?.() })), limit: req.query.limit, offset: req.query.offset ?? 0 };
    },
  });

  r.get('/v1/users/:id', {
    config: { scope: 'read' },
    schema: { operationId: 'getUser', tags, summary: 'Read a user', description: HELD_503, params: idParam, response: { 200: userResponse, ...errors(400, 401, 403, 404, 503) } },
    handler: async (req) => {
      if (deps.customersHeld?.()) throw customersHeldError();
      // An owed erasure's customer, as an erased one: their record is still stored until the erasure completes.
      const user = deps.owed?.(req.params.id) ? null : await deps.catalog.getUser(req.params.id, { unlessOwed: true });
      if (!user) throw notFound('user', req.params.id);
      return user;
    },
  });

  r.get('/v1/users/:id/events', {
    config: { scope: 'read' },
    schema: {
      operationId: 'listUserEvents',
      tags,
      summary: "A user's purchases, newest first",
      description: HELD_503,
      params: idParam,
      querystring: purchasePagingQuery,
      response: { 200: purchasePageResponse, ...errors(400, 401, 403, 404, 503) },
    },
    handler: async (req) => {
      if (deps.customersHeld?.()) throw customersHeldError();
      if (deps.owed?.(req.params.id) || !(await deps.catalog.getUser(req.params.id, { unlessOwed: true }))) throw notFound('user', req.params.id);
      return deps.events.pageUserPurchases(req.params.id, req.query);
    },
  });

  r.delete('/v1/users/:id', {
    config: { scope: 'admin' },
    schema: { operationId: 'eraseUser', tags, summary: 'Erase a user: events, attributes and per-user model state', description: 'Idempotent: an id erased before (and not seen since) answers 204 again, so a retry after a 503 is safe; 404 means the id was never known. A 503 (or 500) whose details hold `{ path: "erasure", recorded: true }` was recorded before it failed: the service completes it once the model store takes writes (ERASURE_REDRIVE_MS), whether or not it is sent again; until then the customer is answered as erased.', params: idParam, response: { 204: z.null(), ...errors(400, 401, 403, 404) } },
    handler: async (req, reply) => {
      // A 503 after the erasure was recorded as asked says so (details): the service completes it.
      const existed = await deps.eraseUser(req.params.id).catch((err: unknown) => {
        const answer = owedErasureAnswer(err);
        // A 500 made an AppError to carry its detail is logged here with its error, as the error handler logs an unhandled one.
        if (answer !== err && answer instanceof AppError && answer.status === 500) req.log.error({ err }, 'erasure failed; recorded, the service tries it again');
        throw answer;
      });
      if (!existed) throw notFound('user', req.params.id);
      return reply.code(204).send(null);
    },
  });
}

