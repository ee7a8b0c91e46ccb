import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { jobAcceptedReply } from './job-list.js';
import { notFound } from '../../errors.js';
import type { EvaluationService } from '../../evaluation/evaluation-service.js';
import { cursorPage, cursorPaging, errors, idParam } from '../schemas/common.js';
import { jobAccepted, jobSubmissionHeaders } from '../schemas/jobs.js';
import { evaluationBody, evaluationHistoryQuery, evaluationHistoryResponse, evaluationList, evaluationResponse } from '../schemas/evaluations.js';

export function evaluationRoutes(app: FastifyInstance, deps: { evaluations: EvaluationService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['evaluation'];

  r.post('/v1/evaluations', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'startEvaluation',
      tags,
      summary: 'Evaluate recipes offline on a split of the stored purchases, with lifts over a baseline (popularity unless `baseline` names another) and their 95% intervals',
      body: evaluationBody,
      headers: jobSubmissionHeaders,
      response: { 202: jobAccepted, ...errors(400, 401, 403, 409, 422) },
    },
    handler: async (req, reply) => {
      const job = await deps.evaluations.submit(req.body, { idempotencyKey: req.headers['idempotency-key'] });
      return jobAcceptedReply(req, reply, '/v1/evaluations', job);
    },
  });

  r.get('/v1/evaluations', {
    config: { scope: 'admin' },
    schema: { operationId: 'listEvaluations', tags, summary: 'Stored evaluation reports, newest first', querystring: cursorPaging, response: { 200: evaluationList, ...errors(400, 401, 403) } },
    handler: async (req) => {
      const asked = cursorPage(req.query);
      const page = await deps.evaluations.list(asked);
      return { ...page, nextCursor: page.next, ...req.query, offset: asked.offset };
    },
  });

  // Registered before /:id; the router prefers the static segment anyway (evaluation ids are generated, never "history").
  r.get('/v1/evaluations/history', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'getEvaluationHistory',
      tags,
      summary: 'One metric of one strategy across stored reports, oldest first (a recipe\'s accuracy over time)',
      querystring: evaluationHistoryQuery,
      response: { 200: evaluationHistoryResponse, ...errors(400, 401, 403) },
    },
    handler: async (req) => ({ ...req.query, points: await deps.evaluations.history(req.query) }),
  });

  r.get('/v1/evaluations/:id', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'getEvaluation',
      tags,
      summary: 'Status and progress of an evaluation, and its report once it succeeded',
      params: idParam,
      response: { 200: evaluationResponse, ...errors(400, 401, 403, 404) },
    },
    handler: async (req) => {
      const evaluation = await deps.evaluations.get(req.params.id);
      if (!evaluation) throw notFound('evaluation', req.params.id);
      return evaluation;
    },
  });
}
