import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '../../errors.js';
import type { JobService } from '../../jobs/job-service.js';
import { JOB_TYPES } from '../../jobs/job-types.js';
import { errors, idParam } from '../schemas/common.js';
import { jobAccepted, jobResponse, jobSubmissionHeaders, trainingJobBody } from '../schemas/jobs.js';
import { jobAcceptedReply, jobListRoute, jobView } from './job-list.js';

export function trainingJobRoutes(app: FastifyInstance, deps: { jobService: JobService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['training'];

  r.post('/v1/training-jobs', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'startTraining',
      tags,
      summary: 'Train a model version from the stored purchases (one training at a time)',
      body: trainingJobBody,
      headers: jobSubmissionHeaders,
      response: { 202: jobAccepted, ...errors(400, 401, 403, 409, 422) },
    },
    handler: async (req, reply) => {
      const job = await deps.jobService.submitTraining(req.body ?? {}, { idempotencyKey: req.headers['idempotency-key'] });
      return jobAcceptedReply(req, reply, '/v1/training-jobs', job);
    },
  });

  jobListRoute(app, deps.jobService, { path: '/v1/training-jobs', type: JOB_TYPES.train, operationId: 'listTrainingJobs', tag: 'training', what: 'Training jobs' });

  r.get('/v1/training-jobs/:id', {
    config: { scope: 'admin' },
    schema: { operationId: 'getTrainingJob', tags, summary: 'Status, progress and result or error of a training', params: idParam, response: { 200: jobResponse, ...errors(400, 401, 403, 404) } },
    handler: async (req) => {
      const job = await deps.jobService.get(JOB_TYPES.train, req.params.id);
      if (!job) throw notFound('training job', req.params.id);
      return jobView(job);
    },
  });
}
