import compress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * Responses of at least `minBytes` are compressed for clients that accept it (br, then gzip; brotli at
 * the plugin's quality 4, about as fast as gzip). Compressed request bodies (Content-Encoding gzip, br,
 * deflate) are inflated before parsing; the body limit applies to the inflated size.
 * Register before the routes: the plugin attaches its hooks to each route as it is added.
 */
export async function registerCompression(app: FastifyInstance, opts: { minBytes: number }): Promise<void> {
  await app.register(compress, { global: true, threshold: opts.minBytes, encodings: ['br', 'gzip'] });
}
