import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HttpError } from './errors.js';

/**
 * Bearer-token check for every route. The token is read from `Authorization: Bearer <token>` or, for
 * clients that cannot set headers (a browser's `EventSource`, the inspector's first page load), from the
 * `access_token` query parameter (RFC 6750 §2.3). Digests are compared in constant time.
 */
export function bearerToken(token: string): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    const header = c.req.header('authorization');
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : c.req.query('access_token');
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="sluice"');
      throw new HttpError(401, 'unauthorized', given === undefined ? 'a bearer token is required' : 'the bearer token is not valid');
    }
    await next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
