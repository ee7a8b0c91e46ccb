import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withPathForServer, type RunningServer } from '../../../src/cli/server-handoff.js';

const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-path-for-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const imports = path.join(dir, 'data', 'imports');
const server = (importRoots?: string[]): RunningServer => ({ url: 'http://127.0.0.1:1', pid: 1, key: 'k', ...(importRoots ? { importRoots } : {}) });
const said: string[] = [];
const say = (line: string) => said.push(line);

describe('a local path handed to the server that owns the data', () => {
  it('When the path is under an import root, or the server named none, Then the server is given it as it is and nothing is copied', async () => {
    mkdirSync(path.join(imports, 'shop'), { recursive: true });
    expect(await withPathForServer(server([imports]), path.join(imports, 'shop'), async (p) => p, say)).toBe(path.join(imports, 'shop'));
    expect(await withPathForServer(server(), path.join(dir, 'anywhere.csv'), async (p) => p, say)).toBe(path.join(dir, 'anywhere.csv'));
    expect(said).toEqual([]);
  });

  it('When the path is elsewhere, Then the server reads a copy under the first root, readable by others, gone when the work ends, even when it fails', async () => {
    const file = path.join(dir, 'export.csv.gz');
    writeFileSync(file, 'bytes', { mode: 0o600 });
    let seen = '';
    const failed = withPathForServer(server([imports, '/elsewhere']), file, async (p) => {
      seen = p;
      expect(path.dirname(path.dirname(p))).toBe(imports);
      expect(path.basename(p)).toBe('export.csv.gz'); // the name (and so the format check by extension) is kept
      expect(readFileSync(p, 'utf8')).toBe('bytes');
      expect(statSync(p).mode & 0o777).toBe(0o644);
      throw new Error('the server refused');
    }, say);
    await expect(failed).rejects.toThrow('the server refused');
    expect(existsSync(path.dirname(seen))).toBe(false);
    expect(said).toEqual([`The server reads imports only under ${imports}: copying ${file} there for it.`]);
  });

  it('When an earlier copy was left for more than a day (its command was stopped), Then the next one removes it', async () => {
    const old = path.join(imports, '.cli-import-99-deadbeef');
    const recent = path.join(imports, '.cli-import-98-cafecafe');
    mkdirSync(old);
    mkdirSync(recent);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    writeFileSync(path.join(dir, 'more.csv'), 'x');
    await withPathForServer(server([imports]), path.join(dir, 'more.csv'), async () => undefined, say);
    expect(readdirSync(imports).filter((n) => n.startsWith('.cli-import-'))).toEqual(['.cli-import-98-cafecafe']);
  });

  it('When the copy cannot be made, Then the error says where the server reads imports', async () => {
    const notADir = path.join(dir, 'a-file-root');
    writeFileSync(notADir, '');
    const work = async () => 'never';
    await expect(withPathForServer(server([notADir]), path.join(dir, 'more.csv'), work, say)).rejects.toThrow(`could not copy ${path.join(dir, 'more.csv')} under ${notADir}, where the server reads imports`);
  });
});
