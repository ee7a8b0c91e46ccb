import compress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * Responses of at least `minBytes` are compressed for clients that accept it, gzip preferred over br.
 * Compression costs more CPU than the answer it compresses: measured here on a 1.5 KB recommendation
 * answer (k=10), gzip 49 µs and brotli (quality 4) 90 µs, on a 7.5 KB one (k=50) 147 and 269 µs,
 * against ~40 µs for the whole request otherwise (bench/README.md). Hence the 16 KB default: lists of
 * up to 100 items go out plain (browsers always send Accept-Encoding), large documents (the OpenAPI
 * spec, segment members, event lists, reports) compressed.
 * Compressed request bodies (Content-Encoding gzip, br, deflate) are inflated before parsing; the body
 * limit applies to the inflated size. Register before the routes: the plugin hooks each route as it is added.
 */
export async function registerCompression(app: FastifyInstance, opts: { minBytes: number }): Promise<void> {
  await app.register(compress, { global: true, threshold: opts.minBytes, encodings: ['gzip', 'br'] });
}
