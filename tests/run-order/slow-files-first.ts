import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { SLOW_FILES } from './slow-files.js';

/**
 * Runs the files of SLOW_FILES first, in its order (longest first), then the rest as vitest orders them. A clean clone
 * (CI) has no results cache, so vitest starts the files largest in bytes first, and a long file that happens to be small
 * starts near the end and leaves the other worker idle while it finishes. With the cache (a developer's checkout) the
 * rest are still ordered by vitest's own record of their times.
 */
export class SlowFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return slowFilesFirst(await super.sort(files), this.ctx.config.root);
  }
}

/** `files` with those of SLOW_FILES moved to the front in its order; the rest keep theirs. */
export function slowFilesFirst<T extends { moduleId: string }>(files: readonly T[], root: string, slow: readonly string[] = SLOW_FILES): T[] {
  const rank = new Map(slow.map((file, i) => [file, i]));
  const at = (spec: T) => rank.get(path.relative(root, spec.moduleId).split(path.sep).join('/')) ?? slow.length;
  // Array.prototype.sort is stable: files of equal rank (all those not listed) keep vitest's order.
  return [...files].sort((a, b) => at(a) - at(b));
}
