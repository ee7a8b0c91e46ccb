import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, notFound } from '../../errors.js';
import { exportFileName, exportRequest } from '../../exports/export-request.js';
import type { JobService } from '../../jobs/job-service.js';
import { JOB_TYPES } from '../../jobs/job-types.js';
import { errors, idParam } from '../schemas/common.js';
import { jobAccepted, jobResponse, jobSubmissionHeaders } from '../schemas/jobs.js';
import { jobAcceptedReply, jobListRoute, jobView } from './job-list.js';

const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson; charset=utf-8' } as const;

export function exportRoutes(app: FastifyInstance, deps: { jobService: JobService; exportDir: string }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['exports'];

  r.post('/v1/exports', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'startExport',
      tags,
      summary: 'Export recommendations for every customer of a segment, or an audience, to a CSV or JSON Lines file, as a job',
      description: 'Rows are the API\'s own answers from the active model. Follow the job at GET /v1/exports/:id (progress 0..1), then download GET /v1/exports/:id/file.',
      body: exportRequest,
      headers: jobSubmissionHeaders,
      response: { 202: jobAccepted, ...errors(400, 401, 403, 404, 409, 422) },
    },
    handler: async (req, reply) => {
      const job = await deps.jobService.submitExport(req.body, { idempotencyKey: req.headers['idempotency-key'] });
      return jobAcceptedReply(req, reply, '/v1/exports', job);
    },
  });

  jobListRoute(app, deps.jobService, { path: '/v1/exports', type: JOB_TYPES.export, operationId: 'listExports', tag: 'exports', what: 'Campaign export jobs' });

  r.get('/v1/exports/:id', {
    config: { scope: 'admin' },
    schema: { operationId: 'getExport', tags, summary: 'Status, progress and result (rows, customers, bytes) of an export', params: idParam, response: { 200: jobResponse, ...errors(400, 401, 403, 404) } },
    handler: async (req) => {
      const job = await deps.jobService.get(JOB_TYPES.export, req.params.id);
      if (!job) throw notFound('export job', req.params.id);
      return jobView(job);
    },
  });

  r.get('/v1/exports/:id/file', {
    config: { scope: 'admin' },
    schema: {
      operationId: 'downloadExport',
      tags,
      summary: 'The file of a finished export (CSV or JSON Lines), streamed',
      params: idParam,
      response: { 200: z.any().describe('The export file (text/csv or application/x-ndjson)'), ...errors(400, 401, 403, 404, 409) },
    },
    handler: async (req, reply) => {
      const job = await deps.jobService.get(JOB_TYPES.export, req.params.id);
      if (!job) throw notFound('export job', req.params.id);
      if (job.status !== 'succeeded') throw new AppError('CONFLICT', `export ${job.id} is ${job.status}: its file is there once it has succeeded`);
      const { format } = exportRequest.parse(job.params);
      // The path comes from the job id and format only, never from stored text.
      const name = exportFileName(job.id, format);
      const file = join(deps.exportDir, name);
      if (!(await access(file).then(() => true, () => false))) throw notFound('export file', name);
      return reply.type(CONTENT_TYPES[format]).header('content-disposition', `attachment; filename="${name}"`).send(createReadStream(file));
    },
  });
}
