import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateKey } from '../../helpers/first-start-state.js';

/**
 * The kept first-start state (tests/helpers/first-start-state.ts) is found by its key: a change to anything the first
 * start's outcome depends on must change the key, or the tests of a second start run on a state of older sources.
 */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TOOLS = 'the same tools';

describe('the key of a kept first-start state', () => {
  let copy: string;

  beforeAll(() => {
    copy = mkdtempSync(path.join(tmpdir(), 'recsvc-state-key-'));
    for (const d of ['src', 'models', 'tests/helpers', 'tests/fixtures']) cpSync(path.join(REPO, d), path.join(copy, d), { recursive: true });
    for (const f of ['package-lock.json', 'tsconfig.json']) cpSync(path.join(REPO, f), path.join(copy, f));
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('Given a copy of the checkout, Then the key is the same; When a recipe, a migration or the compile settings change, Then it is another', async () => {
    const env = {};
    const key = await stateKey(copy, env, TOOLS);
    expect(await stateKey(REPO, env, TOOLS)).toBe(key);

    const changed = async (file: string, edit: (text: string) => string): Promise<string> => {
      const p = path.join(copy, file);
      const before = readFileSync(p, 'utf8');
      writeFileSync(p, edit(before));
      try {
        return await stateKey(copy, env, TOOLS);
      } finally {
        writeFileSync(p, before);
      }
    };
    expect(await changed('models/default.json', (t) => t.replace(/\}\s*$/, ', "x": 1}'))).not.toBe(key);
    expect(await changed('tsconfig.json', (t) => `${t} `)).not.toBe(key);
    expect(await changed('tests/helpers/built-entry.ts', (t) => `${t}\n`)).not.toBe(key);
    mkdirSync(path.join(copy, 'src/data/migrations'), { recursive: true });
    writeFileSync(path.join(copy, 'src/data/migrations/999_new.sql'), 'SELECT 1;\n');
    expect(await stateKey(copy, env, TOOLS)).not.toBe(key);
    rmSync(path.join(copy, 'src/data/migrations/999_new.sql'));
    expect(await stateKey(copy, env, TOOLS)).toBe(key);
  });

  it('When a variable the first start reads is set in the tests environment, Then the key is another; When one it does not read (or sets itself), Then the same', async () => {
    const key = await stateKey(REPO, {}, TOOLS);
    expect(await stateKey(REPO, { DEFAULT_RECIPE: 'robust' }, TOOLS)).not.toBe(key);
    expect(await stateKey(REPO, { TZ: 'Asia/Tokyo' }, TOOLS)).not.toBe(key);
    // Set by the first start itself, or not read: the workers of one run (each its own VITEST_WORKER_ID) share the state.
    expect(await stateKey(REPO, { TRAIN_THREADS: '2', DATA_DIR: '/elsewhere', VITEST_WORKER_ID: '3', PWD: '/x', DEFAULT_RECIPE: ' ' }, TOOLS)).toBe(key);
  });
});
