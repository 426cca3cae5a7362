import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ValidationError, requireId } from '../../domain';
import type { Clock, ConnectionIdentity, Transport } from '../../ports';
import type { WebSocketLimits } from './websocket-transport';
import { WebSocketTransport, refuseUpgrade } from './websocket-transport';

/** What the server needs of the chat system (a `ChatSystem` fits). */
export interface ChatServerSystem {
  /** Serves devices over another transport. */
  attach(transport: Transport): void;
  /** The system's clock; heartbeats and rate limits run on it. */
  readonly clock?: Clock;
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
}

/** A running chat server. */
export interface ChatServer {
  /** The WebSocket URL, as `ws://host:port/`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** The transport serving the sockets. */
  readonly transport: WebSocketTransport;
  /** Stops accepting, closes every socket with 1001, and closes the HTTP server if it created it. */
  close(): Promise<void>;
}

/**
 * Starts a WebSocket chat server: an HTTP server that authenticates each upgrade (`Authorization: Bearer <token>`
 * or `?token=`), checks its `Origin`, and hands the socket to a `WebSocketTransport` attached to the system. A
 * refused upgrade gets 401, 403 or 400 before any WebSocket exists. `GET /health` answers `ok`. The query
 * parameters `deviceId` (default `'default'`) and `foreground` (`true`/`false`, default `true`) describe the
 * device.
 *
 * @param options - system, auth, address, origins, limits
 * @returns the server, once it listens
 * @throws ValidationError when an option is malformed
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { createChatServer, createTokenAuth } from 'chat-room/ws'
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
  const transport = new WebSocketTransport({
    ...(system.clock === undefined ? {} : { clock: system.clock }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  system.attach(transport);

  const owned = options.server === undefined;
  const server = options.server ?? http.createServer(health);
  let closing = false;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A socket that fails while we authenticate must not crash the process.
    socket.on('error', () => socket.destroy());
    if (closing) return refuseUpgrade(socket, 503, 'the chat server is shutting down');
    const origin = request.headers.origin;
    if (allowedOrigins !== undefined && origin !== undefined && !allowedOrigins.includes(origin)) {
      return refuseUpgrade(socket, 403, 'origin not allowed');
    }
    void identify(request, auth).then(
      (identity) => {
        if (closing) refuseUpgrade(socket, 503, 'the chat server is shutting down');
        else transport.handleUpgrade(request, socket, head, identity);
      },
      (error: unknown) => {
        const status = error instanceof UpgradeRefusal ? error.status : 401;
        refuseUpgrade(socket, status, error instanceof UpgradeRefusal ? error.message : 'unauthorized');
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
    port: address.port,
    transport,
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      server.off('upgrade', onUpgrade);
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

/** `GET /health` → 200 `ok`; anything else → 404. */
function health(request: IncomingMessage, response: ServerResponse): void {
  const path = (request.url ?? '/').split('?')[0];
  const ok = path === '/health' && (request.method === 'GET' || request.method === 'HEAD');
  response.writeHead(ok ? 200 : 404, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(ok ? 'ok' : 'not found');
}

/** A refusal with its HTTP status and a message safe to show. */
class UpgradeRefusal extends Error {
  override name = 'UpgradeRefusal';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Authenticates an upgrade and reads the device from the query. */
async function identify(request: IncomingMessage, auth: Authenticate): Promise<ConnectionIdentity> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const header = request.headers.authorization;
  const bearer = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  const token = bearer ?? url.searchParams.get('token') ?? undefined;
  if (token === undefined || token.length === 0) throw new UpgradeRefusal(401, 'missing token');
  let userId: string | undefined;
  try {
    userId = await auth(token);
  } catch {
    throw new UpgradeRefusal(401, 'unauthorized');
  }
  if (typeof userId !== 'string' || userId.length === 0) throw new UpgradeRefusal(401, 'unauthorized');
  const deviceId = url.searchParams.get('deviceId') ?? 'default';
  try {
    requireId(deviceId, 'deviceId');
  } catch {
    throw new UpgradeRefusal(400, 'deviceId must be 1-128 characters of letters, digits and _ . : @ -');
  }
  const foreground = url.searchParams.get('foreground') ?? 'true';
  if (foreground !== 'true' && foreground !== 'false') {
    throw new UpgradeRefusal(400, 'foreground must be true or false');
  }
  return { userId, deviceId, foreground: foreground === 'true' };
}
