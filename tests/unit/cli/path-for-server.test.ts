import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobNotFollowedError, runJobOnServer, withPathForServer, type RunningServer } from '../../../src/cli/server-handoff.js';
import { AppError } from '../../../src/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-path-for-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const imports = path.join(dir, 'data', 'imports');
const me = process.getuid!();
const server = (importRoots?: string[], uid = me): RunningServer => ({ url: 'http://127.0.0.1:1', pid: 1, key: 'k', uid, ...(importRoots ? { importRoots } : {}) });
const said: string[] = [];
const say = (line: string) => said.push(line);

describe('a local path handed to the server that owns the data', () => {
  it('When the path is under an import root, or the server named none, Then the server is given it as it is and nothing is copied', async () => {
    mkdirSync(path.join(imports, 'shop'), { recursive: true });
    expect(await withPathForServer(server([imports]), path.join(imports, 'shop'), async (p) => p, say)).toBe(path.join(imports, 'shop'));
    expect(await withPathForServer(server(), path.join(dir, 'anywhere.csv'), async (p) => p, say)).toBe(path.join(dir, 'anywhere.csv'));
    expect(said).toEqual([]);
  });

  it('When the path is elsewhere, Then the server reads a copy under the first root, private as the original, gone when the work ends, even when it fails', async () => {
    const file = path.join(dir, 'export.csv.gz');
    writeFileSync(file, 'bytes', { mode: 0o600 });
    let seen = '';
    const failed = withPathForServer(server([imports, '/elsewhere']), file, async (p) => {
      seen = p;
      expect(path.dirname(path.dirname(p))).toBe(imports);
      expect(path.basename(p)).toBe('export.csv.gz'); // the name (and so the format check by extension) is kept
      expect(readFileSync(p, 'utf8')).toBe('bytes');
      // The server runs as this user: the copy need not be readable by anyone else.
      expect(statSync(p).mode & 0o777).toBe(0o600);
      throw new Error('the server refused');
    }, say);
    await expect(failed).rejects.toThrow('the server refused');
    expect(existsSync(path.dirname(seen))).toBe(false);
    expect(said).toEqual([`The server reads imports only under ${imports}: copying ${file} there for it.`]);
  });

  it('When the server runs as another user and the directory holds links, Then the copy holds what they point to, readable by it, and the originals keep their modes', async () => {
    const originals = path.join(dir, 'originals');
    mkdirSync(originals);
    writeFileSync(path.join(originals, 'events.csv'), 'user_id,item_id\n', { mode: 0o600 });
    const shop = path.join(dir, 'linked-shop');
    mkdirSync(shop);
    symlinkSync('../originals/events.csv', path.join(shop, 'events.csv'));
    // A link to the file under a name of its own: the copy keeps the name given, not the target's.
    symlinkSync(path.join(originals, 'events.csv'), path.join(dir, 'shop.csv.gz'));
    await withPathForServer(server([imports], me + 1), shop, async (p) => {
      const copied = path.join(p, 'events.csv');
      expect(lstatSync(copied).isSymbolicLink()).toBe(false);
      expect(readFileSync(copied, 'utf8')).toBe('user_id,item_id\n');
      expect(statSync(copied).mode & 0o777).toBe(0o644);
      expect(statSync(p).mode & 0o777).toBe(0o755);
    }, say);
    expect(await withPathForServer(server([imports]), path.join(dir, 'shop.csv.gz'), async (p) => path.basename(p), say)).toBe('shop.csv.gz');
    expect(statSync(path.join(originals, 'events.csv')).mode & 0o777).toBe(0o600);
  });

  it('When the job was accepted but could not be followed, Then the copy stays for the job and the command says where', async () => {
    said.length = 0;
    let seen = '';
    const lost = withPathForServer(server([imports]), path.join(dir, 'export.csv.gz'), async (p) => {
      seen = p;
      throw new JobNotFollowedError('the server stopped answering');
    }, say);
    await expect(lost).rejects.toThrow('the server stopped answering');
    expect(existsSync(seen)).toBe(true);
    expect(said.at(-1)).toBe(`The copy stays at ${seen} while the job may still read it.`);
    rmSync(path.dirname(seen), { recursive: true });
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

  it('When a directory under the roots holds links, Then it is passed as it is while they stay in the roots, and copied, links resolved, when one leads out (a part directory too)', async () => {
    said.length = 0;
    const kept = path.join(imports, 'kept');
    mkdirSync(kept, { recursive: true });
    writeFileSync(path.join(kept, 'catalogue.csv'), 'id\nkept\n');
    const inside = path.join(imports, 'linked-inside');
    mkdirSync(inside);
    symlinkSync(path.join(kept, 'catalogue.csv'), path.join(inside, 'items.csv'));
    expect(await withPathForServer(server([imports]), inside, async (p) => p, say)).toBe(inside);
    expect(said).toEqual([]);

    // A Spark output directory whose part file is the user's own file elsewhere.
    const mine = path.join(dir, 'my-parts');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'part-00000.csv'), 'id,features\n');
    const factors = path.join(imports, 'factors-linked-out');
    mkdirSync(path.join(factors, 'item_factors'), { recursive: true });
    symlinkSync(path.join(mine, 'part-00000.csv'), path.join(factors, 'item_factors', 'part-00000.csv'));
    let seen = '';
    await withPathForServer(server([imports]), factors, async (p) => {
      seen = p;
      const part = path.join(p, 'item_factors', 'part-00000.csv');
      expect(lstatSync(part).isSymbolicLink()).toBe(false);
      expect(readFileSync(part, 'utf8')).toBe('id,features\n');
    }, say);
    expect(path.dirname(path.dirname(seen))).toBe(imports);
    expect(existsSync(seen)).toBe(false);
    expect(said).toEqual([`The server reads imports only under ${imports}, links resolved, and ${path.join('item_factors', 'part-00000.csv')} in ${factors} leads elsewhere: copying ${factors} under ${imports} for it.`]);
  });

  it('When the copy cannot be made, Then the error says where the server reads imports', async () => {
    const notADir = path.join(dir, 'a-file-root');
    writeFileSync(notADir, '');
    const work = async () => 'never';
    await expect(withPathForServer(server([notADir]), path.join(dir, 'more.csv'), work, say)).rejects.toThrow(`could not copy ${path.join(dir, 'more.csv')} under ${notADir}, where the server reads imports`);
  });
});

