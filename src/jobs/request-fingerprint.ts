import { createHash } from 'node:crypto';
import type { EnqueueOptions, JobRecord, JobRepository } from './job-repository.js';

/** JSON with every object's keys sorted, so that the same request sent twice in another key order is the same text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What tells one job submission from another under the same Idempotency-Key: a hash of the job type and
 * the request as the route's schema reads it (its defaults filled in, but before paths are resolved or
 * recipes read), so a retry is recognised even when checking it again would now answer otherwise (the
 * file was moved, the active model changed). The same values written otherwise (a date with `+00:00`
 * instead of `Z`), or a default changed by a deploy between the two attempts, make another request.
 */
export function requestFingerprint(type: string, request: unknown): string {
  return createHash('sha256').update(stableJson([type, request])).digest('hex');
}

/**
 * A submission under an Idempotency-Key: the job queued for it before, found before the request is
 * checked again (the file may have moved since, the active model changed), or `submit` with the key.
 */
export async function submitOnce(
  jobs: Pick<JobRepository, 'submitted'>,
  type: string,
  request: unknown,
  key: string | undefined,
  submit: (idempotency?: EnqueueOptions['idempotency']) => Promise<JobRecord>,
): Promise<JobRecord> {
  if (key === undefined) return submit();
  const idempotency = { key, fingerprint: requestFingerprint(type, request) };
  return (await jobs.submitted(idempotency)) ?? submit(idempotency);
}
