import { writeFileSync } from 'node:fs';
import { generateOpenApi, renderOpenApi } from '../http/openapi-spec.js';

// `npm run openapi`: regenerates openapi/openapi.json from the route schemas (a test fails when it is stale).
const target = new URL('../../openapi/openapi.json', import.meta.url);
writeFileSync(target, renderOpenApi(await generateOpenApi()));
process.stdout.write(`wrote ${target.pathname}\n`);