describe('a job handed to the server', () => {
  let http: Server;
  let answer: (url: string, method: string) => [number, unknown] = () => [500, {}];
  let url = '';
  afterAll(() => http?.close());
  const progress = () => {
    const seen = { stopped: '' as string | undefined, updates: 0 };
    return { seen, progress: { update: () => void seen.updates++, stop: (outcome?: 'done' | 'failed' | 'left') => void (seen.stopped = outcome ?? 'done') } };
  };
  const start = async () => {
    http = createServer((req, res) => {
      const [status, body] = answer(req.url!, req.method!);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  };

  it('When the server refuses the submit, Then its error comes back as ours (code and status) and the progress display is stopped', async () => {
    await start();
    answer = () => [422, { error: { code: 'UNPROCESSABLE', message: 'no purchases at or after the cutoff' } }];
    const { seen, progress: p } = progress();
    const refused = await runJobOnServer({ url, pid: 1, key: 'k' }, '/v1/evaluations', {}, p).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'UNPROCESSABLE', status: 422, message: expect.stringContaining('answered 422: no purchases at or after the cutoff') });
    expect(seen.stopped).toBe('failed');
  });

  it('When polls fail for a while after the submit, Then they are retried, and past the limit the job is reported as not followed', async () => {
    let polls = 0;
    answer = (u, method) => {
      if (method === 'POST') return [202, { jobId: 'j1' }];
      polls++;
      return polls <= 2 ? [503, { error: { code: 'UNAVAILABLE', message: 'restarting' } }] : [200, { id: 'j1', status: 'succeeded', progress: 1, step: null, error: null }];
    };
    const { seen, progress: p } = progress();
    const job = await runJobOnServer({ url, pid: 1, key: 'k' }, '/v1/imports', {}, p, { pollMs: 5, retryMs: 5_000 });
    expect(job.status).toBe('succeeded');
    expect(polls).toBe(3);
    expect(seen.stopped).toBe('');

    answer = (u, method) => (method === 'POST' ? [202, { jobId: 'j2' }] : [503, { error: { code: 'UNAVAILABLE', message: 'gone' } }]);
    const second = progress();
    const lost = await runJobOnServer({ url, pid: 1, key: 'k' }, '/v1/imports', {}, second.progress, { pollMs: 5, retryMs: 50 }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(JobNotFollowedError);
    expect((lost as Error).message).toMatch(/job j2 was accepted .* following it failed: .*answered 503: gone; see \/v1\/imports\/j2/);
    expect(second.seen.stopped).toBe('failed');

    // A 4xx on a poll (the job or the key gone) is not waited out.
    polls = 0;
    answer = (u, method) => (method === 'POST' ? [202, { jobId: 'j3' }] : (polls++, [404, { error: { code: 'NOT_FOUND', message: 'gone' } }]));
    const third = await runJobOnServer({ url, pid: 1, key: 'k' }, '/v1/imports', {}, progress().progress, { pollMs: 5, retryMs: 60_000 }).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(JobNotFollowedError);
    expect(polls).toBe(1);
  });

  it('When the command is stopped (Ctrl-C) while it follows a job, Then it says which job goes on in the server and where to follow it', async () => {
    let done = false;
    answer = (u, method) => (method === 'POST' ? [202, { jobId: 'j9' }] : [200, { id: 'j9', status: done ? 'succeeded' : 'running', progress: 0.5, step: 'fitting', error: null }]);
    const before = process.listeners('SIGINT');
    const said: string[] = [];
    const { seen, progress: p } = progress();
    const following = runJobOnServer({ url, pid: 1, key: 'k' }, '/v1/training-jobs', {}, p, { pollMs: 5, onInterrupt: (m) => void said.push(m) });
    // Once the job is accepted, a SIGINT listener of its own is there.
    let ours: ((signal: NodeJS.Signals) => void) | undefined;
    while (!ours) {
      ours = process.listeners('SIGINT').find((l) => !before.includes(l)) as typeof ours;
      await new Promise((r) => setTimeout(r, 5));
    }
    ours('SIGINT');
    expect(said).toEqual([`stopped following job j9 (SIGINT); the server at ${url} goes on with it: see /v1/training-jobs/j9`]);
    expect(seen.stopped).toBe('left');
    done = true;
    await following;
    // Nothing of it is left listening once the job is followed to its end.
    expect(process.listeners('SIGINT')).toEqual(before);
  });

  it('When a 4xx comes without our error shape (a proxy in between), Then it is still a refusal', async () => {
    answer = () => [400, 'bad request'];
    const refused = await runJobOnServer({ url, pid: 1, key: 'k' }, '/v1/imports', {}, progress().progress).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).status).toBeLessThan(500);
  });
});
