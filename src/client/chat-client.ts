/**
 * The client SDK: one device of one user over WebSocket or HTTP long-poll, that reconnects by itself and never
 * loses its place.
 *
 * @module
 */
import type { ChatRoomError, ErrorCode, PresenceRecord } from '../domain';
import { ChatFeed, TransportError, ValidationError, errorFromCode, requireMediaId } from '../domain';
import type { ClientLink, ClientLinkHandler, ClientTransport, Clock, TimerHandle } from '../ports';
import type { ServerFrame } from '../protocol';
import type { Ack, ChatSessionEvents } from '../session';
import { ChatSession } from '../session';
import { Observable } from '../util/observable';
import { SystemClock } from '../util/system-clock';
import type { FetchLike } from './long-poll-client-transport';
import { LongPollClientTransport, resolveFetch } from './long-poll-client-transport';
import type { WebSocketConstructor } from './websocket-client-transport';
import { WebSocketClientTransport, resolveWebSocket } from './websocket-client-transport';

/** How many times `fetchMedia` asks when the server answers 429. */
const MEDIA_ATTEMPTS = 3;

/** A way a `ChatClient` reaches the server. */
export type TransportKind = 'websocket' | 'long-poll';

/** Which transports a `ChatClient` may use: `'auto'` tries WebSocket and falls back to long-poll. */
export type TransportChoice = 'auto' | TransportKind;

/** How long to wait before each reconnect attempt. */
export interface BackoffOptions {
  /** The delay before the first attempt (ms). Default 250. */
  readonly initialMs: number;
  /** The largest delay (ms). Default 30 000. */
  readonly maxMs: number;
  /** Each attempt waits this many times longer than the one before. Default 2. */
  readonly factor: number;
  /** The share of the delay taken off at random, in [0, 1]: 0.5 waits between half and all of it. Default 0.5. */
  readonly jitter: number;
}

/** The default backoff: 250 ms, doubling up to 30 s, with up to half taken off at random. */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({
  initialMs: 250,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
});

/**
 * The delay before a reconnect attempt: `min(maxMs, initialMs · factor^(attempt-1))`, less a random share of up
 * to `jitter` of it, so that clients dropped together do not all come back together.
 *
 * @param attempt - the attempt, from 1
 * @param backoff - the backoff settings
 * @param random - a source of numbers in [0, 1)
 * @returns the delay in ms, within `[base · (1 - jitter), base]`
 */
export function backoffDelay(attempt: number, backoff: BackoffOptions, random: () => number): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, attempt - 1));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (1 - backoff.jitter * r));
}

/** Options of a `ChatClient`. */
export interface ChatClientOptions {
  /**
   * The server, as its WebSocket URL (`ws://localhost:8080/`, a `ChatServer`'s `url`) or its HTTP URL
   * (`http://localhost:8080/`, its `httpUrl`): the other is derived by swapping the scheme (ws ↔ http, wss ↔ https).
   */
  readonly url: string;
  /**
   * How to reach the server. `'auto'` (the default) tries a WebSocket on each connection attempt and, when it ends
   * before the server greeted it (a proxy that refuses the upgrade, a server without WebSocket), long-poll at once;
   * once long-poll worked, the client stays on it. `'websocket'` and `'long-poll'` use only that one.
   */
  readonly transport?: TransportChoice;
  /** The `fetch` function long-poll uses; default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /** The bearer token, or a function asked for a fresh one before each connection. */
  readonly token: string | (() => string | Promise<string>);
  /** This device; the server keeps a cursor per device. Default `'default'`. */
  readonly deviceId?: string;
  /** Whether the app is in the foreground (online). Default true. */
  readonly foreground?: boolean;
  /**
   * The WebSocket constructor; default `globalThis.WebSocket` (browsers, Node ≥ 22). In Node 20 pass `ws`'s;
   * without one, `'auto'` uses long-poll only.
   */
  readonly WebSocket?: WebSocketConstructor;
  /** The clock backoff delays and request timeouts run on. Default: the real one. */
  readonly clock?: Clock;
  /** Reconnect backoff; any field left out takes its default (`DEFAULT_BACKOFF`). */
  readonly backoff?: Partial<BackoffOptions>;
  /** A source of numbers in [0, 1) for the jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Start after this `inboxSeq` instead of the cursor the server saved for the device. */
  readonly cursor?: number;
  /** The title of a thread new to the local feed. Default: the thread's id. */
  readonly titleOf?: (threadId: string) => string;
  /** How long a request waits for its answer before it is retried (ms). Default 30 000. */
  readonly requestTimeoutMs?: number;
}

