import type { Recipe } from '../training/recipe.js';
import { startModuleWorker } from '../training/worker-thread.js';
import type { EvaluationReport } from './evaluation-report.js';
import { purchaseColumnBuffers, type PurchaseColumns } from './purchase-columns.js';
import type { EvaluationProgress, EvaluationRequest } from './run-evaluation.js';
import type { SplitInput } from './splits.js';

/** A split's input with the purchases as columns (PurchaseColumns): their buffers are transferred to the thread, not copied. */
export type ColumnarSplitInput = Extract<SplitInput, { purchases: PurchaseColumns }>;

/**
 * runEvaluation in a worker thread, so the seconds of fitting and scoring never block the event loop of
 * the process (an API serving recommendations while it evaluates inline). Purchases given as rows cost
 * the calling thread one structured clone of them all; given as columns (`purchases`), their buffers are
 * transferred and only the distinct ids are cloned, and the thread splits them as columns (no object per
 * purchase there either). The columns are unusable here afterwards. A progress
 * listener that throws (a cancelled job) terminates the thread, and the promise rejects with its error.
 */
export function runEvaluationInWorker(
  input: SplitInput,
  recipes: Recipe[],
  request: EvaluationRequest,
  onProgress?: (p: EvaluationProgress) => void,
): Promise<EvaluationReport> {
  return new Promise((resolve, reject) => {
    const transfer = input.purchases ? purchaseColumnBuffers(input.purchases) : [];
    const worker = startModuleWorker('evaluation-worker', { input, recipes, request }, transfer);
    let settled = false;
    const finish = (err: unknown, report?: EvaluationReport) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      if (err) reject(err);
      else resolve(report!);
    };
    worker.on('message', (msg: ({ type: 'progress' } & EvaluationProgress) | { type: 'done'; report: EvaluationReport } | { type: 'error'; message: string }) => {
      if (msg.type === 'progress') {
        try {
          onProgress?.({ step: msg.step, progress: msg.progress });
        } catch (err) {
          finish(err);
        }
      } else if (msg.type === 'done') finish(null, msg.report);
      else finish(new Error(msg.message));
    });
    worker.on('error', (err) => finish(err));
    worker.on('exit', (code) => finish(new Error(`the evaluation thread exited (code ${code}) before it finished`)));
  });
}
