import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HttpError } from './errors.js';

/** Default largest request body: 1 MB. A run's input is repeated in each checkpoint, so it is kept modest. */
export const DEFAULT_BODY_LIMIT = 1_048_576;

export interface GuardOptions {
  /** Largest request body in bytes (default 1 MB); larger → 413 `body_too_large`. */
  bodyLimit: number;
  /**
   * When `true` (no token is set), `Host` must be a loopback name or one of `allowedHosts`, and an `Origin`
   * header, when sent, must name such a host or one of `allowedOrigins`: the defence against DNS rebinding
   * and cross-site requests for a server nobody authenticates to.
   */
  checkHosts: boolean;
  /** Host names (no port) accepted besides loopback ones, e.g. `['sluice.internal']`. */
  allowedHosts: readonly string[];
  /** Origins accepted besides those of the allowed hosts, e.g. `['https://ops.example.com']`. */
  allowedOrigins: readonly string[];
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every request passes here before its route: host and origin checks, the JSON content type on writes,
 * the body limit, and the security headers on every response (a strict CSP built from the page's own
 * inline scripts, `Referrer-Policy: no-referrer` — the inspector's URL may carry the token —, `nosniff`).
 */
export function guard(options: GuardOptions): MiddlewareHandler[] {
  const hosts = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  const origins = new Set(options.allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')));
  const allowedHost = (name: string) => isLoopback(name) || hosts.has(name);

  const headers: MiddlewareHandler = async (c, next) => {
    await next();
    // A route that set its own policy (the inspector page) keeps it.
    let policy = c.res.headers.get('Content-Security-Policy') ?? API_POLICY;
    if (!c.res.headers.has('Content-Security-Policy') && (c.res.headers.get('content-type') ?? '').startsWith('text/html')) {
      // The page's policy hashes its own inline scripts, so it is read here (it is small) and sent again.
      const html = await c.res.text();
      policy = pagePolicy(html);
      c.res = new Response(html, { status: c.res.status, headers: c.res.headers });
    }
    for (const [name, value] of Object.entries(securityHeaders(policy))) c.res.headers.set(name, value);
  };

  const origin: MiddlewareHandler = async (c, next) => {
    if (options.checkHosts) {
      const host = hostName(c.req.header('host') ?? new URL(c.req.url).host);
      if (host === undefined || !allowedHost(host)) {
        throw new HttpError(421, 'host_not_allowed', 'the Host header names a host this server does not answer for; add it to allowedHosts or set a token');
      }
      const from = c.req.header('origin');
      if (from !== undefined) {
        const name = originHost(from);
        if (!origins.has(from.toLowerCase()) && (name === undefined || !allowedHost(name))) {
          throw new HttpError(403, 'origin_not_allowed', 'cross-origin requests are refused; add the origin to allowedOrigins or set a token');
        }
      }
    }
    await next();
  };

  const contentType: MiddlewareHandler = async (c, next) => {
    if (WRITES.has(c.req.method) && !isJson(c.req.header('content-type'))) {
      throw new HttpError(415, 'unsupported_media_type', 'write requests must be sent with Content-Type: application/json');
    }
    await next();
  };

  const limit = bodyLimit({
    maxSize: options.bodyLimit,
    onError: () => {
      throw new HttpError(413, 'body_too_large', `the request body is larger than ${options.bodyLimit} bytes`, { limit: options.bodyLimit });
    },
  });

  return [headers, origin, contentType, limit];
}

const API_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** The headers every response carries; `policy` is the Content-Security-Policy (the API's deny-all by default). */
export function securityHeaders(policy: string = API_POLICY): Record<string, string> {
  return { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY', 'Content-Security-Policy': policy };
}

const policies = new Map<string, string>();

/** Scripts by hash (only the page's own inline ones, or same-origin files), no plugins, no framing, no forms elsewhere. */
function pagePolicy(html: string): string {
  let policy = policies.get(html);
  if (policy === undefined) {
    const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
      (m) => `'sha256-${createHash('sha256').update(m[1] ?? '').digest('base64')}'`,
    );
    policy = [
      "default-src 'self'",
      `script-src 'self' ${hashes.join(' ')}`.trim(),
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; ');
    if (policies.size > 16) policies.clear();
    policies.set(html, policy);
  }
  return policy;
}

/** `application/json` or any `+json` type, with parameters such as `charset`. */
function isJson(type: string | undefined): boolean {
  if (type === undefined) return false;
  const essence = type.split(';')[0]!.trim().toLowerCase();
  return essence === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(essence);
}

/** `example.com:8080` → `example.com`; `[::1]:80` → `::1`; anything malformed → undefined. */
export function hostName(host: string): string | undefined {
  const value = host.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(value);
  if (v6 !== null) return v6[1];
  const plain = /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(value);
  return plain === null ? undefined : plain[1]!.replace(/\.$/, '');
}

function originHost(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return hostName(url.host);
  } catch {
    return undefined;
  }
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and `::1`: names that can only reach this machine. */
export function isLoopback(name: string): boolean {
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '::1' ||
    name === '0:0:0:0:0:0:0:1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}
