import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { InboxPage, MediaInfo } from '../domain';
import { ChatRoomError, ValidationError, requireId } from '../domain';
import type { Clock, ConnectionIdentity, Transport } from '../ports';
import { HttpError } from '../util/http-error';
import { readBody } from '../util/read-body';
import type { LongPollLimits } from '../adapters/long-poll';
import { LongPollTransport } from '../adapters/long-poll';
import type { WebSocketLimits } from '../adapters/ws';
import { WebSocketTransport, refuseUpgrade } from '../adapters/ws';

/** What the server needs of the chat system (a `ChatSystem` fits). */
export interface ChatServerSystem {
  /** Serves devices over another transport. */
  attach(transport: Transport): void;
  /** The system's clock; heartbeats and rate limits run on it. */
  readonly clock?: Clock;
  /**
   * Runs an upload through the media pipeline (sniffed type, byte and pixel limits, re-encoded, thumbnailed) and
   * stores it, owned by the user. Without it, `POST /media` answers 503.
   */
  uploadMedia?(userId: string, bytes: Uint8Array, claimedType?: string): Promise<MediaInfo>;
  /** A photo's bytes for a member of a thread it was sent in. Without it, `GET /media/:id` answers 503. */
  getMedia?(userId: string, mediaId: string): Promise<{ info: MediaInfo; bytes: Uint8Array }>;
  /** The system's media limits; `maxBytes` bounds an upload's body when `maxUploadBytes` is not given. */
  readonly mediaLimits?: { readonly maxBytes: number } | undefined;
  /** Where held long-polls read inbox entries; long-poll needs it. */
  readonly store?: { readInbox(userId: string, after: number, limit: number): Promise<InboxPage> };
}

/**
 * Turns a bearer token into the id of the user it belongs to; throw (or return `undefined`) to refuse with 401.
 * `createTokenAuth(...).verify` fits.
 */
export type Authenticate = (token: string) => Promise<string | undefined> | string | undefined;

/** Options of `createChatServer`. */
export interface ChatServerOptions {
  /** The chat system to serve. */
  readonly system: ChatServerSystem;
  /** Who is connecting; see `Authenticate`. */
  readonly auth: Authenticate;
  /** The port to listen on; 0 (the default) picks a free one. Ignored with `server`. */
  readonly port?: number;
  /** The interface to listen on. Default `'127.0.0.1'`. Ignored with `server`. */
  readonly host?: string;
  /**
   * An existing HTTP server to attach to (it must already listen, or be started by its owner): only its
   * `upgrade` event is handled, its requests are left alone, and `close()` does not close it.
   */
  readonly server?: http.Server;
  /** When given, an upgrade whose `Origin` header is not in the list is refused with 403. */
  readonly allowedOrigins?: readonly string[];
  /** Limits per connection: frame size, buffered bytes, heartbeat, rate. */
  readonly limits?: WebSocketLimits;
  /**
   * Which transports to serve. Default: WebSocket, and long-poll when the system has a `store`. Without WebSocket,
   * every upgrade is refused with 426.
   */
  readonly transports?: { readonly websocket?: boolean; readonly longPoll?: boolean };
  /** Limits of the long-poll transport: poll timeout (25 s), lease (35 s), request and frame sizes, rate. */
  readonly longPollLimits?: LongPollLimits;
  /**
   * The largest body `POST /media` reads, in bytes; a larger one is refused with 413 as soon as it passes the
   * limit. Default: the system's `mediaLimits.maxBytes`, else 16 MiB.
   */
  readonly maxUploadBytes?: number;
}

/** A running chat server. */
export interface ChatServer {
  /** The WebSocket URL, as `ws://host:port/`. */
  readonly url: string;
  /** The same server as `http://host:port/`: long-poll is at `/poll`, photos at `/media`. */
  readonly httpUrl: string;
  /** The port it listens on. */
  readonly port: number;
  /** The transport serving the sockets. */
  readonly transport: WebSocketTransport;
  /** The long-poll transport, when it is served. */
  readonly longPoll: LongPollTransport | undefined;
  /**
   * Serves the HTTP routes (`/health`, `/media`) on a request; returns `false`, answering nothing, for any other
   * path. With your own `server`, call it from your request handler to offer the routes there too.
   */
  handleRequest(request: IncomingMessage, response: ServerResponse): boolean;
  /** Stops accepting, closes every socket with 1001, and closes the HTTP server if it created it. */
  close(): Promise<void>;
}

