/** Polls a job until it has succeeded or failed; throws naming its status when it has not within `timeoutMs`. */
import type { JobRecord, JobRepository } from '../../src/jobs/job-repository.js';

export async function settled(jobs: JobRepository, id: string, timeoutMs = 10_000): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await jobs.get(id))!;
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
