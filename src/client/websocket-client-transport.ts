/**
 * The device side of the WebSocket transport, over the standard WebSocket API only — the browser's, Node ≥ 22's
 * global one, or any constructor with the same surface (the `ws` package's `WebSocket` in Node 20).
 *
 * @module
 */
import type { ClientFrame, ServerFrame } from '../protocol';
import type { ClientLink, ClientLinkHandler, ClientTransport, ConnectionIdentity } from '../ports';

/** The part of the standard `WebSocket` a client link uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code?: number; reason?: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/** A `WebSocket` constructor: `globalThis.WebSocket` in browsers and Node ≥ 22, `WebSocket` from `ws` in Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options of a `WebSocketClientTransport`. */
export interface WebSocketClientTransportOptions {
  /** The server's WebSocket URL, e.g. `ws://localhost:8080/` (a `ChatServer`'s `url`). */
  readonly url: string;
  /** The bearer token, sent as the `token` query parameter (browsers cannot set headers on a WebSocket). */
  readonly token: string;
  /** The WebSocket constructor; default `globalThis.WebSocket`. */
  readonly WebSocket?: WebSocketConstructor;
}

const OPEN = 1;
const NORMAL_CLOSURE = 1000;

/** The WebSocket constructor to use, or an explanation of why there is none. */
export function resolveWebSocket(given?: WebSocketConstructor): WebSocketConstructor {
  const ctor = given ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof ctor !== 'function') {
    throw new TypeError(
      'no WebSocket implementation: pass one as the `WebSocket` option (in Node 20: `import { WebSocket } from "ws"`)',
    );
  }
  return ctor;
}

/**
 * A `ClientTransport` over one WebSocket per link. The identity's `deviceId` and `foreground` travel as query
 * parameters with the token; the server derives the user from the token. Frames sent before the socket opens
 * are queued and flushed when it does; the handler hears `closed` exactly once.
 *
 * @example
 * ```ts
 * import { ChatSession, SystemClock } from 'chat-room'
 * import { WebSocketClientTransport } from 'chat-room/client'
 * const transport = new WebSocketClientTransport({ url: 'ws://localhost:8080/', token })
 * const session = new ChatSession(transport, { userId: 'bob', deviceId: 'phone', foreground: true, clock: new SystemClock() })
 * ```
 */
export class WebSocketClientTransport implements ClientTransport {
  readonly #url: string;
  readonly #token: string;
  readonly #WebSocket: WebSocketConstructor;

  constructor(options: WebSocketClientTransportOptions) {
    this.#url = options.url;
    this.#token = options.token;
    this.#WebSocket = resolveWebSocket(options.WebSocket);
  }

  /** Opens a link: a new socket to `url?token=…&deviceId=…&foreground=…`. */
  open(identity: ConnectionIdentity, handler: ClientLinkHandler): ClientLink {
    const url = new URL(this.#url);
    url.searchParams.set('token', this.#token);
    url.searchParams.set('deviceId', identity.deviceId);
    url.searchParams.set('foreground', String(identity.foreground));
    return new WebSocketClientLink(new this.#WebSocket(url.toString()), handler);
  }
}

/** One socket as a `ClientLink`. */
export class WebSocketClientLink implements ClientLink {
  readonly #ws: WebSocketLike;
  readonly #handler: ClientLinkHandler;
  readonly #queue: string[] = [];
  #closed = false;

  constructor(ws: WebSocketLike, handler: ClientLinkHandler) {
    this.#ws = ws;
    this.#handler = handler;
    ws.addEventListener('open', () => {
      if (this.#closed) return;
      for (const data of this.#queue.splice(0)) ws.send(data);
    });
    ws.addEventListener('message', (event) => {
      if (this.#closed) return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(textOf(event.data)) as ServerFrame;
      } catch {
        return this.#end('malformed frame from the server', true);
      }
      this.#handler.received(frame);
    });
    ws.addEventListener('close', (event) => {
      const reason = event.reason !== undefined && event.reason.length > 0 ? `: ${event.reason}` : '';
      this.#end(`closed (${event.code ?? 'no code'})${reason}`, false);
    });
    ws.addEventListener('error', () => this.#end('connection error', true));
  }

  /** Whether the link has not been closed (frames sent while the socket still opens are queued). */
  get open(): boolean {
    return !this.#closed;
  }

  /** The underlying socket (for diagnostics and tests). */
  get socket(): WebSocketLike {
    return this.#ws;
  }

  send(frame: ClientFrame): void {
    if (this.#closed) return;
    const data = JSON.stringify(frame);
    if (this.#ws.readyState === OPEN) this.#ws.send(data);
    else this.#queue.push(data);
  }

  close(): void {
    this.#end('closed by client', true);
  }

  #end(reason: string, hangUp: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    if (hangUp) {
      try {
        this.#ws.close(NORMAL_CLOSURE);
      } catch {
        // already closing, or never opened
      }
    }
    this.#handler.closed(reason);
  }
}

/** The text of a message event's data (a string in browsers; a Buffer or ArrayBuffer elsewhere). */
function textOf(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data as Uint8Array);
  return String(data);
}
