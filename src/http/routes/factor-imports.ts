import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '../../errors.js';
import type { JobService } from '../../jobs/job-service.js';
import { JOB_TYPES } from '../../jobs/job-types.js';
import { errors, idParam } from '../schemas/common.js';
import { factorImportJobBody, jobAccepted, jobResponse, jobSubmissionHeaders } from '../schemas/jobs.js';
import { jobAcceptedReply, jobListRoute, jobView } from './job-list.js';

/** Item and user factors trained elsewhere (Spark MLlib, implicit) become the ALS of a new model version. */
export function factorImportRoutes(app: FastifyInstance, deps: { jobService: JobService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['training'];

  r.post('/v1/factor-imports', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'startFactorImport',
      tags,
      summary: 'Train a model version whose ALS factors come from a directory on the server, as a job',
      description:
        'The other sources of the recipe are trained as usual; the ALS source takes the imported factors instead of being fitted. Ids unknown to the catalog or customers are skipped and counted in the result. The layout and file headers are checked before the job is queued (422); rows when it runs (a failed job, nothing published). One training at a time (409). See docs/factor-import.md.',
      body: factorImportJobBody,
      headers: jobSubmissionHeaders,
      response: { 202: jobAccepted, ...errors(400, 401, 403, 409, 422) },
    },
    handler: async (req, reply) => {
      const job = await deps.jobService.submitFactorImport(req.body, { idempotencyKey: req.headers['idempotency-key'] });
      return jobAcceptedReply(req, reply, '/v1/factor-imports', job);
    },
  });

  jobListRoute(app, deps.jobService, { path: '/v1/factor-imports', type: JOB_TYPES.factorImport, operationId: 'listFactorImports', tag: 'training', what: 'Factor import jobs' });

  r.get('/v1/factor-imports/:id', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'getFactorImport',
      tags,
      summary: 'Status, progress and result (the new version, ids matched and skipped per side) or error of a factor import',
      params: idParam,
      response: { 200: jobResponse, ...errors(400, 401, 403, 404) },
    },
    handler: async (req) => {
      const job = await deps.jobService.get(JOB_TYPES.factorImport, req.params.id);
      if (!job) throw notFound('factor import job', req.params.id);
      return jobView(job);
    },
  });
}
