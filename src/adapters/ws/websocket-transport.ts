import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { ValidationError } from '../../domain';
import type {
  Clock,
  Connection,
  ConnectionIdentity,
  TimerHandle,
  Transport,
  TransportHandler,
} from '../../ports';
import type { ServerFrame } from '../../protocol';
import { refOf } from '../../protocol';
import { resolveLimits } from '../../util/limits';
import { SystemClock } from '../../util/system-clock';
import type { Rate } from '../../util/token-bucket';
import { FramePacer } from '../../util/frame-pacer';
import type { UserLimits } from '../../util/user-limits';

/** A token bucket: at most `frames` frames per `perMs` milliseconds, with bursts up to `frames`. */
export type RateLimit = Rate;

/** The limits each WebSocket connection is held to. */
export interface WebSocketLimits {
  /** The largest frame a device may send (bytes); a larger one closes the socket with 1009. Default 64 KiB. */
  readonly maxFrameBytes?: number;
  /** Bytes queued for a device past which it counts as a slow consumer and is cut off (1013). Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** How often the server pings (ms); a peer that has not answered by the next round is terminated. Default 30 s. */
  readonly heartbeatMs?: number;
  /** Frames a device may send; over it a frame is refused with `RATE_LIMITED`. Default 50 per second. */
  readonly rate?: RateLimit;
}

/** Options of the WebSocket transport. */
export interface WebSocketTransportOptions {
  /** The clock heartbeats and rate limits run on (the real clock by default). */
  readonly clock?: Clock;
  /** Limits per connection. */
  readonly limits?: WebSocketLimits;
  /** Makes connection ids (a random UUID by default). */
  readonly newId?: () => string;
  /** A frame budget per user shared across connections (and transports); every frame is charged to it too. */
  readonly userLimits?: UserLimits;
}

/** The close code for a slow consumer: try again later (reconnect and sync; the messages wait in the inbox). */
export const SLOW_CONSUMER_CLOSE_CODE = 1013;

/** The close code sent to every device when the server shuts down. */
export const GOING_AWAY_CLOSE_CODE = 1001;

/** How long a closing socket may take to finish the close handshake before it is destroyed (ms). */
const CLOSE_GRACE_MS = 2_000;

const DEFAULT_LIMITS: Required<WebSocketLimits> = {
  maxFrameBytes: 64 * 1024,
  maxBufferedBytes: 1024 * 1024,
  heartbeatMs: 30_000,
  rate: { frames: 50, perMs: 1_000 },
};

/**
 * The WebSocket transport: each authenticated socket becomes a `Connection`; JSON text frames go to the handler,
 * and the transport enforces the per-connection limits (frame size, rate, buffered bytes, heartbeats). It does
 * not listen on a port: the HTTP server authenticates an upgrade and hands it over with `handleUpgrade`
 * (`createChatServer` does this).
 *
 * @example
 * ```ts
 * import { WebSocketTransport } from 'chat-room/ws'
 * const transport = new WebSocketTransport({ limits: { heartbeatMs: 10_000 } })
 * chat.attach(transport)
 * server.on('upgrade', (req, socket, head) =>
 *   transport.handleUpgrade(req, socket, head, { userId: 'alice', deviceId: 'phone', foreground: true }))
 * ```
 */
export class WebSocketTransport implements Transport {
  readonly #clock: Clock;
  readonly #limits: Required<WebSocketLimits>;
  readonly #newId: () => string;
  readonly #userLimits: UserLimits | undefined;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<WebSocketConnection>();
  #handler: TransportHandler | undefined;
  #closing = false;
  #heartbeat: TimerHandle | undefined;

