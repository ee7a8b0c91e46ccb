import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { JobRecord } from '../../jobs/job-repository.js';
import type { JobService } from '../../jobs/job-service.js';
import type { JobType } from '../../jobs/job-types.js';
import { cursorPage, cursorPaging, errors } from '../schemas/common.js';
import { jobList } from '../schemas/jobs.js';

/**
 * The job as the API shows it: the holder's worker id and an import's roots stay internal; its options (kept
 * beside the params for the release before, migration 027) are shown among its params, as they were asked.
 */
export const jobView = ({ workerId: _, importRoots: __, options, ...job }: JobRecord) => (options ? { ...job, params: { ...job.params, ...options } } : job);

/** `GET <path>?limit&offset&after|cursor`: the jobs of one type, newest first, a page at a time (`next` and `nextCursor` alike). */
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
      const page = cursorPage(req.query);
      const { jobs, next } = await jobService.list(route.type, page);
      return { jobs: jobs.map(jobView), next, nextCursor: next, ...req.query, offset: page.offset };
    },
  });
}

/**
 * The 202 of a queued job: Location names where to poll, and one log line ties this request (its reqId)
 * to the job's id, which is what the job's own lines (worker or inline runner) carry.
 */
export function jobAcceptedReply(req: FastifyRequest, reply: FastifyReply, path: string, job: Pick<JobRecord, 'id' | 'type' | 'status'>) {
  req.log.info({ jobId: job.id, jobType: job.type }, 'job queued');
  return reply.code(202).header('location', `${path}/${job.id}`).send({ jobId: job.id, status: job.status });
}
