import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { getRequestListener, RequestError } from '@hono/node-server';
import { createSluiceApp, type SluiceApp, type SluiceAppOptions } from './app.js';
import { HttpError, stderrLogger, type HttpLogger } from './errors.js';
import { securityHeaders } from './guard.js';

export interface ServeOptions extends SluiceAppOptions {
  /** TCP port (default 8080; 0 picks a free one). */
  port?: number;
  /** Interface to listen on (default `127.0.0.1`: loopback only, pass `0.0.0.0` to expose it). */
  hostname?: string;
}

/** How long `close()` lets unfinished requests run before dropping their connections. */
const CLOSE_GRACE_MS = 1_000;

const finished = (res: ServerResponse): Promise<unknown> => (res.writableFinished ? Promise.resolve() : once(res, 'close'));

/** A listening sluice server. */
export interface SluiceServer extends SluiceApp {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** Stop listening, end open event streams and wait for pending checkpoints. Runs are left as they are. */
  close(): Promise<void>;
}

/**
 * Start the HTTP API and inspector on Node's HTTP server; resolves once it listens.
 *
 * @example
 * ```ts
 * import { serve } from 'sluice/http';
 * const server = await serve({ workflows: [deploy], store: new FileStore('./.sluice'), port: 8080 });
 * console.log(`inspector: ${server.url}/`);
 * ```
 */
export function serve(options: ServeOptions): Promise<SluiceServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  // The address it listens on is a name it is reached by (a wildcard address is not: list names in allowedHosts).
  const own = hostname === '0.0.0.0' || hostname === '::' ? [] : [hostname.replace(/^\[|\]$/g, '').toLowerCase()];
  const sluice = createSluiceApp({ ...options, allowedHosts: [...own, ...(options.allowedHosts ?? [])] });
  return new Promise((resolve, reject) => {
    // A request the adapter cannot turn into a `Request` (a Host such as `a:80@b`, a backslash in the path) is
    // answered like any other bad request: a coded JSON 400 with the security headers, not a bare 400.
    const listener = getRequestListener(sluice.fetch, { hostname, errorHandler: (error) => unreadable(error, options.logger ?? stderrLogger) });
    const server = createServer(listener);
    server.listen(options.port ?? 8080, hostname, () => {
      const info = server.address() as AddressInfo;
      server.off('error', reject);
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        ...sluice,
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: async () => {
          await sluice.closeStreams();
          const closed = new Promise<void>((done) => server.close(() => done()));
          // Let responses under way finish (the streams just ended are flushing their last bytes), then drop
          // every connection left: idle keep-alive ones, and requests still waiting after the grace period.
          await Promise.race([Promise.all([...responses].map(finished)), delay(CLOSE_GRACE_MS, undefined, { ref: false })]);
          server.closeAllConnections();
          await closed;
          await sluice.registry.flush();
        },
      });
    });
    const responses = new Set<ServerResponse>();
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      responses.add(res);
      res.once('close', () => responses.delete(res));
    });
    server.once('error', reject);
  });
}

/** The answer to a request that never reached the app: 400 `invalid_request`, or a logged 500 for anything else. */
function unreadable(error: unknown, logger: HttpLogger): Response {
  const http =
    error instanceof RequestError
      ? new HttpError(400, 'invalid_request', `the request is malformed (${error.message}); send a plain Host header and path`)
      : new HttpError(500, 'internal_error', 'internal error');
  if (http.status >= 500) logger.error({ err: error, status: 500, code: http.code }, 'sluice http: 500 internal_error');
  return new Response(JSON.stringify(http.toBody()), { status: http.status, headers: { 'content-type': 'application/json', ...securityHeaders() } });
}
