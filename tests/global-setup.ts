import { prepareSnapshots } from './helpers/services.js';

/**
 * Before any test file runs (no hook timeout, one process): the kept PGlite snapshots written when missing, so that two
 * workers do not each run an initdb inside a test's hook on a fresh checkout (tests/helpers/services.ts).
 */
export default async function setup(): Promise<void> {
  await prepareSnapshots();
}
