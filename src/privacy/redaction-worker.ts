/**
 * Worker-thread entry of the erasure's artifact rewrites (redaction.ts, run by redaction-runner.ts): each
 * job's bytes come transferred, and the rewritten artifact goes back transferred, so neither is copied
 * across and nothing of the rewrite runs on the thread that answers requests.
 */
import { parentPort } from 'node:worker_threads';
import { redact, type RedactionJob, type RedactionResult } from './redaction.js';

export type RedactionReply = { id: number; result: RedactionResult } | { id: number; error: { name: string; message: string } };

parentPort!.on('message', ({ id, job }: { id: number; job: RedactionJob }) => {
  try {
    const result = redact(job);
    parentPort!.postMessage({ id, result } satisfies RedactionReply, result.bytes ? [result.bytes.buffer as ArrayBuffer] : []);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort!.postMessage({ id, error: { name: e.name, message: e.message } } satisfies RedactionReply);
  }
});
