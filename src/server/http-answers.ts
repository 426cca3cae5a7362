import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatRoomError } from '../domain';
import { HttpError } from '../util/http-error';

/** The HTTP status of each error code; any other code (or a foreign error) is a 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  VALIDATION: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
});

/** Answers an error as JSON `{ code, message }`; the message of an unexpected error is never shown. */
export function answerError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  let status: number;
  let code: string;
  let message: string;
  if (error instanceof HttpError) {
    ({ status, code, message } = error);
    Object.assign(headers, error.headers);
  } else if (ChatRoomError.is(error) && STATUS_BY_CODE[error.code] !== undefined) {
    status = STATUS_BY_CODE[error.code] ?? 500;
    code = error.code;
    message = error.message;
    if (error.details.reason === 'NO_IMAGE_PROCESSOR') [status, code] = [503, 'UNAVAILABLE'];
    const retryAfterMs = error.details.retryAfterMs;
    if (typeof retryAfterMs === 'number')
      headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  } else {
    [status, code, message] = [500, 'INTERNAL', 'internal error'];
  }
  // A body left unread (401 before reading, 413 past the limit) is not drained: the connection closes instead.
  if (!request.complete) headers.Connection = 'close';
  sendError(response, status, code, message, headers);
  if (!request.complete) response.once('finish', () => request.destroy());
}

/** Answers 405 naming the allowed methods; returns `true` (the request is handled). */
export function methodNotAllowed(response: ServerResponse, allow: string): true {
  sendError(response, 405, 'METHOD_NOT_ALLOWED', `use ${allow}`, { Allow: allow });
  return true;
}

export function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(response, status, { code, message }, headers);
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const json = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(json)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(json);
}
