import { builtEntry } from './helpers/built-entry.js';
import { prepareSnapshots } from './helpers/services.js';

/**
 * Before any test file runs (no hook timeout, one process): the compiled tree the process tests start from
 * (tests/helpers/built-entry.ts) and the kept PGlite snapshots (tests/helpers/services.ts), each made when this
 * checkout has none for its sources. Otherwise the first process test of each of the three workers compiled the
 * tree in its own hook, at once on a fresh checkout, and two of the three trees were dropped.
 */
export default async function setup(): Promise<void> {
  builtEntry('src/server.ts');
  await prepareSnapshots();
}
