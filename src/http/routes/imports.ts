import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '../../errors.js';
import type { JobService } from '../../jobs/job-service.js';
import { JOB_TYPES } from '../../jobs/job-types.js';
import { errors, idParam } from '../schemas/common.js';
import { importJobBody, jobAccepted, jobResponse, jobSubmissionHeaders } from '../schemas/jobs.js';
import { jobAcceptedReply, jobListRoute, jobView } from './job-list.js';

export function importRoutes(app: FastifyInstance, deps: { jobService: JobService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['imports'];

  r.post('/v1/imports', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'startImport',
      tags,
      summary: 'Import a CSV file or directory that is already on the server, as a job',
      description:
        'The path names a file or directory on the machine running the service; nothing is uploaded. It must be readable by the service process. ' +
        'The header of each file is checked now, as the job checks it: a file whose header is not the format\'s is a 422 naming the file, and nothing is queued.',
      body: importJobBody,
      headers: jobSubmissionHeaders,
      response: { 202: jobAccepted, ...errors(400, 401, 403, 409, 422) },
    },
    handler: async (req, reply) => {
      const job = await deps.jobService.submitImport(req.body, { idempotencyKey: req.headers['idempotency-key'] });
      return jobAcceptedReply(req, reply, '/v1/imports', job);
    },
  });

  jobListRoute(app, deps.jobService, { path: '/v1/imports', type: JOB_TYPES.import, operationId: 'listImports', tag: 'imports', what: 'Import jobs' });

  r.get('/v1/imports/:id', {
    config: { scope: 'admin' },
    schema: { operationId: 'getImport', tags, summary: 'Status, progress and report (rows read, accepted, rejected by reason) of an import', params: idParam, response: { 200: jobResponse, ...errors(400, 401, 403, 404) } },
    handler: async (req) => {
      const job = await deps.jobService.get(JOB_TYPES.import, req.params.id);
      if (!job) throw notFound('import job', req.params.id);
      return jobView(job);
    },
  });
}
