import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { ERRORS } from '../../../src/errors.js';
import { createMetrics } from '../../../src/metrics.js';
import { specRoutes } from '../../helpers/spec-routes.js';

/**
 * README.md is what storefront developers, the data team and operations act on. Its tables must say what
 * the code does: every configuration variable with its default, every route with its scope and the query
 * parameters it takes, every metric, every error code it names.
 */
const README = readFileSync('README.md', 'utf8');

/** The text of the `## title` section (up to the next `## `). */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  expect(start, `README has a "## ${title}" section`).toBeGreaterThan(-1);
  const rest = README.slice(start + title.length + 5);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Table rows (`| ... |`) of a section whose first cell starts with a backquote, as their cells. */
const tableRows = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.slice(1, -1).split(' | ').map((cell) => cell.trim()));

describe('README: configuration table', () => {
  const rows = tableRows(section('Configuration'));
  const documented = new Map<string, string>();
  for (const cells of rows) for (const [, name] of cells[0].matchAll(/`([A-Z][A-Z0-9_]+)`/g)) documented.set(name, cells.at(-1)!);
  const defaults = loadConfig({}) as unknown as Record<string, unknown>;

  it('lists exactly the variables src/config.ts reads', () => {
    // The schema's keys, optional ones included (loadConfig leaves an unset optional variable out).
    const source = readFileSync('src/config.ts', 'utf8');
    const body = source.slice(source.indexOf('const schema = z.object({'), source.indexOf('\n});', source.indexOf('const schema = z.object({')));
    const read = [...body.matchAll(/^  ([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
    expect(read.length).toBeGreaterThan(30);
    expect([...documented.keys()].sort()).toEqual(read.sort());
  });

  it("gives each variable's default as the code has it", () => {
    // Two cells ("`3000`, `127.0.0.1`") name the defaults of a row of two variables, in order.
    for (const cells of rows) {
      const names = [...cells[0].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]);
      const literals = [...cells.at(-1)!.matchAll(/^`([^`]*)`|, `([^`]*)`/g)].map((m) => m[1] ?? m[2]);
      names.forEach((name, i) => {
        const actual = defaults[name];
        if (actual === undefined || (Array.isArray(actual) && actual.length === 0)) {
          // Unset by default: the README says so in words ("unset ...", "one per core").
          expect(cells.at(-1), name).toMatch(/^unset|^one per core$/);
        } else if (name === 'IMPORT_ROOTS' || name === 'EXPORT_DIR') {
          expect(literals[i], name).toBe(`DATA_DIR/${name === 'IMPORT_ROOTS' ? 'imports' : 'exports'}`);
        } else {
          expect(literals[i], name).toBe(String(actual));
        }
      });
    }
  });
});

describe('README: route table', async () => {
  const { routes } = await specRoutes();
  const rows = tableRows(section('API'));
  interface Documented { method: string; path: string; query: string[]; scope: string; row: string }
  const documented: Documented[] = [];
  for (const cells of rows) {
    for (const [, route] of cells[0].matchAll(/`((?:GET|POST|PUT|DELETE) [^`]+)`/g)) {
      const [method, target] = [route.slice(0, route.indexOf(' ')), route.slice(route.indexOf(' ') + 1)];
      const [path, query] = target.split('?');
      // `/v1/imports[/:id]` is two routes.
      const optional = path.match(/^(.*)\[([^\]]+)\]$/);
      for (const p of optional ? [optional[1], optional[1] + optional[2]] : [path]) {
        documented.push({ method, path: p.replace(/:(\w+)/g, '{$1}'), query: query ? query.split('&').map((q) => q.split('=')[0]) : [], scope: cells[1], row: cells.join(' | ') });
      }
    }
  }
  // Served outside the OpenAPI document (hidden routes).
  const HIDDEN = new Set(['GET /metrics', 'GET /dashboard']);

  it('lists every route the app serves, and none it does not', () => {
    const have = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const named = new Set(documented.map((d) => `${d.method} ${d.path}`));
    expect([...have].filter((r) => !named.has(r)), 'served but not in the README').toEqual([]);
    expect([...named].filter((r) => !have.has(r) && !HIDDEN.has(r)), 'in the README but not served').toEqual([]);
  });

  it('names the scope each route needs', () => {
    for (const d of documented) {
      const route = routes.find((r) => r.method === d.method && r.path === d.path);
      if (!route) continue;
      expect(d.scope.split(' ')[0], `${d.method} ${d.path}`).toBe(route.scope ?? 'none');
    }
  });

  it('names, in the row of a route whose query it documents, every query parameter the route takes', () => {
    const missing: string[] = [];
    for (const d of documented) {
      if (d.query.length === 0) continue;
      const route = routes.find((r) => r.method === d.method && r.path === d.path)!;
      for (const p of route.parameters.filter((x) => x.in === 'query')) {
        if (!d.query.includes(p.name) && !d.row.includes(`\`${p.name}\``) && !d.row.includes(`?${p.name}`)) missing.push(`${d.method} ${d.path}: ${p.name}`);
      }
    }
    // Observed: the `k` (default 10, up to 100), `exclude`, `minPrice`, `maxPrice` and `diversity` of the item
    // lists (similar, popular), `limit` of GET /v1/evaluations/history (default 100) and `limit` / `offset` of
    // GET /v1/segments/:name/users (default 100 members): a reader of the table takes those lists as fixed.
    expect(missing).toEqual([]);
  });
});

describe('README: metrics and error codes', () => {
  it('lists every metric /metrics exposes (besides the process metrics), and none it does not', async () => {
    const text = README.split('\n### Metrics\n')[1].split('\n## ')[0];
    const named = new Set<string>();
    for (const [, name] of text.matchAll(/`(recsvc_[a-z_]+)/g)) named.add(name);
    // `recsvc_serving_answer_cache_hits_total` / `_misses_total`
    if (named.has('recsvc_serving_answer_cache_hits_total')) named.add('recsvc_serving_answer_cache_misses_total');
    expect(named.size).toBeGreaterThan(20);
    const exposed = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => !n.startsWith('recsvc_process_'));
    expect(exposed.filter((n) => !named.has(n)), 'exposed but not in the README').toEqual([]);
    expect([...named].filter((n) => !exposed.includes(n) && !n.startsWith('recsvc_process_')), 'in the README but not exposed').toEqual([]);
  });

  it('names only error codes src/errors.ts has', () => {
    const named = new Set([...README.matchAll(/\b[1-5]\d\d ([A-Z][A-Z_]{3,})\b/g)].map((m) => m[1]));
    for (const [, code] of README.matchAll(/code `([A-Z][A-Z_]+)`/g)) named.add(code);
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((c) => !(c in ERRORS))).toEqual([]);
  });
});
