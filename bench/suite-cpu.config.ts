/**
 * vitest.config.ts with the CPU recorders of bench/suite-cpu.ts added: a setup file that records each test file's CPU
 * (bench/suite-cpu/record-file.ts) and a global setup that samples the Postgres backends' CPU
 * (bench/suite-cpu/postgres-sampler.ts). Used only by bench/suite-cpu.ts; `npm test` does not load it.
 */
import { fileURLToPath } from 'node:url';
import { mergeConfig } from 'vitest/config';
import base from '../vitest.config.js';

export default mergeConfig(base, {
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    setupFiles: ['bench/suite-cpu/record-file.ts'],
    globalSetup: ['bench/suite-cpu/postgres-sampler.ts'],
  },
});
