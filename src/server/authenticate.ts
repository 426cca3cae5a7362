import type { IncomingMessage } from 'node:http';
import { requireId } from '../domain';
import type { ConnectionIdentity } from '../ports';
import { HttpError } from '../util/http-error';

/**
 * Turns a bearer token into the id of the user it belongs to; throw (or return `undefined`) to refuse with 401.
 * `createTokenAuth(...).verify` fits.
 */
export type Authenticate = (token: string) => Promise<string | undefined> | string | undefined;

/** The token of an `Authorization: Bearer <token>` header; `undefined` when there is none. */
function bearerToken(header: string | undefined): string | undefined {
  return header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
}

/**
 * The user a request's token belongs to. The token comes from `Authorization: Bearer <token>`, or else, when
 * `query` is given (upgrades and long-poll: a browser cannot set headers on a WebSocket), from `?token=`.
 *
 * @param request - the request
 * @param auth - checks the token
 * @param query - the request's query parameters, where a token may also be
 * @throws HttpError 401 `UNAUTHORIZED` when there is no token or `auth` refuses it
 */
export async function authenticate(
  request: IncomingMessage,
  auth: Authenticate,
  query?: URLSearchParams,
): Promise<string> {
  const token = bearerToken(request.headers.authorization) ?? query?.get('token') ?? undefined;
  if (token === undefined || token.length === 0) {
    throw unauthorized(query === undefined ? 'missing bearer token' : 'missing token');
  }
  let userId: string | undefined;
  try {
    userId = await auth(token);
  } catch {
    throw unauthorized('unauthorized');
  }
  if (typeof userId !== 'string' || userId.length === 0) throw unauthorized('unauthorized');
  return userId;
}

export function unauthorized(message: string): HttpError {
  return new HttpError(401, 'UNAUTHORIZED', message, { 'WWW-Authenticate': 'Bearer' });
}

/** The refusal to answer a failed `identify` with: its own, or 401 for anything unexpected. */
export function refusalOf(error: unknown): HttpError {
  return error instanceof HttpError ? error : unauthorized('unauthorized');
}

/** Authenticates an upgrade or a long-poll request and reads the device from the query. */
export async function identify(request: IncomingMessage, auth: Authenticate): Promise<ConnectionIdentity> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const userId = await authenticate(request, auth, url.searchParams);
  const deviceId = url.searchParams.get('deviceId') ?? 'default';
  try {
    requireId(deviceId, 'deviceId');
  } catch {
    throw new HttpError(
      400,
      'VALIDATION',
      'deviceId must be 1-128 characters of letters, digits and _ . : @ -',
    );
  }
  const foreground = url.searchParams.get('foreground') ?? 'true';
  if (foreground !== 'true' && foreground !== 'false') {
    throw new HttpError(400, 'VALIDATION', 'foreground must be true or false');
  }
  return { userId, deviceId, foreground: foreground === 'true' };
}
