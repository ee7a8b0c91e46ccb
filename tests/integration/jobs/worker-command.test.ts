/** `npm run worker` takes no arguments: a mistake is refused before it opens DATA_DIR or claims a job. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliScript } from '../../helpers/cli-process.js';
import { builtEntry } from '../../helpers/built-entry.js';

const root = mkdtempSync(path.join(tmpdir(), 'worker-args-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const { DATABASE_URL: _d, REDIS_URL: _r, ...baseEnv } = process.env;

describe('npm run worker command line', () => {
  it.each([
    ['--help', 0, /^Usage: npm run worker/m],
    ['--bogus', 2, /^worker: unexpected argument "--bogus"/m],
  ])('When it is given %s, Then it exits %i with its usage, and opens no data', async (arg, code, said) => {
    const dataDir = path.join(root, arg.slice(2));
    const res = await runCliScript(builtEntry('src/cli/worker-command.ts'), [arg], { env: { ...baseEnv, DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, timeoutMs: 30_000 });
    expect(res.code).toBe(code);
    expect(`${res.stdout}${res.stderr}`).toMatch(said);
    expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false);
  }, 60_000);
});
