/**
 * While a server owns the embedded data, `npm run import` hands its job to it (cli/server-handoff.ts
 * withPathForServer): a path under the server's IMPORT_ROOTS is passed as it is, one elsewhere is copied
 * under the first root with the command user's rights, links copied as what they point to. Since 34e6dae
 * the job checks each file it opens against the roots: a directory under the roots whose items.csv is a link
 * to the user's own file elsewhere (imported fine before, and read by the CLI with its own rights when no
 * server runs) is passed uncopied, and the job now fails "leads outside the directories imports may read".
 * The same directory outside the roots is copied and imported: the command should copy here too.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withPathForServer, type RunningServer } from '../../../src/cli/server-handoff.js';
import { runImport } from '../../../src/data/importers/run-import.js';
import { createPgliteTestDb } from '../../helpers/services.js';

const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-handoff-links-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const imports = path.join(dir, 'data', 'imports');
const server: RunningServer = { url: 'http://127.0.0.1:1', pid: 1, key: 'k', uid: process.getuid!(), importRoots: [imports] };

describe('a CLI import handed to the server, of a directory under its roots holding a link to the user\'s file elsewhere', () => {
  it('When the server runs the job (held to its roots), Then the rows are imported, as the CLI imported them before', async () => {
    const mine = path.join(dir, 'home', 'exports');
    mkdirSync(mine, { recursive: true });
    writeFileSync(path.join(mine, 'items.csv'), 'id,title\nlinked-item,a row of the user\'s own file\n');
    const shop = path.join(imports, 'shop');
    mkdirSync(shop, { recursive: true });
    symlinkSync(path.join(mine, 'items.csv'), path.join(shop, 'items.csv'));

    const t = await createPgliteTestDb();
    try {
      // What the server's import job does with the path it is given (job-handlers.ts: runImport with params.roots).
      const report = await withPathForServer(server, shop, (serverPath) => runImport({ db: t.db }, { format: 'generic', path: serverPath, roots: [imports] }), () => {});
      expect(report.items).toBe(1);
    } finally {
      await t.dispose();
    }
  }, 60_000);
});
