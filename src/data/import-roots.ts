import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';

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

/** Where an import's reader may open files: `roots` (IMPORT_ROOTS, for an import made through the API), unset = anywhere. */
export interface ReadScope {
  roots?: readonly string[];
}

/**
 * The path to open for `file`: its real path (links resolved, now, as it is opened) when it lies under the scope's
 * roots, `file` itself when the scope has none. A file inside an import's directory that is a link leading out of
 * the roots is refused with an error naming the file as given (never its target or content): the directory's own
 * check at submission would otherwise hold only for the directory's name. A missing file rejects with realpath's ENOENT.
 */
export async function pathWithinScope(file: string, scope: ReadScope = {}): Promise<string> {
  if (!scope.roots) return file;
  const real = await realpath(file);
  if (!underImportRoots(real, scope.roots)) throw new OutsideImportRoots(file);
  return real;
}

/** A file an import would open lies outside IMPORT_ROOTS once its links are resolved (UNPROCESSABLE). */
export class OutsideImportRoots extends AppError {
  constructor(file: string) {
    super('UNPROCESSABLE', `${file} leads outside the directories imports may read (IMPORT_ROOTS): a link to a file elsewhere is not followed`);
  }
}
