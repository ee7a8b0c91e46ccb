import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import { exportRequest, type ExportRequest } from '../exports/export-request.js';
import { runExport, type ExportResult } from '../exports/run-export.js';
import { createServices } from '../services.js';
import { finishJob, jobOnServer, withDataStores } from './job-command.js';
import { createProgress } from './progress.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';
import { runningServer, type RunningServer } from './server-handoff.js';

const USAGE = `Usage: npm run export -- --out FILE [options]

  --out FILE                 where to write the file
  --kind KIND                recommendations (default: every customer's top-k) or audience
  --k N                      items per customer (recommendations, default 10) or customers (audience)
  --segment NAME             only customers of this RFM segment (e.g. champions)
  --lifecycle STAGE          only customers at this lifecycle stage (new, active, silent, churned)
  --strategy NAME            recommendations: hybrid (default) or one source of the active model
  --item ID[,ID...]          audience: the products
  --category NAME            audience: every product of this category or below it
  --include-recent-buyers[=true|false]
                             audience: keep customers who bought the products recently
  --format csv|jsonl         default csv
  --bom[=true|false]         csv: begin the file with a UTF-8 byte-order mark, so Excel shows accented
                             titles right (default: no mark, the file begins with its header)
  --campaign ID              campaign id written on every row (send it back with feedback)

Writes the active model's answers, exactly as the API gives them (GET /v1/users/:id/recommendations
?strategy=..., POST /v1/audiences), with the same configuration as the server. When a server owns
the embedded data in DATA_DIR, the export runs there as a job (POST /v1/exports) and is downloaded.`;

const FLAGS: Record<string, keyof ExportRequest | 'out'> = {
  '--out': 'out', '--kind': 'kind', '--k': 'k', '--segment': 'segment', '--lifecycle': 'lifecycle', '--strategy': 'strategy',
  '--item': 'itemIds', '--category': 'category', '--format': 'format', '--campaign': 'campaignId',
};
/** Flags that are switches: on alone, or as their value (=true, =false) says. */
const SWITCHES: Record<string, 'includeRecentBuyers' | 'bom'> = { '--include-recent-buyers': 'includeRecentBuyers', '--bom': 'bom' };

/** The request and the output path, validated by the same schema as POST /v1/exports. */
export function parseExportArgs(args: string[]): { request: ExportRequest; out: string } {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2) as [string, string | undefined];
    const toggled = SWITCHES[flag];
    if (toggled) {
      // A value given with it (=false) must not read as the switch on.
      if (inline !== undefined && inline !== 'true' && inline !== 'false') throw new UsageError(`${flag} takes no value, or true or false; got "${inline}"`);
      if (raw[toggled] !== undefined) throw new UsageError(`${flag} given twice`);
      raw[toggled] = inline !== 'false';
      continue;
    }
    const key = FLAGS[flag];
    if (!key) throw new UsageError(`unknown argument "${args[i]}"`);
    const value = inline ?? args[++i];
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
    if (raw[key] !== undefined) throw new UsageError(`${flag} given twice`);
    raw[key] = key === 'k' ? Number(value) : key === 'itemIds' ? value.split(',').filter(Boolean) : value;
  }
  const { out, ...rest } = raw;
  if (typeof out !== 'string') throw new UsageError('--out FILE is required');
  const parsed = exportRequest.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flagOf = (field: PropertyKey) => Object.entries({ ...FLAGS, ...SWITCHES }).find(([, k]) => k === field)?.[0];
    const flag = flagOf(issue.path[0]) ?? String(issue.path[0] ?? '');
    // The request's messages name its API fields; the terminal speaks of flags.
    const message = issue.message.replace(/\b(itemIds|category|segment|lifecycle|strategy|campaignId)\b/g, (field) => flagOf(field) ?? field);
    throw new UsageError(`${flag}: ${message}`);
  }
  return { request: parsed.data, out };
}

const summary = (r: ExportResult, out: string) =>
  `${r.customers.toLocaleString('en-US')} customers, ${r.rows.toLocaleString('en-US')} rows (${r.format}, model ${r.modelVersion}) in ${(r.ms / 1000).toFixed(1)} s -> ${out}` +
  // A server of the release before does not say.
  (r.restartedFrom?.length ? `\nbegan again on model ${r.modelVersion}: newer trainings deleted ${r.restartedFrom.join(', ')} while the export read it` : '');

async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, USAGE, parseExportArgs);
  if (!cli.ok) return cli.exit;
  const { request, out } = cli.value;
  const config = loadConfig();
  const server = runningServer(config);
  if (server) return exportOnServer(server, request, out);
  return withDataStores(config, async (db, store) => {
    const services = createServices({ config, db, store });
    const progress = createProgress('export');
    let result: ExportResult;
    try {
      // The erasures owed are read before the customers are chosen (the services' first read of them), and left out.
      // A read that failed refuses the export: without the list, it would write the customers whose erasure was asked.
      await services.erasureFollower.owedRead().catch((err: unknown) => {
        throw new Error(
          `could not read the erasures owed (erasure_requests): ${err instanceof Error ? err.message : String(err)}; nothing was exported, since the file would list customers whose erasure was asked for: try again once Postgres answers`,
          { cause: err },
        );
      });
      const { serving, audiences, profiles, store, erasureRepository: erasures, campaigns, owedErasures: owed } = services;
      result = await runExport({ serving, audiences, profiles, store, erasures, campaigns, owed }, request, out, {
        onProgress: (f) => progress.update(f),
      });
    } catch (err) {
      progress.stop('failed');
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      console.error(`error: ${err.message}`);
      return 2;
    }
    progress.stop();
    console.log(summary(result, out));
    return 0;
  });
}

/** Runs the export as a job in the server that owns the data, then downloads its file to `out`. */
async function exportOnServer(server: RunningServer, request: ExportRequest, out: string): Promise<number> {
  const handed = await jobOnServer(server, { label: 'export', there: 'exporting there', route: '/v1/exports', body: request });
  // A refusal (an unknown strategy or item, a bad filter) exits 2, as a local one does.
  if (typeof handed === 'number') return handed;
  const { progress, job } = handed;
  return finishJob(progress, 'export', job, async (result) => {
    const res = await fetch(new URL(`/v1/exports/${encodeURIComponent(job.id)}/file`, server.url), { headers: { authorization: `Bearer ${server.key}` } });
    if (!res.ok || !res.body) throw new Error(`downloading the export answered ${res.status}`);
    // As a local export: the directories made, and the file in place only once whole.
    await mkdir(dirname(resolve(out)), { recursive: true });
    const part = `${out}.part`;
    try {
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(part));
      await rename(part, out);
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
    console.log(summary(result as ExportResult, out));
  });
}

runCli(import.meta.url, main);