  /**
   * Creates a transport.
   *
   * @param options - clock, limits and id maker
   * @throws ValidationError when a limit is not a positive integer
   */
  constructor(options: WebSocketTransportOptions = {}) {
    this.#clock = options.clock ?? new SystemClock();
    this.#newId = options.newId ?? newUuid;
    this.#limits = resolveLimits(options.limits, DEFAULT_LIMITS);
    this.#userLimits = options.userLimits;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.#limits.maxFrameBytes,
      clientTracking: false,
      perMessageDeflate: false,
    });
  }

  /** The limits in force, defaults filled in. */
  get limits(): Readonly<Required<WebSocketLimits>> {
    return this.#limits;
  }

  /** How many sockets are open. */
  get openConnections(): number {
    return this.#connections.size;
  }

  listen(handler: TransportHandler): void {
    if (this.#handler !== undefined)
      throw new ValidationError('this transport already has a server listening');
    if (this.#closing) throw new ValidationError('this transport is closed');
    this.#handler = handler;
    this.#armHeartbeat();
  }

  /**
   * Completes an authenticated HTTP upgrade: the socket becomes a connection of `identity`. Call it only after
   * checking who is connecting; when the transport is not listening the upgrade is refused with 503.
   *
   * @param request - the upgrade request
   * @param socket - its socket
   * @param head - the first bytes after the request head
   * @param identity - the authenticated user, device and app state
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, identity: ConnectionIdentity): void {
    const handler = this.#handler;
    if (handler === undefined || this.#closing) {
      refuseUpgrade(socket, 503, 'the chat server is not accepting connections');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      if (this.#closing) {
        ws.close(GOING_AWAY_CLOSE_CODE, 'server shutting down');
        return;
      }
      const connection = new WebSocketConnection(this.#newId(), identity, ws, socket, handler, this);
      this.#connections.add(connection);
      handler.opened(connection);
    });
  }

  /** Closes every socket with 1001 (destroying those that do not answer in time) and stops. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#heartbeat !== undefined) this.#clock.clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
    await Promise.all(
      [...this.#connections].map((c) => c.shutDown(GOING_AWAY_CLOSE_CODE, 'server shutting down')),
    );
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#handler = undefined;
  }

  /** @internal */
  get clock(): Clock {
    return this.#clock;
  }

  /** @internal How long a frame of `userId` must wait under the shared per-user budget (0: it may pass). */
  userWait(userId: string): number {
    return this.#userLimits?.takeFrame(userId) ?? 0;
  }

  /** @internal */
  forget(connection: WebSocketConnection): void {
    this.#connections.delete(connection);
  }

  #armHeartbeat(): void {
    this.#heartbeat = this.#clock.setTimeout(() => {
      for (const connection of this.#connections) connection.heartbeat();
      if (!this.#closing) this.#armHeartbeat();
    }, this.#limits.heartbeatMs);
  }
}

/** One socket seen as a `Connection`; it reports `closed` to the handler exactly once. */
class WebSocketConnection implements Connection {
  readonly id: string;
  readonly identity: ConnectionIdentity;
  readonly #ws: WebSocket;
  /** The socket under `#ws`, corked while a tick's frames are written. */
  readonly #socket: Duplex;
  readonly #handler: TransportHandler;
  readonly #transport: WebSocketTransport;
  readonly #pacer: FramePacer;
  /** Whether the peer answered (or sent something) since the last heartbeat. */
  #alive = true;
  #corked = false;
  /** Set once the server stops talking to this socket: nothing more is sent or passed on. */
  #closing = false;
  /** Whether `closed` was reported. */
  #reported = false;
  /** Uncorks the socket at the end of the tick that corked it (one function per connection, not per tick). */
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket.uncork();
  };

  constructor(
    id: string,
    identity: ConnectionIdentity,
    ws: WebSocket,
    socket: Duplex,
    handler: TransportHandler,
    transport: WebSocketTransport,
  ) {
    this.id = id;
    this.identity = identity;
    this.#ws = ws;
    this.#socket = socket;
    this.#handler = handler;
    this.#transport = transport;
    this.#pacer = new FramePacer(transport.limits.rate, transport.clock.now());
    ws.on('message', (data, isBinary) => this.#received(data, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
    // ws reports protocol errors (an oversized frame: 1009) here and closes the socket itself.
    ws.on('error', () => undefined);
    ws.on('close', () => this.#gone());
  }

  send(frame: ServerFrame): void {
    if (this.#closing || this.#ws.readyState !== WebSocket.OPEN) return;
    // The frames of one tick (an ack, the sender's copy, a receipt...) leave in one write: the socket is corked
    // on the first and uncorked after the tick.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    // What was queued before this frame decides: one large frame (a full sync page) is not a slow consumer.
    const backlog = this.#ws.bufferedAmount;
    this.#ws.send(JSON.stringify(frame));
    if (backlog > this.#transport.limits.maxBufferedBytes) {
      // A slow consumer: cut it off rather than buffer without bound; what it missed waits in its inbox.
      void this.shutDown(SLOW_CONSUMER_CLOSE_CODE, 'slow consumer');
    }
  }

  close(reason = 'closed by server'): void {
    void this.shutDown(1000, reason);
  }

  /** @internal Pings, or terminates a peer that did not answer the previous ping. */
  heartbeat(): void {
    if (!this.#alive) {
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.ping();
  }

  /**
   * Starts the close handshake, reports `closed` at once (nothing more is sent), and destroys the socket if the
   * peer does not finish the handshake in time (a slow or dead peer never reads the close frame).
   */
  shutDown(code: number, reason: string): Promise<void> {
    const ws = this.#ws;
    this.#closing = true;
    // Reported after the current call returns: the handler may be in the middle of sending to this connection.
    queueMicrotask(() => this.#gone());
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.OPEN) ws.close(code, truncateReason(reason));
    });
  }

  #received(data: RawData, isBinary: boolean): void {
    if (this.#closing) return;
    this.#alive = true;
    // Malformed JSON and binary frames reach the gateway as `undefined`, which it refuses with VALIDATION, in
    // order with the connection's other frames.
    const frame = isBinary ? undefined : parseJson(rawText(data));
    const ref = refOf(frame);
    const retryAfterMs = this.#pacer.admit(ref, this.#transport.clock.now(), () =>
      this.#transport.userWait(this.identity.userId),
    );
    if (retryAfterMs > 0) {
      this.send({
        type: 'error',
        ...(ref === undefined ? {} : { ref }),
        code: 'RATE_LIMITED',
        message: `too many frames: retry after ${retryAfterMs} ms`,
        details: { retryAfterMs },
      });
      return;
    }
    this.#handler.received(this, frame);
  }

  #gone(): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#closing = true;
    this.#transport.forget(this);
    this.#handler.closed(this);
  }
}

/** A random UUID copied into one flat string: the connection keeps its id as long as it lives. */
function newUuid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A close reason is at most 123 bytes of UTF-8. */
function truncateReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  426: 'Upgrade Required',
  503: 'Service Unavailable',
};

/**
 * Answers an upgrade request with an HTTP error and closes the socket; no WebSocket is ever created.
 *
 * @param socket - the upgrade's socket
 * @param status - the HTTP status
 * @param message - the body (never a secret)
 * @param headers - more response headers (`Retry-After`)
 */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  socket.once('finish', () => socket.destroy());
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      extra +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
