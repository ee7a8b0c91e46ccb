import { writeFileSync } from 'node:fs';
import { generateOpenApi, renderOpenApi } from '../http/openapi-spec.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';

const USAGE = `Usage: npm run openapi

Regenerates openapi/openapi.json from the route schemas (a test fails when it is stale). Takes no arguments.`;

// `npm run openapi`: an argument given (a mistake, or --help) does not rewrite the file.
runCli(import.meta.url, async (args) => {
  const cli = parseCommandLine(args, USAGE, (a) => {
    if (a.length > 0) throw new UsageError(`unexpected argument "${a[0]}": the command takes none`);
    return true;
  }, 'openapi');
  if (!cli.ok) return cli.exit;
  const target = new URL('../../openapi/openapi.json', import.meta.url);
  writeFileSync(target, renderOpenApi(await generateOpenApi()));
  process.stdout.write(`wrote ${target.pathname}\n`);
  return 0;
});
