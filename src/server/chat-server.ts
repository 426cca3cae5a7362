import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { InboxPage, MediaInfo } from '../domain';
import { ValidationError } from '../domain';
import type { Clock, Transport } from '../ports';
import type { Authenticate } from './authenticate';
import { identify, refusalOf } from './authenticate';
import { methodNotAllowed, sendError } from './http-answers';
import type { MediaRouteContext } from './media-routes';
import type { UploadLimits } from './upload-limits';
import { UploadLimiter } from './upload-limits';
import { OriginPolicy } from './origins';
import { HttpError } from '../util/http-error';
import type { UserLimitsOptions } from '../util/user-limits';
import { UserLimits } from '../util/user-limits';
import { serveMedia } from './media-routes';
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
  /** A photo's bytes for its uploader or a member of a thread it was sent in. Without it, `GET /media/:id` answers 503. */
  getMedia?(userId: string, mediaId: string): Promise<{ info: MediaInfo; bytes: Uint8Array }>;
  /** The system's media limits; `maxBytes` bounds an upload's body when `maxUploadBytes` is not given. */
  readonly mediaLimits?: { readonly maxBytes: number } | undefined;
  /** Where held long-polls read inbox entries; long-poll needs it. */
  readonly store?: { readInbox(userId: string, after: number, limit: number): Promise<InboxPage> };
}

