import { realpathSync } from 'node:fs';
import path from 'node:path';

/** The real path of `p` (links resolved), or `p` resolved when nothing is there. */
export function realPathOf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * Whether the real path `real` is one of the import roots or lies under one, by the roots' real paths too: a link
 * inside a root that leads out of it does not count, and `/data/imports-evil` is not under `/data/imports`.
 */
export function underImportRoots(real: string, roots: readonly string[]): boolean {
  return roots.map(realPathOf).some((r) => real === r || real.startsWith(r + path.sep));
}
