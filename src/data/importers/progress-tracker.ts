import type { ProgressCallback } from './import-report.js';

/**
 * Turns bytes read into calls of a progress callback, at most once per percent: a job that stores each
 * call in the database then does ~100 writes whatever the file size.
 */
export function createByteProgress(totalBytes: number, onProgress?: ProgressCallback) {
  let reported = -1;
  return {
    update(bytesRead: number): void {
      if (!onProgress || totalBytes <= 0) return;
      const fraction = Math.min(1, bytesRead / totalBytes);
      if (fraction - reported >= 0.01 || (fraction === 1 && reported < 1)) {
        reported = fraction;
        onProgress(fraction);
      }
    },
    done(): void {
      if (onProgress && reported < 1) onProgress(1);
      reported = 1;
    },
  };
}