/**
 * What a `ChatClient` tells its listeners: its session's events (they carry on across reconnects) and its own
 * connection events.
 */
export interface ChatClientEvents extends Pick<
  ChatSessionEvents,
  'message' | 'message-sent' | 'ack' | 'receipt' | 'presence' | 'typing'
> {
  [event: string]: unknown[];
  /** The server greeted the client and it caught up with its inbox; `transport` says how the client is connected. */
  connected: [info: { userId: string; deviceId: string; cursor: number; transport: TransportKind }];
  /** A connection, or an attempt at one, ended. */
  disconnected: [reason: string];
  /** The next attempt is scheduled. */
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** The cursor was older than the server keeps: the client starts again from the oldest entry kept. */
  'resync-required': [error: ChatRoomError];
  /** Something failed that no caller is waiting for (a refused frame, a token provider that threw). */
  error: [error: Error];
}

/** An operation that must reach the server once: re-run on the next connection when the link drops. */
interface Op {
  run(session: ChatSession): Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** The session the op is in flight on. */
  session: ChatSession | undefined;
  done: boolean;
  /** A presence subscription (re-made on every connection anyway). */
  presence?: boolean;
}

/**
 * A chat device over WebSocket or HTTP long-poll, in Node or in a browser. It connects, resumes from its cursor so
 * every message arrives exactly once and in order, acknowledges delivery by itself, reconnects with jittered
 * exponential backoff, and keeps each send (with its `clientMessageId`) until the server acked it — a send retried
 * across a reconnect is stored once. A local `ChatFeed` follows what arrives, what is sent and what is read.
 *
 * By default (`transport: 'auto'`) each connection attempt tries a WebSocket first and falls back to long-poll at
 * once when the socket ends before the server's hello; `useTransport` switches on demand, and the `connected`
 * event and the `transport` getter say which one is in use.
 *
 * Pattern: Observer — the client re-publishes the events of whichever session is current.
 *
 * @example
 * ```ts
 * import { ChatClient } from 'chat-room/client'
 * const client = new ChatClient({ url: 'wss://chat.example.com/', token: () => fetchToken(), deviceId: 'web' })
 * client.on('message', (m) => console.log(`${m.senderId}: ${m.text}`))
 * await client.connect()
 * const ack = await client.send({ to: 'bob', text: 'hi' })
 * await client.markRead(ack.threadId, ack.seq)
 * client.on('connected', ({ transport }) => console.log(`connected over ${transport}`))
 * await client.useTransport('long-poll') // e.g. after sockets kept dropping on this network
 * ```
 */
export class ChatClient extends Observable<ChatClientEvents> {
  /** The chat list, as this client has seen it. */
  readonly feed = new ChatFeed();
  readonly deviceId: string;

  readonly #wsUrl: string;
  readonly #httpUrl: string;
  readonly #token: string | (() => string | Promise<string>);
  readonly #mode: TransportChoice;
  readonly #WebSocket: WebSocketConstructor | undefined;
  readonly #fetch: FetchLike | undefined;
  readonly #clock: Clock;
  readonly #backoff: BackoffOptions;
  readonly #random: () => number;
  readonly #titleOf: (threadId: string) => string;
  readonly #timeoutMs: number | undefined;
  readonly #foreground: boolean;
  readonly #ops: Op[] = [];
  readonly #waiters: { resolve(): void; reject(error: Error): void }[] = [];
  #userId: string | undefined;
  #cursor: number | undefined;
  #session: ChatSession | undefined;
  #link: ClientLink | undefined;
  #ready: ChatSession | undefined;
  #started = false;
  #closed = false;
  #attempt = 0;
  #timer: TimerHandle | undefined;
  #presenceIds: readonly string[] | undefined;
  /** The transport `useTransport` pinned, for every later connection. */
  #pinned: TransportKind | undefined;
  /** Whether long-poll connected in `'auto'` mode: later attempts go straight to it. */
  #longPollWorked = false;
  /** The transport of the current (or latest) connection attempt. */
  #kind: TransportKind | undefined;
  /** Counts connection attempts: callbacks of an attempt that is no longer current are ignored. */
  #generation = 0;