export type { Authenticate } from './authenticate';
export type { UploadLimits } from './upload-limits';

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
  /**
   * Browser origins allowed besides the server's own (`https://app.example.com`; `'*'` for any). A request whose
   * `Origin` is not allowed is refused with 403 at the upgrade, on `/poll` and on `/media`; one without `Origin` (a
   * native client) passes. Allowed origins get CORS answers on `/poll` and `/media`. Default: the own origin only.
   */
  readonly allowedOrigins?: readonly string[];
  /** Limits per connection: frame size, buffered bytes, heartbeat, rate. */
  readonly limits?: WebSocketLimits;
  /**
   * Limits per user across all of their connections and both transports: at most `maxConnectionsPerUser` open
   * (default 16; the next gets 429 at the upgrade, or on the link's first request), a frame budget `rate` (default
   * twice the per-connection rate), and optionally `maxConnectionsPerAddress` per client address (off by default).
   */
  readonly userLimits?: UserLimitsOptions;
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
  /**
   * Limits of `POST /media` per user: `maxInFlightPerUser` uploads at once (default 2) and
   * `maxBytesPerMinutePerUser` (default 64 MiB, refilled continuously); past either, 429 with `Retry-After`,
   * before the body is read. They run on the system's clock.
   */
  readonly uploadLimits?: UploadLimits;
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
 * or `?token=`), checks its `Origin` (the server's own, or `allowedOrigins`) and the user's connection count, and
 * hands the socket to a `WebSocketTransport` attached to the system. A refused upgrade gets 401, 403, 429 or 400
 * before any WebSocket exists. The query parameters `deviceId` (default `'default'`) and `foreground`
 * (`true`/`false`, default `true`) describe the device. `/poll` and `/media` check the `Origin` the same way and
 * answer CORS (preflights included) for allowed origins; `docs/security.md` lists every limit.
 *
 * HTTP routes (on the server it creates; with your own `server`, route requests to `handleRequest`):
 * - `GET /health` → 200 `ok`.
 * - `POST /media` (`Authorization: Bearer <token>`; the body is the image; `Content-Type` is only a claim) →
 *   201 `{ mediaId, thumbnailId, mimeType, bytes, width, height }`. A body over `maxUploadBytes` gets 413 as soon
 *   as it passes the limit (at once when `Content-Length` says so). Send a photo message with the answered media
 *   to share it.
 * - `GET /media/:id` (`Authorization: Bearer <token>`) → 200 with the bytes, their sniffed `Content-Type`,
 *   `X-Content-Type-Options: nosniff`, `Content-Security-Policy: default-src 'none'; sandbox` and a private,
 *   immutable `Cache-Control`. Its uploader and the members of a thread it was sent in get it: anyone else gets
 *   404, the same answer as for an id that does not exist, so ids cannot be probed.
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
  const { system, auth } = options;
  if (typeof auth !== 'function') throw new ValidationError('auth must be a function');
  const origins = new OriginPolicy(options.allowedOrigins);
  const maxUploadBytes = options.maxUploadBytes ?? system.mediaLimits?.maxBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  if (!Number.isSafeInteger(maxUploadBytes) || maxUploadBytes < 1) {
    throw new ValidationError('maxUploadBytes must be a positive integer', {
      details: { field: 'maxUploadBytes' },
    });
  }
  const uploads = new UploadLimiter(options.uploadLimits, system.clock);
  const serveWebSocket = options.transports?.websocket ?? true;
  // Long-poll reads inboxes from the store: on by default when the system has one.
  const serveLongPoll = options.transports?.longPoll ?? system.store !== undefined;
  const clock = system.clock === undefined ? {} : { clock: system.clock };
  const now = (): number => system.clock?.now() ?? Date.now();
  const userLimits = new UserLimits({ ...userRateFor(options.limits?.rate), ...options.userLimits }, now);
  const transport = new WebSocketTransport({
    ...clock,
    userLimits,
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
      userLimits,
      ...(options.longPollLimits === undefined ? {} : { limits: options.longPollLimits }),
    });
    system.attach(longPoll);
  }

  const owned = options.server === undefined;
  let closing = false;
  const media: MediaRouteContext = { system, auth, maxUploadBytes, uploads, isClosing: () => closing };
  const handleRequest = (request: IncomingMessage, response: ServerResponse): boolean => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (path === '/health') return serveHealth(request, response);
    const methods = corsMethods(path, longPoll !== undefined);
    if (methods === undefined) return false;
    if (request.method === 'OPTIONS') {
      origins.preflight(request, response, methods);
      return true;
    }
    if (!origins.allows(request)) {
      sendError(response, 403, 'FORBIDDEN', 'origin not allowed');
      return true;
    }
    origins.expose(request, response);
    if (longPoll !== undefined && path === '/poll') {
      servePoll(longPoll, request, response);
      return true;
    }
    return serveMedia(media, request, response, path);
  };
  const servePoll = (lp: LongPollTransport, request: IncomingMessage, response: ServerResponse): void => {
    if (closing) return sendError(response, 503, 'UNAVAILABLE', 'the chat server is shutting down');
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
    if (!origins.allows(request)) return refuseUpgrade(socket, 403, 'origin not allowed');
    void identify(request, auth).then(
      (identity) => {
        if (closing) return refuseUpgrade(socket, 503, 'the chat server is shutting down');
        const slot = userLimits.admit(identity.userId, request.socket.remoteAddress);
        if (slot instanceof HttpError) return refuseUpgrade(socket, slot.status, slot.message, slot.headers);
        // The socket closes when the connection ends, or when the handshake fails: either way the place is free.
        socket.once('close', () => slot.release());
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

/** A user's default frame budget: twice a connection's rate when that is raised (load tests raise both). */
function userRateFor(connection: WebSocketLimits['rate']): { rate?: { frames: number; perMs: number } } {
  const frames = connection?.frames;
  if (connection === undefined || typeof frames !== 'number' || !Number.isSafeInteger(frames * 2)) return {};
  return { rate: { frames: Math.max(frames * 2, 100), perMs: connection.perMs } };
}

/** The methods a path with CORS takes (`/poll`, `/media`, `/media/:id`); `undefined` for any other path. */
function corsMethods(path: string, longPoll: boolean): string | undefined {
  if (path === '/poll') return longPoll ? 'GET, POST, DELETE' : undefined;
  if (path === '/media') return 'POST';
  return /^\/media\/[^/]+$/.test(path) ? 'GET, HEAD' : undefined;
}

/** `GET /health`: 200 `ok` while the process serves. */
function serveHealth(request: IncomingMessage, response: ServerResponse): true {
  const method = request.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(response, 'GET, HEAD');
  response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(method === 'HEAD' ? undefined : 'ok');
  return true;
}

/** Destroys the socket that emitted an error (`this`). */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** The default of `maxUploadBytes` when the system says nothing: 16 MiB. */
const DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024;