/**
 * Starts a WebSocket chat server: an HTTP server that authenticates each upgrade (`Authorization: Bearer <token>`
 * or `?token=`), checks its `Origin`, and hands the socket to a `WebSocketTransport` attached to the system. A
 * refused upgrade gets 401, 403 or 400 before any WebSocket exists. The query parameters `deviceId` (default
 * `'default'`) and `foreground` (`true`/`false`, default `true`) describe the device.
 *
 * HTTP routes (on the server it creates; with your own `server`, route requests to `handleRequest`):
 * - `GET /health` → 200 `ok`.
 * - `POST /media` (`Authorization: Bearer <token>`; the body is the image; `Content-Type` is only a claim) →
 *   201 `{ mediaId, thumbnailId, mimeType, bytes, width, height }`. A body over `maxUploadBytes` gets 413 as soon
 *   as it passes the limit (at once when `Content-Length` says so). Send a photo message with the answered media
 *   to share it.
 * - `GET /media/:id` (`Authorization: Bearer <token>`) → 200 with the bytes, their sniffed `Content-Type`,
 *   `X-Content-Type-Options: nosniff`, `Content-Security-Policy: default-src 'none'; sandbox` and a private,
 *   immutable `Cache-Control`. Only members of a thread the photo was sent in get it: anyone else gets 404, the
 *   same answer as for an id that does not exist, so ids cannot be probed.
 *
 * - `/poll`: HTTP long-poll (`LongPollTransport`, `chat-room/long-poll`) for networks that block WebSockets, with
 *   the same token (header or `?token=`), `deviceId` and `foreground`, plus a `link` id the client makes up:
 *   `GET /poll?link&after&wait` is held until there are frames or inbox entries after `after` (else answers
 *   `{ frames: [] }` after `wait`, at most 25 s); `POST /poll?link` takes a JSON array of frames and answers
 *   `{ frames }` with their replies; `DELETE /poll?link` hangs up. A link whose requests stop for 35 s is closed.
 *
 * Errors are JSON `{ code, message }`: 400 `VALIDATION`, 401 `UNAUTHORIZED`, 403 `FORBIDDEN`, 404 `NOT_FOUND`,
 * 405 `METHOD_NOT_ALLOWED`, 413 `PAYLOAD_TOO_LARGE`, 429 `RATE_LIMITED` (with `Retry-After`), 503 `UNAVAILABLE`
 * (no image processor, or shutting down) and 500 `INTERNAL` with a generic message.
 *
 * @param options - system, auth, address, origins, limits
 * @returns the server, once it listens
 * @throws ValidationError when an option is malformed
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { createChatServer } from 'chat-room/server'
 * import { createTokenAuth } from 'chat-room/ws'
 * const system = ChatSystem.create()
 * const tokens = createTokenAuth({ secret: process.env.CHAT_SECRET! })
 * const server = await createChatServer({ system, auth: tokens.verify, port: 8080 })
 * // a device connects to `${server.url}?token=...&deviceId=phone`
 * await server.close()
 * ```
 */