  /**
   * Creates a client; nothing connects until `connect()`.
   *
   * @param options - url, token, device, transport, WebSocket constructor, fetch, clock, backoff
   * @throws ValidationError when an option is malformed
   * @throws TypeError when the transport chosen has no implementation (no WebSocket for `'websocket'`, no fetch
   *   for `'long-poll'`, neither for `'auto'`)
   */
  constructor(options: ChatClientOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new ValidationError('options are required');
    const urls = typeof options.url === 'string' ? serverUrls(options.url) : undefined;
    if (urls === undefined) {
      throw new ValidationError('url must be a ws://, wss://, http:// or https:// URL');
    }
    if (typeof options.token !== 'string' && typeof options.token !== 'function') {
      throw new ValidationError('token must be a string or a function returning one');
    }
    const mode = options.transport ?? 'auto';
    if (mode !== 'auto' && mode !== 'websocket' && mode !== 'long-poll') {
      throw new ValidationError("transport must be 'auto', 'websocket' or 'long-poll'");
    }
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new ValidationError('fetch must be a function');
    }
    this.#wsUrl = urls.ws;
    this.#httpUrl = urls.http;
    this.#token = options.token;
    this.#mode = mode;
    this.deviceId = options.deviceId ?? 'default';
    this.#foreground = options.foreground ?? true;
    // Both are kept when available: `useTransport` may switch to the other one later.
    this.#WebSocket = optional(() => resolveWebSocket(options.WebSocket));
    this.#fetch = optional(() => resolveFetch(options.fetch));
    if (mode === 'websocket' || (mode === 'auto' && this.#fetch === undefined)) {
      this.#WebSocket = resolveWebSocket(options.WebSocket); // throws why there is none
    }
    if (mode === 'long-poll' || (mode === 'auto' && this.#WebSocket === undefined)) {
      this.#fetch = resolveFetch(options.fetch);
    }
    // A client waiting to reconnect keeps its Node process alive.
    this.#clock = options.clock ?? new SystemClock({ keepAlive: true });
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const { initialMs, maxMs, factor, jitter } = this.#backoff;
    if (!(initialMs >= 0 && maxMs >= initialMs && factor >= 1 && jitter >= 0 && jitter <= 1)) {
      throw new ValidationError('backoff needs 0 ≤ initialMs ≤ maxMs, factor ≥ 1 and 0 ≤ jitter ≤ 1');
    }
    this.#random = options.random ?? Math.random;
    this.#titleOf = options.titleOf ?? ((threadId) => threadId);
    this.#timeoutMs = options.requestTimeoutMs;
    this.#cursor = options.cursor;
  }

  /** The user, once the server said who the token belongs to. */
  get userId(): string | undefined {
    return this.#userId;
  }

  /** The last `inboxSeq` applied on this device (0 before the first connection). */
  get cursor(): number {
    return this.#session?.cursor ?? this.#cursor ?? 0;
  }

  /** Whether a connection is up and caught up. */
  get connected(): boolean {
    return this.#ready?.connected === true;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The transport the current connection uses; `undefined` while not connected. */
  get transport(): TransportKind | undefined {
    return this.connected ? this.#kind : undefined;
  }

  /** How many sends and requests wait for a connection or an answer. */
  get pending(): number {
    return this.#ops.length;
  }

  /**
   * Connects (once; later calls wait for the same connection) and resolves when the server greeted the client
   * and it caught up with its inbox. Attempts that fail are retried with backoff.
   *
   * @throws TransportError when the client is closed before it connected
   */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new TransportError('the client is closed'));
    if (this.connected) return Promise.resolve();
    const connected = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#started) {
      this.#started = true;
      void this.#open();
    }
    return connected;
  }

  /**
   * Sends a message; resolves with the server's ack (the single check). The `clientMessageId` is fixed now: when
   * the connection drops before the ack, the same send goes again on the next connection and the server stores
   * it once.
   *
   * @param input - `to` (a user) or `groupId`, the text, and an optional idempotency key
   * @throws ValidationError, NotFoundError, PermissionError as the server refuses
   * @throws TransportError when the client is closed before the ack
   */
  send(input: { to?: string; groupId?: string; text: string; clientMessageId?: string }): Promise<Ack> {
    if (typeof input !== 'object' || input === null) {
      return Promise.reject(new ValidationError('send needs an object'));
    }
    const request = {
      ...(input.to === undefined ? {} : { to: input.to }),
      ...(input.groupId === undefined ? {} : { groupId: input.groupId }),
      text: input.text,
      clientMessageId: input.clientMessageId ?? globalThis.crypto.randomUUID(),
    };
    return this.#enqueue(async (session) => {
      const ack = await session.send(request);
      this.#record(ack.threadId, { seq: ack.seq, at: ack.sentAt, preview: request.text, incoming: false });
      return ack;
    });
  }

  /**
   * A photo's bytes, for a member of a conversation it was sent in, or its uploader. The token goes in the
   * `Authorization` header, never in the URL; in a browser, show the photo with
   * `URL.createObjectURL(new Blob([bytes], { type: mimeType }))` (the server answers CORS for allowed origins). A
   * `429` is waited out (`Retry-After`) and retried, a few times.
   *
   * @param mediaId - the photo's (or its thumbnail's) id, from a message
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when there is no such photo, or this user may not see it (the same answer)
   * @throws TypeError when there is no `fetch`
   */
  async fetchMedia(mediaId: string): Promise<{ bytes: Uint8Array; mimeType: string }> {
    requireMediaId(mediaId);
    const fetchMedia = this.#fetch ?? resolveFetch();
    const token = typeof this.#token === 'function' ? await this.#token() : this.#token;
    const url = new URL(`media/${encodeURIComponent(mediaId)}`, this.#httpUrl);
    for (let attempt = 1; ; attempt++) {
      const response = await fetchMedia(url, { headers: { Authorization: `Bearer ${token}` } });
      if (response.ok) {
        const mimeType = response.headers.get('content-type') ?? 'application/octet-stream';
        return { bytes: new Uint8Array(await response.arrayBuffer()), mimeType };
      }
      const body = (await response.json().catch(() => ({}))) as { code?: unknown; message?: unknown };
      const retryAfterS = Number(response.headers.get('retry-after'));
      if (response.status === 429 && attempt < MEDIA_ATTEMPTS && retryAfterS > 0) {
        await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, retryAfterS * 1_000));
        continue;
      }
      const code = (typeof body.code === 'string' ? body.code : 'TRANSPORT') as ErrorCode;
      throw errorFromCode(
        code,
        typeof body.message === 'string' ? body.message : `HTTP ${response.status}`,
        {},
      );
    }
  }

  /**
   * Marks a thread read up to a seq (the blue checks for its senders) in the local feed now, and on the server as
   * soon as it is connected; resolves when the server applied it.
   *
   * @param threadId - the thread
   * @param upToSeq - the highest seq seen
   */
  markRead(threadId: string, upToSeq: number): Promise<void> {
    try {
      if (this.feed.has(threadId)) this.feed.markRead(threadId, upToSeq);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return this.#enqueue((session) => session.markRead(threadId, upToSeq));
  }

  /**
   * Follows the presence of these users (replacing the set followed before), now and after every reconnect.
   * Resolves after the snapshot arrived as a `presence` event.
   *
   * @param userIds - every user shown now
   */
  subscribePresence(userIds: readonly string[]): Promise<void> {
    if (!Array.isArray(userIds)) return Promise.reject(new ValidationError('userIds must be an array'));
    this.#presenceIds = [...userIds];
    return this.#enqueue((session) => session.subscribePresence(userIds), true);
  }

  /**
   * The latest presence heard for a followed user on the current connection.
   *
   * @param userId - the user
   */
  presenceOf(userId: string): PresenceRecord | undefined {
    return this.#session?.presenceOf(userId);
  }

  /** Tells the server the user is active, when connected. */
  active(): void {
    if (this.connected) this.#ready?.active();
  }

  /**
   * Switches transport now and keeps using it on every later connection (no fallback): hangs up the current
   * connection (or attempt) and connects over `kind` at once. Sends and requests still waiting carry on over the
   * new connection with the same `clientMessageId`, and the cursor carries over, so nothing is lost, repeated or
   * reordered. Emits `disconnected` (`switching to <kind>`) for the connection it hangs up, then `connected`
   * with the new `transport`. Also starts the client when `connect()` was not called yet.
   *
   * @param kind - `'websocket'` or `'long-poll'`
   * @returns resolves when connected (greeted and caught up) over `kind`
   * @throws ValidationError when `kind` is neither, TypeError when it has no implementation here
   * @throws TransportError when the client is closed before it connected
   */
  useTransport(kind: TransportKind): Promise<void> {
    if (this.#closed) return Promise.reject(new TransportError('the client is closed'));
    if (kind !== 'websocket' && kind !== 'long-poll') {
      return Promise.reject(new ValidationError("transport must be 'websocket' or 'long-poll'"));
    }
    if (kind === 'websocket' && this.#WebSocket === undefined) {
      return Promise.reject(new TypeError('no WebSocket implementation: pass one as the `WebSocket` option'));
    }
    if (kind === 'long-poll' && this.#fetch === undefined) {
      return Promise.reject(new TypeError('no fetch implementation: pass one as the `fetch` option'));
    }
    this.#pinned = kind;
    if (this.connected && this.#kind === kind) return Promise.resolve();
    const connected = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    const wasStarted = this.#started;
    this.#started = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (wasStarted) this.#hangUp(`switching to ${kind}`);
    this.#attempt = 0;
    void this.#open();
    return connected;
  }

  /** Hangs up for good: no reconnect; sends still waiting for an ack reject with a `TransportError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#generation++;
    const session = this.#session;
    this.#session = undefined;
    this.#ready = undefined;
    session?.disconnect();
    this.#link?.close();
    this.#link = undefined;
    const error = new TransportError('the client is closed');
    for (const op of this.#ops.splice(0)) this.#finish(op, error);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  /** The transport the next connection attempt starts with. */
  #firstKind(): TransportKind {
    if (this.#pinned !== undefined) return this.#pinned;
    if (this.#mode === 'long-poll' || this.#WebSocket === undefined) return 'long-poll';
    if (this.#mode === 'auto' && this.#longPollWorked && this.#fetch !== undefined) return 'long-poll';
    return 'websocket';
  }

  /** Whether an attempt over `kind` that failed before the hello falls back to long-poll at once. */
  #fallsBack(kind: TransportKind): boolean {
    return (
      kind === 'websocket' && this.#mode === 'auto' && this.#pinned === undefined && this.#fetch !== undefined
    );
  }

  /** Drops the current connection or attempt without scheduling another; keeps the cursor. */
  #hangUp(reason: string): void {
    this.#generation++;
    const session = this.#session;
    if (session !== undefined) this.#cursor = session.cursor;
    this.#session = undefined;
    this.#ready = undefined;
    const link = this.#link;
    this.#link = undefined;
    session?.disconnect();
    link?.close();
    if (session !== undefined || link !== undefined) this.emit('disconnected', reason);
  }

  /**
   * One connection attempt: a fresh token, a link (WebSocket or long-poll), the hello, then a session over it. An
   * `'auto'` WebSocket that ends before the hello is followed at once by long-poll, with the same token.
   */
  async #open(kind: TransportKind = this.#firstKind(), given?: string): Promise<void> {
    const generation = ++this.#generation;
    let token: string;
    try {
      token = given ?? (typeof this.#token === 'function' ? await this.#token() : this.#token);
      if (typeof token !== 'string' || token.length === 0) throw new ValidationError('the token is empty');
    } catch (e) {
      if (this.#closed || generation !== this.#generation) return;
      this.emit('error', e instanceof Error ? e : new Error(String(e)));
      return this.#retry('no token');
    }
    if (this.#closed || generation !== this.#generation) return;
    this.#kind = kind;
    const current = (): boolean => !this.#closed && generation === this.#generation;
    const failed = (reason: string): void => {
      if (!current()) return;
      if (!this.#fallsBack(kind)) return this.#lost(undefined, reason);
      this.#link = undefined;
      this.emit('disconnected', reason);
      void this.#open('long-poll', token);
    };
    // The server names the user in its hello; the session needs it from the start, so it is created then.
    const handoff = new Handoff(
      (hello) => current() && this.#greeted(handoff, hello, kind),
      (reason) => failed(reason),
    );
    let link: ClientLink;
    try {
      link = this.#transport(kind, token).open(
        { userId: this.#userId ?? '', deviceId: this.deviceId, foreground: this.#foreground },
        handoff,
      );
    } catch (e) {
      this.emit('error', e instanceof Error ? e : new Error(String(e)));
      return failed(`could not open a ${kind} link`);
    }
    if (!current()) return link.close();
    this.#link = link;
    handoff.link = link;
  }

  #transport(kind: TransportKind, token: string): ClientTransport {
    return kind === 'websocket'
      ? new WebSocketClientTransport({
          url: this.#wsUrl,
          token,
          WebSocket: this.#WebSocket as WebSocketConstructor,
        })
      : new LongPollClientTransport({ url: this.#httpUrl, token, fetch: this.#fetch as FetchLike });
  }

  #greeted(handoff: Handoff, hello: Extract<ServerFrame, { type: 'hello' }>, kind: TransportKind): void {
    if (this.#closed) return;
    this.#userId = hello.userId;
    const link = handoff.link as ClientLink;
    const session = new ChatSession(
      { open: (_identity, handler) => (handoff.attach(handler), link) },
      {
        userId: hello.userId,
        deviceId: this.deviceId,
        foreground: this.#foreground,
        ...(this.#cursor === undefined ? {} : { cursor: this.#cursor }),
        clock: this.#clock,
        ...(this.#timeoutMs === undefined ? {} : { requestTimeoutMs: this.#timeoutMs }),
      },
    );
    this.#session = session;
    const current = (): boolean => this.#session === session && !this.#closed;
    session.on('message', (m) => {
      if (!current()) return;
      this.#record(m.threadId, { seq: m.seq, at: m.sentAt, preview: m.text, incoming: true });
      this.emit('message', m);
    });
    session.on('message-sent', (m) => {
      if (!current()) return;
      this.#record(m.threadId, { seq: m.seq, at: m.sentAt, preview: m.text, incoming: false });
      this.emit('message-sent', m);
    });
    session.on('ack', (ack) => current() && this.emit('ack', ack));
    session.on('receipt', (r) => current() && this.emit('receipt', r));
    session.on('presence', (u, snapshot) => current() && this.emit('presence', u, snapshot));
    session.on('typing', (t) => current() && this.emit('typing', t));
    session.on('resync-required', (e) => current() && this.emit('resync-required', e));
    session.on('error', (e) => current() && this.emit('error', e));
    session.on('disconnected', (reason) => this.#lost(session, reason));
    void session.ready.then(() => {
      if (!current() || !session.connected) return;
      this.#ready = session;
      this.#attempt = 0;
      this.#cursor = session.cursor;
      if (kind === 'long-poll' && this.#mode === 'auto') this.#longPollWorked = true;
      this.emit('connected', {
        userId: hello.userId,
        deviceId: this.deviceId,
        cursor: session.cursor,
        transport: kind,
      });
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
      if (this.#presenceIds !== undefined && !this.#ops.some((op) => op.presence === true)) {
        // Follow again what was followed: the server's subscription belongs to the old connection.
        void session.subscribePresence(this.#presenceIds).catch(() => undefined);
      }
      for (const op of [...this.#ops]) if (op.session !== session) this.#dispatch(op, session);
    });
  }

  /** A link or session ended: keep its cursor and schedule the next attempt. */
  #lost(session: ChatSession | undefined, reason: string): void {
    if (this.#closed) return;
    if (session !== undefined) {
      if (this.#session !== session) return;
      this.#cursor = session.cursor;
      this.#session = undefined;
      if (this.#ready === session) this.#ready = undefined;
    }
    this.#link = undefined;
    this.emit('disconnected', reason);
    this.#retry(reason);
  }

  #retry(_reason: string): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#attempt += 1;
    const delayMs = backoffDelay(this.#attempt, this.#backoff, this.#random);
    this.emit('reconnecting', { attempt: this.#attempt, delayMs });
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) void this.#open();
    }, delayMs);
  }

  #enqueue<T>(run: (session: ChatSession) => Promise<T>, presence = false): Promise<T> {
    if (this.#closed) return Promise.reject(new TransportError('the client is closed'));
    return new Promise<T>((resolve, reject) => {
      const op: Op = {
        run,
        resolve: resolve as (value: unknown) => void,
        reject,
        session: undefined,
        done: false,
        presence,
      };
      this.#ops.push(op);
      if (this.#ready !== undefined) this.#dispatch(op, this.#ready);
    });
  }

  #dispatch(op: Op, session: ChatSession): void {
    op.session = session;
    let running: Promise<unknown>;
    try {
      running = op.run(session);
    } catch (e) {
      return this.#finish(op, e as Error);
    }
    running.then(
      (value) => this.#finish(op, undefined, value),
      (error: unknown) => {
        if (op.done || op.session !== session) return;
        if (error instanceof TransportError && !this.#closed) {
          // The link dropped (or the answer is late): go again, with the same clientMessageId, when connected.
          op.session = undefined;
          if (this.#ready !== undefined) this.#dispatch(op, this.#ready);
          return;
        }
        this.#finish(op, error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  #finish(op: Op, error: Error | undefined, value?: unknown): void {
    if (op.done) return;
    op.done = true;
    const i = this.#ops.indexOf(op);
    if (i >= 0) this.#ops.splice(i, 1);
    if (error === undefined) op.resolve(value);
    else op.reject(error);
  }

  #record(threadId: string, m: { seq: number; at: number; preview: string; incoming: boolean }): void {
    try {
      this.feed.recordMessage(
        threadId,
        this.feed.has(threadId) ? m : { ...m, title: this.#titleOf(threadId) },
      );
    } catch (e) {
      this.emit('error', e instanceof Error ? e : new Error(String(e)));
    }
  }
}

/** Runs `make`; `undefined` when it throws. */
function optional<T>(make: () => T): T | undefined {
  try {
    return make();
  } catch {
    return undefined;
  }
}

/** The WebSocket and HTTP URLs of a server given by either; `undefined` when `url` is neither. */
function serverUrls(url: string): { ws: string; http: string } | undefined {
  const match = /^(wss?|https?):\/\//i.exec(url);
  if (match === null) return undefined;
  const rest = url.slice(match[0].length);
  try {
    new URL(`http://${rest}`);
  } catch {
    return undefined;
  }
  const scheme = (match[1] as string).toLowerCase();
  const secure = scheme === 'wss' || scheme === 'https';
  return { ws: `${secure ? 'wss' : 'ws'}://${rest}`, http: `${secure ? 'https' : 'http'}://${rest}` };
}

/**
 * The link handler until the session exists: it waits for the hello (to learn the user), keeps every frame, and
 * hands them, in order, to the session once it attached.
 */
class Handoff implements ClientLinkHandler {
  link: ClientLink | undefined;
  readonly #buffer: ServerFrame[] = [];
  #target: ClientLinkHandler | undefined;
  #live = false;
  #greeted = false;
  #closedReason: string | undefined;

  constructor(
    private readonly onHello: (hello: Extract<ServerFrame, { type: 'hello' }>) => void,
    private readonly onClosedEarly: (reason: string) => void,
  ) {}

  received(frame: ServerFrame): void {
    if (this.#live && this.#target !== undefined) return this.#target.received(frame);
    this.#buffer.push(frame);
    if (!this.#greeted && frame.type === 'hello') {
      this.#greeted = true;
      this.onHello(frame);
    }
  }

  closed(reason: string): void {
    if (this.#live && this.#target !== undefined) return this.#target.closed(reason);
    this.#closedReason = reason;
    if (!this.#greeted) this.onClosedEarly(reason);
  }

  /** Hands the frames kept so far to the session, after its constructor returned. */
  attach(target: ClientLinkHandler): void {
    this.#target = target;
    queueMicrotask(() => {
      while (this.#buffer.length > 0) target.received(this.#buffer.shift() as ServerFrame);
      this.#live = true;
      if (this.#closedReason !== undefined) target.closed(this.#closedReason);
    });
  }
}
