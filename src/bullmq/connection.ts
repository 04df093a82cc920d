import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';

/**
 * Where Redis is: a `redis://` URL, ioredis options (optionally with a `url`), or an ioredis client. BullMQ
 * opens its own connections from it; sluice opens one for commands (and the dispatcher one for pub/sub), which
 * it closes on `close()`. A client passed in is duplicated, never closed.
 */
export type Connection = string | (RedisOptions & { url?: string }) | Redis;

/** The same place, in the form BullMQ's `connection` option takes. */
export function forBullmq(connection: Connection): ConnectionOptions {
  return typeof connection === 'string' ? { url: connection } : connection;
}

/** A new client of sluice's own to the same place. */
export function openClient(connection: Connection): Redis {
  let client: Redis;
  if (connection instanceof Redis) client = connection.duplicate();
  else {
    const { url, ...options } = typeof connection === 'string' ? { url: connection } : connection;
    client = url === undefined ? new Redis(options) : new Redis(url, options);
  }
  // Failures surface as rejected commands; unhandled, 'error' events would only be logged by ioredis.
  client.on('error', () => undefined);
  return client;
}
