/**
 * 426df0e: `npm run import` checks a file's header before it opens a database, "told in a moment", and a running
 * server checks it when it is handed the import. But the handoff (cli/server-handoff.ts withPathForServer) first
 * copies a file outside the server's IMPORT_ROOTS whole under the first root, and only then asks the server, whose
 * check refuses it: a multi-GB export with the wrong header is copied (time, and disk under the roots) to be
 * refused. The CLI can read the file (it is about to copy it): the header is its to check before the copy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceServerUrl, lockDataDir } from '../../../src/data/data-dir-lock.js';
import { runCliScript } from '../../helpers/cli-process.js';
import { builtEntry } from '../../helpers/built-entry.js';

describe('npm run import handing a file with the wrong header to a running server that reads only under its roots', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-handoff-header-'));
  const imports = path.join(dir, 'data', 'imports');
  const dataDir = path.join(dir, 'data');
  const requests: { path?: string }[] = [];
  let http: Server;
  let release: () => void;
  beforeAll(async () => {
    mkdirSync(imports, { recursive: true });
    // Stands for the server: answers the submission as POST /v1/imports does a wrong header.
    http = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push(JSON.parse(body || '{}') as { path?: string });
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'UNPROCESSABLE', message: 'orders.csv: not an Online Retail file', details: [{ path: 'path', message: 'x' }] } }));
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    // This process holds DATA_DIR as a server does, announcing the fake's address and its roots.
    release = lockDataDir(dataDir, 'server.ts');
    announceServerUrl(dataDir, `http://127.0.0.1:${(http.address() as AddressInfo).port}`, [imports]);
    writeFileSync(path.join(dataDir, 'admin.key'), 'handoff-test-admin-key\n');
  });
  afterAll(async () => {
    release?.();
    await new Promise((resolve) => http.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('When the file lies outside the roots, Then the command refuses it before copying it under the roots and sending it', async () => {
    const home = path.join(dir, 'home');
    mkdirSync(home);
    const orders = path.join(home, 'orders.csv');
    writeFileSync(orders, `order,sku,qty\n${'1,a,2\n'.repeat(100_000)}`);
    const env = { ...process.env, DATABASE_URL: '', REDIS_URL: '', API_KEYS: '', DATA_DIR: dataDir };
    const run = await runCliScript(builtEntry('src/cli/import-command.ts'), ['online-retail', orders], { env, timeoutMs: 120_000 });
    // Exit 1, as the same refusal without a server (docs/import-formats.md).
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('orders.csv: not an Online Retail file');
    expect(requests, 'the server was handed a copy of the file').toEqual([]);
    expect(run.stdout).not.toContain('copying');
    expect(readdirSync(imports)).toEqual([]);
  }, 180_000);
});
