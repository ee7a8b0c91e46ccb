import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withPathForServer, type RunningServer } from '../../../src/cli/server-handoff.js';

/**
 * A directory handed to a running server is copied under its import roots, links resolved. A link in it to a
 * directory holding it (`up -> ..`, a loop) or elsewhere made that copy take a whole other tree: the parent
 * with everything in it, over and over through the loop, or the import root itself into its own copy.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-path-for-server-links-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const imports = path.join(dir, 'data', 'imports');
mkdirSync(imports, { recursive: true });
const server: RunningServer = { url: 'http://127.0.0.1:1', pid: 1, key: 'k', uid: process.getuid!(), importRoots: [imports] };
const quiet = () => {};
const copiesLeft = () => readdirSync(imports).filter((n) => n.startsWith('.cli-import-'));

function shop(name: string): string {
  const at = path.join(dir, name);
  mkdirSync(path.join(at, 'item_factors'), { recursive: true });
  writeFileSync(path.join(at, 'items.csv'), 'id,title\na,A\n');
  return at;
}

describe('a directory handed to the server that holds a link to a directory outside it', () => {
  it('When it links to its parent (which holds the import root), Then nothing is copied and the error names the link', async () => {
    const s = shop('up-shop');
    symlinkSync('..', path.join(s, 'up'));
    let worked = false;
    const handed = withPathForServer(server, s, async () => (worked = true), quiet);
    await expect(handed).rejects.toThrow(`${path.join(s, 'up')} is a link to a directory outside ${s}`);
    expect(worked).toBe(false);
    expect(copiesLeft()).toEqual([]);
  });

  it('When a link inside loops back to a directory above it, Then nothing is copied and the error names the link', async () => {
    const s = shop('loop-shop');
    symlinkSync(s, path.join(s, 'item_factors', 'again'));
    await expect(withPathForServer(server, s, async () => 'copied', quiet)).rejects.toThrow(`${path.join(s, 'item_factors', 'again')} is a link to a directory`);
    expect(copiesLeft()).toEqual([]);
  });

  it('When two links inside lead to each other\'s directories (a loop through both), Then nothing is copied and the error names the link', async () => {
    const s = shop('two-link-loop-shop');
    mkdirSync(path.join(s, 'parts'));
    writeFileSync(path.join(s, 'parts', 'part-00000.csv'), 'id,features\n');
    // item_factors/parts -> parts, parts/factors -> item_factors: copied with links followed, item_factors/parts/factors/parts/...
    symlinkSync(path.join(s, 'parts'), path.join(s, 'item_factors', 'parts'));
    symlinkSync(path.join(s, 'item_factors'), path.join(s, 'parts', 'factors'));
    await expect(withPathForServer(server, s, async () => 'copied', quiet)).rejects.toThrow(/is a link to a directory outside/);
    expect(copiesLeft()).toEqual([]);
  });

  it('When a directory under the roots links to a directory outside them, Then it is refused rather than copied with that tree', async () => {
    const elsewhere = shop('elsewhere');
    const s = path.join(imports, 'linked-dir');
    mkdirSync(s);
    symlinkSync(elsewhere, path.join(s, 'item_factors'));
    await expect(withPathForServer(server, s, async () => 'copied', quiet)).rejects.toThrow(`${path.join(s, 'item_factors')} is a link to a directory outside ${s}`);
    expect(copiesLeft()).toEqual([]);
  });

  it('When its links lead to files elsewhere and to directories inside it, Then it is copied as before', async () => {
    const s = shop('fine-shop');
    writeFileSync(path.join(dir, 'mine.csv'), 'user_id,item_id\n');
    symlinkSync(path.join(dir, 'mine.csv'), path.join(s, 'events.csv'));
    mkdirSync(path.join(s, 'parts'));
    writeFileSync(path.join(s, 'parts', 'part-00000.csv'), 'id,features\n');
    rmSync(path.join(s, 'item_factors'), { recursive: true });
    symlinkSync(path.join(s, 'parts'), path.join(s, 'item_factors'));
    const seen = await withPathForServer(server, s, async (p) => readdirSync(p).sort(), quiet);
    expect(seen).toEqual(['events.csv', 'item_factors', 'items.csv', 'parts']);
    expect(existsSync(path.join(imports, 'fine-shop'))).toBe(false);
  });
});
