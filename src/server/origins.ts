import type { IncomingMessage, ServerResponse } from 'node:http';
import { ValidationError } from '../domain';
import { sendError } from './http-answers';

/** How long a browser may cache a preflight's answer (s). */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * Which browser origins may use the server, and the CORS answers they get. A request without `Origin` is a native
 * client (or a same-origin `GET`) and always passes: the origin check protects users' browsers, not the server.
 *
 * @example
 * ```ts
 * const origins = new OriginPolicy(['https://chat.example.com'])
 * origins.allows(request) // true for the server's own origin, the listed ones, and requests without Origin
 * ```
 */
export class OriginPolicy {
  readonly #any: boolean;
  readonly #allowed: ReadonlySet<string>;

  /**
   * @param allowed - origins allowed besides the server's own (`https://app.example.com`); `'*'` allows every one
   * @throws ValidationError when an entry is not an origin
   */
  constructor(allowed: readonly string[] = []) {
    if (!Array.isArray(allowed)) throw new ValidationError('allowedOrigins must be an array of origins');
    this.#any = allowed.includes('*');
    this.#allowed = new Set(allowed.filter((o) => o !== '*').map(normalOrigin));
  }

  /** Whether a request's `Origin` (if any) may use the server: none, the server's own, or an allowed one. */
  allows(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    if (this.#any || this.#allowed.has(origin)) return true;
    const host = request.headers.host;
    return host !== undefined && (origin === ownOrigin('http', host) || origin === ownOrigin('https', host));
  }

  /**
   * Adds the CORS headers an allowed cross-origin request needs to its answer (set before it is written).
   *
   * @param request - an allowed request
   * @param response - its answer, not yet written
   */
  expose(request: IncomingMessage, response: ServerResponse): void {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Access-Control-Expose-Headers', 'Retry-After, Location');
    response.setHeader('Vary', 'Origin');
  }

  /**
   * Answers a preflight (`OPTIONS`): 204 with the methods and headers for an allowed origin, 403 without any CORS
   * header for another.
   *
   * @param request - the `OPTIONS` request
   * @param response - where the answer goes
   * @param methods - the methods the path takes (`'GET, POST, DELETE'`)
   */
  preflight(request: IncomingMessage, response: ServerResponse, methods: string): void {
    if (!this.allows(request)) return sendError(response, 403, 'FORBIDDEN', 'origin not allowed');
    this.expose(request, response);
    response.writeHead(204, {
      Allow: `${methods}, OPTIONS`,
      'Access-Control-Allow-Methods': methods,
      'Access-Control-Allow-Headers': 'authorization, content-type',
      'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_S),
      'Cache-Control': 'no-store',
    });
    response.end();
  }
}

/** An origin as browsers send it (`scheme://host[:port]`, default port left out). */
function normalOrigin(entry: string): string {
  let url: URL | undefined;
  try {
    url = new URL(entry);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.origin !== entry.replace(/\/$/, '')
  ) {
    throw new ValidationError(
      `allowedOrigins: '${entry}' is not an origin such as https://chat.example.com (scheme, host, optional port)`,
      { details: { field: 'allowedOrigins' } },
    );
  }
  return url.origin;
}

/** The origin a page served by this host would have; `undefined` for a malformed `Host`. */
function ownOrigin(scheme: 'http' | 'https', host: string): string | undefined {
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}
