import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { JobRecord } from '../../jobs/job-repository.js';
import type { JobService } from '../../jobs/job-service.js';
import type { JobType } from '../../jobs/job-types.js';
import { cursorPaging, errors } from '../schemas/common.js';
import { jobList } from '../schemas/jobs.js';

/** The job as the API shows it (the holder's worker id stays internal). */
export const jobView = ({ workerId: _, ...job }: JobRecord) => job;

/** `GET <path>?limit&offset&after`: the jobs of one type, newest first, a page at a time. */
export function jobListRoute(app: FastifyInstance, jobService: JobService, route: { path: string; type: JobType; operationId: string; tag: string; what: string }) {
  app.withTypeProvider<ZodTypeProvider>().get(route.path, {
    config: { scope: 'admin' },
    schema: {
      operationId: route.operationId,
      tags: [route.tag],
      summary: `${route.what}, newest first, with status, progress and result or error`,
      querystring: cursorPaging,
      response: { 200: jobList, ...errors(400, 401, 403) },
    },
    handler: async (req) => {
      const { jobs, next } = await jobService.list(route.type, req.query);
      return { jobs: jobs.map(jobView), next, ...req.query };
    },
  });
}
