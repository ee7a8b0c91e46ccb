import type { Metrics } from '../metrics.js';
import type { JobRepository } from './job-repository.js';
import { JOB_TYPES } from './job-types.js';

/**
 * The job gauges, read from the job table before a scrape: when each type last succeeded and failed, and
 * how many are queued or running. The runner's own counters (recsvc_jobs_duration_seconds,
 * recsvc_jobs_failures_total) live in the process that ran the job, so with JOB_RUNNER=worker they are in
 * `npm run worker`, which serves no /metrics; the table is shared, so every API replica reports these.
 */
export function createJobGauges(deps: { jobs: Pick<JobRepository, 'statusSummary'>; metrics: Pick<Metrics, 'jobsLastEnded' | 'jobsPending'> }) {
  const { jobsLastEnded, jobsPending } = deps.metrics;
  return {
    async refresh(): Promise<void> {
      const summary = await deps.jobs.statusSummary();
      // Every known type has its series (0: never, or none pending), so an alert on them never lacks one.
      for (const type of Object.values(JOB_TYPES)) {
        for (const status of ['succeeded', 'failed'] as const) jobsLastEnded.set({ type, status }, 0);
        for (const status of ['queued', 'running'] as const) jobsPending.set({ type, status }, 0);
      }
      for (const { type, status, jobs, lastEndedMs } of summary) {
        if (status === 'succeeded' || status === 'failed') jobsLastEnded.set({ type, status }, (lastEndedMs ?? 0) / 1000);
        else jobsPending.set({ type, status }, jobs);
      }
    },
  };
}
