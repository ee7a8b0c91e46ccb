import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the tests' first starts import (SAMPLE_FILE): a tenth of the bundled sample's customers (35, 3,092 rows;
 * tests/fixtures/SOURCE.txt), so a first start imports and trains in seconds. The Quick start's own test
 * (tests/e2e/server-start.test.ts) and the interrupted import's keep the bundled sample.
 */
export const FIRST_START_SAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/online-retail-first-start.csv.gz');
