import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { generateOpenApi, renderOpenApi } from '../../../src/http/openapi-spec.js';

describe('OpenAPI description', () => {
  it('When routes change, Then the checked-in openapi/openapi.json must be regenerated (npm run openapi)', async () => {
    const current = renderOpenApi(await generateOpenApi());
    const checkedIn = readFileSync(new URL('../../../openapi/openapi.json', import.meta.url), 'utf8');
    expect(checkedIn, 'openapi/openapi.json is stale: run `npm run openapi`').toBe(current);
  });

  it('When validated by a standard OpenAPI validator, Then it passes and documents every /v1 route', async () => {
    const spec = await generateOpenApi();
    await expect(SwaggerParser.validate(structuredClone(spec) as never)).resolves.toBeDefined();
    const paths = Object.keys(spec.paths as object);
    expect(paths).toEqual(expect.arrayContaining(['/v1/items/{id}', '/v1/events', '/v1/users/{id}', '/health/ready']));
  });
});
