import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';

const STATIC_DIR = fileURLToPath(new URL('../static/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page's policy: its scripts, styles and data come from this origin only, nothing inline, no
 * frames, no plugins, forms post nowhere else. Charts draw on canvases (no images needed).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Chart.js's self-contained browser build, served from the installed package (no CDN, no copy in src). */
function chartLibrary(): Buffer {
  // The package's exports do not list its UMD build; its directory is found through the main entry.
  const main = createRequire(import.meta.url).resolve('chart.js');
  return readFileSync(path.join(path.dirname(main), 'chart.umd.min.js'));
}

interface Asset {
  body: Buffer;
  type: string;
  /** Strong validator of the content: a reload revalidates and gets 304 while the file is unchanged. */
  etag: string;
}

const asset = (body: Buffer, type: string): Asset => ({ body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` });

/** The page's own files (src/http/static/dashboard/**), read once: the set of servable names is fixed at start. */
function pageAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = path.join(STATIC_DIR, 'dashboard');
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const type = TYPES[path.extname(entry.name)];
    if (!entry.isFile() || !type) continue;
    const file = path.join(entry.parentPath, entry.name);
    assets.set(path.relative(dir, file).split(path.sep).join('/'), asset(readFileSync(file), type));
  }
  assets.set('vendor/chart.umd.min.js', asset(chartLibrary(), TYPES['.js']));
  return assets;
}

/**
 * GET /dashboard: the data team's page (overview with training and rollback, evaluation charts,
 * customer preview, segments, online metrics). The page and its scripts hold no data: they read the
 * admin API with the key the operator types into a form (kept in the tab's sessionStorage, sent as a
 * header, never in a URL), so they need no scope of their own and show nothing without an admin key.
 */
/**
 * @param deps.onOpen called whenever the page itself is loaded: warms what the views read slowly the
 *   first time (the lifecycle history scans every purchase), while the key is typed and the overview drawn.
 */
export function dashboardRoutes(app: FastifyInstance, deps: { onOpen?: () => void } = {}) {
  const page = readFileSync(path.join(STATIC_DIR, 'dashboard.html'));
  const assets = pageAssets();

  app.get('/dashboard', { schema: { hide: true } }, async (_req, reply) => {
    deps.onOpen?.();
    return reply.type(TYPES['.html']).header('content-security-policy', DASHBOARD_CSP).header('cache-control', 'no-cache').send(page);
  });

  app.get<{ Params: { '*': string } }>('/dashboard/*', { schema: { hide: true } }, async (req, reply) => {
    const file = assets.get(req.params['*']);
    if (!file) throw notFound('dashboard file', req.params['*']);
    // Revalidated on every load (a new release's scripts are picked up at once), answered 304 while unchanged.
    reply.header('cache-control', 'no-cache').header('etag', file.etag);
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  });
}
