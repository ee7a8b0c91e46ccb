import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** How long a closing connection goes on reading a body its answer did not wait for. */
export const LINGER_MS = 10_000;
/** A body announced larger than this is not waited for: the connection is closed after the answer, as before. */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;

const lingering = new WeakSet<Socket>();

/**
 * Answers sent before the request's body was read whole, with `Connection: close` (a `413` over the body
 * limit, announced by Content-Length or counted while reading), closed the socket as soon as the answer
 * was written. A client that writes its whole body before it reads (Python's http.client and requests, many
 * HTTP libraries) was still writing: the server's kernel answered the rest with a reset, and the client saw
 * `Broken pipe` or `Connection reset` instead of the `413` naming the limit. Such a connection now closes as
 * a web server's lingering close does: the answer is sent at once and the sending side shut, then the rest of
 * the body is read and thrown away until the client has sent it (or stops), for at most LINGER_MS; a body
 * announced over LINGER_MAX_BYTES is not waited for. A request pipelined behind it is not run: the socket is
 * closed when one comes.
 */
export function registerLingeringClose(app: FastifyInstance): void {
  // An answer that said `close` ends the connection's requests (RFC 9112 9.6): one the client pipelined
  // behind the body, which the reading on parses, is not run; the client takes it as not done.
  app.addHook('onRequest', (request, reply, done) => {
    const socket = request.raw.socket as Socket | null;
    if (!socket || !lingering.has(socket)) return done();
    reply.hijack();
    socket.destroy();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw;
    const socket = raw.socket as Socket | null;
    if (!socket || raw.complete || lingering.has(socket) || !/close/i.test(String(reply.getHeader('connection') ?? ''))) return done(null, payload);
    const announced = Number(request.headers['content-length']);
    if (announced > LINGER_MAX_BYTES) return done(null, payload);
    lingering.add(socket);
    // Node closes a connection whose answer said `close` with destroySoon() once the answer is written:
    // shut the sending side instead, and destroy the socket when the request has been read or the time is up.
    socket.destroySoon = function lingeringClose(this: Socket) {
      if (this.writable) this.end();
      const close = () => {
        clearTimeout(timer);
        this.destroy();
      };
      const timer = setTimeout(close, LINGER_MS);
      timer.unref();
      if (raw.complete) return close();
      raw.once('end', close);
      raw.once('error', close);
      this.once('end', close);
      this.once('close', () => clearTimeout(timer));
      // The body's bytes are thrown away as they come: taken from whatever read them (a compressed body's
      // inflater, stopped at the limit, would hold them back for good), as nothing reads them now.
      raw.unpipe();
      raw.resume();
    };
    done(null, payload);
  });
}
