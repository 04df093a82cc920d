import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { serve as nodeServe } from '@hono/node-server';
import { createSluiceApp, type SluiceApp, type SluiceAppOptions } from './app.js';

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
    const server = nodeServe({ fetch: sluice.fetch, port: options.port ?? 8080, hostname }, (info: AddressInfo) => {
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
    }) as Server;
    const responses = new Set<ServerResponse>();
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      responses.add(res);
      res.once('close', () => responses.delete(res));
    });
    server.once('error', reject);
  });
}