export async function createChatServer(options: ChatServerOptions): Promise<ChatServer> {
  const { system, auth, allowedOrigins } = options;
  if (typeof auth !== 'function') throw new ValidationError('auth must be a function');
  if (allowedOrigins !== undefined && !Array.isArray(allowedOrigins)) {
    throw new ValidationError('allowedOrigins must be an array of origins');
  }
  const maxUploadBytes = options.maxUploadBytes ?? system.mediaLimits?.maxBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  if (!Number.isSafeInteger(maxUploadBytes) || maxUploadBytes < 1) {
    throw new ValidationError('maxUploadBytes must be a positive integer', {
      details: { field: 'maxUploadBytes' },
    });
  }
  const serveWebSocket = options.transports?.websocket ?? true;
  // Long-poll reads inboxes from the store: on by default when the system has one.
  const serveLongPoll = options.transports?.longPoll ?? system.store !== undefined;
  const clock = system.clock === undefined ? {} : { clock: system.clock };
  const transport = new WebSocketTransport({
    ...clock,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  if (serveWebSocket) system.attach(transport);
  let longPoll: LongPollTransport | undefined;
  if (serveLongPoll) {
    const store = system.store;
    if (store === undefined)
      throw new ValidationError('long-poll needs a system with a store to read inboxes from');
    longPoll = new LongPollTransport({
      ...clock,
      readInbox: (userId, after, limit) => store.readInbox(userId, after, limit),
      ...(options.longPollLimits === undefined ? {} : { limits: options.longPollLimits }),
    });
    system.attach(longPoll);
  }

  const owned = options.server === undefined;
  let closing = false;
  const routes: RouteContext = { system, auth, maxUploadBytes, isClosing: () => closing };
  const handleRequest = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (longPoll !== undefined && (request.url ?? '/').split('?')[0] === '/poll') {
      servePoll(longPoll, request, response);
      return true;
    }
    return route(routes, request, response);
  };
  const servePoll = (lp: LongPollTransport, request: IncomingMessage, response: ServerResponse): void => {
    if (closing) return sendError(response, 503, 'UNAVAILABLE', 'the chat server is shutting down');
    const origin = request.headers.origin;
    if (allowedOrigins !== undefined && origin !== undefined && !allowedOrigins.includes(origin)) {
      return sendError(response, 403, 'FORBIDDEN', 'origin not allowed');
    }
    void identify(request, auth).then(
      (identity) => lp.handle(request, response, identity),
      (error: unknown) => {
        const refusal = refusalOf(error);
        sendError(response, refusal.status, refusal.code, refusal.message, refusal.headers);
      },
    );
  };
  const server =
    options.server ??
    http.createServer((request, response) => {
      if (!handleRequest(request, response)) sendError(response, 404, 'NOT_FOUND', 'not found');
    });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A socket that fails while we authenticate must not crash the process. (A module-level listener: a closure
    // would keep this request alive for as long as the socket.)
    socket.on('error', destroySocket);
    if (closing) return refuseUpgrade(socket, 503, 'the chat server is shutting down');
    if (!serveWebSocket) return refuseUpgrade(socket, 426, 'this server speaks long-poll: use /poll');
    const origin = request.headers.origin;
    if (allowedOrigins !== undefined && origin !== undefined && !allowedOrigins.includes(origin)) {
      return refuseUpgrade(socket, 403, 'origin not allowed');
    }
    void identify(request, auth).then(
      (identity) => {
        if (closing) return refuseUpgrade(socket, 503, 'the chat server is shutting down');
        transport.handleUpgrade(request, socket, head, identity);
        // Once ws has the socket it listens for errors itself (and destroys the socket on one).
        if (socket.listenerCount('error') > 1) socket.off('error', destroySocket);
      },
      (error: unknown) => {
        const refusal = refusalOf(error);
        refuseUpgrade(socket, refusal.status, refusal.message);
      },
    );
  };
  server.on('upgrade', onUpgrade);

  if (owned) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } else if (!server.listening) {
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `ws://${host}:${address.port}/`,
    httpUrl: `http://${host}:${address.port}/`,
    port: address.port,
    transport,
    longPoll,
    handleRequest,
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      server.off('upgrade', onUpgrade);
      await longPoll?.close();
      await transport.close();
      if (owned) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
    },
  };
}

/** Destroys the socket that emitted an error (`this`). */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** The default of `maxUploadBytes` when the system says nothing: 16 MiB. */
const DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

/** The headers of every served photo: never sniffed or run as a document, cached privately for good. */
const MEDIA_HEADERS = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cache-Control': 'private, max-age=31536000, immutable',
});

/** The HTTP status of each error code; any other code (or a foreign error) is a 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  VALIDATION: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
});

/** What the HTTP routes need. */
interface RouteContext {
  readonly system: ChatServerSystem;
  readonly auth: Authenticate;
  readonly maxUploadBytes: number;
  isClosing(): boolean;
}

/** Serves `/health` and `/media`; `false` for any other path. */
function route(context: RouteContext, request: IncomingMessage, response: ServerResponse): boolean {
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  const method = request.method ?? 'GET';
  if (path === '/health') {
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(response, 'GET, HEAD');
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    response.end(method === 'HEAD' ? undefined : 'ok');
    return true;
  }
  if (path === '/media') {
    if (method !== 'POST') return methodNotAllowed(response, 'POST');
    void upload(context, request, response).catch((error: unknown) => answerError(request, response, error));
    return true;
  }
  const match = /^\/media\/([^/]+)$/.exec(path);
  if (match !== null) {
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(response, 'GET, HEAD');
    void download(context, request, response, match[1] ?? '').catch((error: unknown) =>
      answerError(request, response, error),
    );
    return true;
  }
  return false;
}

/** `POST /media`: authenticate, read the body up to the limit, run the pipeline, answer 201 with the media. */
async function upload(
  context: RouteContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const { system, maxUploadBytes } = context;
  if (context.isClosing()) throw new HttpError(503, 'UNAVAILABLE', 'the chat server is shutting down');
  const userId = await authenticate(request, context.auth);
  if (typeof system.uploadMedia !== 'function') {
    throw new HttpError(503, 'UNAVAILABLE', 'this server does not accept uploads');
  }
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxUploadBytes) throw tooLarge(maxUploadBytes);
  const bytes = await readBody(request, maxUploadBytes, () => tooLarge(maxUploadBytes));
  if (bytes.byteLength === 0) throw new HttpError(400, 'VALIDATION', 'the body must be the image');
  const info = await system.uploadMedia(userId, bytes, claimedType(request.headers['content-type']));
  const body = {
    mediaId: info.mediaId,
    thumbnailId: info.thumbnailId,
    mimeType: info.mimeType,
    bytes: info.bytes,
    width: info.width,
    height: info.height,
  };
  sendJson(response, 201, body, { Location: `/media/${encodeURIComponent(info.mediaId)}` });
}

/** `GET /media/:id`: authenticate, fetch as the user (members only), serve the bytes with safe headers. */
async function download(
  context: RouteContext,
  request: IncomingMessage,
  response: ServerResponse,
  rawId: string,
): Promise<void> {
  const { system } = context;
  const userId = await authenticate(request, context.auth);
  if (typeof system.getMedia !== 'function') {
    throw new HttpError(503, 'UNAVAILABLE', 'this server does not serve media');
  }
  let mediaId: string;
  try {
    mediaId = decodeURIComponent(rawId);
  } catch {
    throw new HttpError(400, 'VALIDATION', 'malformed media id');
  }
  let media: { info: MediaInfo; bytes: Uint8Array };
  try {
    media = await system.getMedia(userId, mediaId);
  } catch (error) {
    // A non-member learns nothing, not even that the id exists: the same 404 as for a missing photo.
    if (ChatRoomError.is(error) && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND')) {
      throw new HttpError(404, 'NOT_FOUND', 'no such media');
    }
    throw error;
  }
  const { info, bytes } = media;
  response.writeHead(200, {
    ...MEDIA_HEADERS,
    'Content-Type': info.mimeType,
    'Content-Length': String(bytes.byteLength),
  });
  response.end(
    request.method === 'HEAD' ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  );
}

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
async function authenticate(
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

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'UNAUTHORIZED', message, { 'WWW-Authenticate': 'Bearer' });
}

/** The refusal to answer a failed `identify` with: its own, or 401 for anything unexpected. */
function refusalOf(error: unknown): HttpError {
  return error instanceof HttpError ? error : unauthorized('unauthorized');
}

/** The media type a client claims, without parameters; `undefined` when it claims nothing specific. */
function claimedType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type === undefined || type.length === 0 || type === 'application/octet-stream' ? undefined : type;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the upload is over ${limit} bytes`);
}

/** Answers an error as JSON `{ code, message }`; the message of an unexpected error is never shown. */
function answerError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
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
function methodNotAllowed(response: ServerResponse, allow: string): true {
  sendError(response, 405, 'METHOD_NOT_ALLOWED', `use ${allow}`, { Allow: allow });
  return true;
}

function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(response, status, { code, message }, headers);
}

function sendJson(
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

/** Authenticates an upgrade or a long-poll request and reads the device from the query. */
async function identify(request: IncomingMessage, auth: Authenticate): Promise<ConnectionIdentity> {
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
