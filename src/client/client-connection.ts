/**
 * What keeps a `ChatClient` connected: transports with fallback, jittered reconnects, the cursor carried from one
 * session to the next, and the queue of operations that must reach the server once.
 *
 * @module
 */
import type { PresenceRecord } from '../domain';
import { TransportError, ValidationError } from '../domain';
import type { ClientLink, ClientTransport, Clock, TimerHandle } from '../ports';
import type { ServerFrame } from '../protocol';
import type { ChatSessionEvents, ChatSessionOptions } from '../session';
import { ChatSession } from '../session';
import { SystemClock } from '../util/system-clock';
import type { BackoffOptions } from './backoff';
import { DEFAULT_BACKOFF, backoffDelay } from './backoff';
import type { ChatClientOptions, TransportChoice, TransportKind } from './chat-client';
import { Handoff } from './handoff';
import type { FetchLike } from './long-poll-client-transport';
import { LongPollClientTransport, resolveFetch } from './long-poll-client-transport';
import type { WebSocketConstructor } from './websocket-client-transport';
import { WebSocketClientTransport, resolveWebSocket } from './websocket-client-transport';

/** Hears every event a connection publishes: its own (`connected`, `disconnected`…) and its sessions'. */
export type Publish = (event: string, args: readonly unknown[]) => void;

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
 * The connection machinery under a `ChatClient`: one session at a time over WebSocket or long-poll, a new one
 * after each drop (with backoff), each resuming from the cursor of the one before; operations wait in a queue
 * for a connected session and go again, unchanged, on the next one when their link drops before the answer.
 *
 * Every event of the current session is published as it is (`disconnected` excepted: the connection reports its
 * own), so an event a session learns to emit reaches the app with no change here.
 *
 * @internal `ChatClient` is its public face.
 */
export class ClientConnection {
  readonly deviceId: string;
  /** The servers to try, in order: each as its WebSocket and HTTP URL. */
  readonly #servers: readonly { readonly ws: string; readonly http: string }[];
  /** The server connections go to now; a failed attempt moves on to the next. */
  #server = 0;
  /** Servers that failed one after another since the last connection or backoff. */
  #failedInARow = 0;
  /** The clock backoff delays, request timeouts and `Retry-After` waits run on. */
  readonly clock: Clock;

  readonly #publish: Publish;
  readonly #token: string | (() => string | Promise<string>);
  readonly #mode: TransportChoice;
  readonly #WebSocket: WebSocketConstructor | undefined;
  readonly #fetch: FetchLike | undefined;
  readonly #backoff: BackoffOptions;
  readonly #random: () => number;
  readonly #timeoutMs: number | undefined;
  #foreground: boolean;
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
   * Creates a connection; nothing connects until `connect()`.
   *
   * @param options - the client's options
   * @param publish - hears every event
   * @throws ValidationError when an option is malformed
   * @throws TypeError when the transport chosen has no implementation
   */
  constructor(options: ChatClientOptions, publish: Publish) {
    if (typeof options !== 'object' || options === null) throw new ValidationError('options are required');
    const given: readonly unknown[] = Array.isArray(options.url) ? options.url : [options.url];
    const servers = given.map((url) => (typeof url === 'string' ? serverUrls(url) : undefined));
    if (servers.length === 0 || servers.length > MAX_SERVERS || servers.some((s) => s === undefined)) {
      throw new ValidationError(
        `url must be a ws://, wss://, http:// or https:// URL, or a list of 1-${MAX_SERVERS} of them`,
      );
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
    this.#publish = publish;
    this.#servers = servers as { ws: string; http: string }[];
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
    this.clock = options.clock ?? new SystemClock({ keepAlive: true });
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const { initialMs, maxMs, factor, jitter } = this.#backoff;
    if (!(initialMs >= 0 && maxMs >= initialMs && factor >= 1 && jitter >= 0 && jitter <= 1)) {
      throw new ValidationError('backoff needs 0 ≤ initialMs ≤ maxMs, factor ≥ 1 and 0 ≤ jitter ≤ 1');
    }
    this.#random = options.random ?? Math.random;
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

  /** How many operations wait for a connection or an answer. */
  get pending(): number {
    return this.#ops.length;
  }

  /** The `fetch` function HTTP requests use. @throws TypeError when there is none */
  get fetch(): FetchLike {
    return this.#fetch ?? resolveFetch();
  }

  /** A token: the one given, or a fresh one from the function given. */
  async token(): Promise<string> {
    return typeof this.#token === 'function' ? await this.#token() : this.#token;
  }

  /** Connects (once); resolves when greeted and caught up. @throws TransportError when closed first */
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
   * Runs an operation on a connected session: now, or once connected; again on the next connection when its link
   * drops (or its answer is late) before it settled. Settles with what it settles with otherwise.
   *
   * @param run - the operation, given the session to run on
   * @param presence - whether it is a presence subscription (re-made on every connection anyway)
   * @throws TransportError when the client is closed before it settled
   */
  enqueue<T>(run: (session: ChatSession) => Promise<T>, presence = false): Promise<T> {
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

  /**
   * Follows the presence of these users, now and after every reconnect.
   *
   * @param userIds - every user shown now
   */
  subscribePresence(userIds: readonly string[]): Promise<void> {
    this.#presenceIds = [...userIds];
    return this.enqueue((session) => session.subscribePresence(userIds), true);
  }

  /**
   * Moves the app to the foreground or the background: on the current connection (once connected) and in the
   * identity of every later one.
   *
   * @param foreground - where the app is now
   */
  setForeground(foreground: boolean): Promise<void> {
    this.#foreground = foreground;
    return this.enqueue((session) =>
      session.foreground === foreground ? Promise.resolve() : session.setForeground(foreground),
    );
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
   * Switches transport now and for every later connection; resolves when connected over it.
   *
   * @param kind - `'websocket'` or `'long-poll'`
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
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (wasStarted) this.#hangUp(`switching to ${kind}`);
    this.#attempt = 0;
    void this.#open();
    return connected;
  }

  /** Hangs up for good: no reconnect; operations still waiting reject with a `TransportError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
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
    if (session !== undefined || link !== undefined) this.#publish('disconnected', [reason]);
  }

  /**
   * One connection attempt: a fresh token, a link (WebSocket or long-poll), the hello, then a session over it. An
   * `'auto'` WebSocket that ends before the hello is followed at once by long-poll, with the same token.
   */
  async #open(kind: TransportKind = this.#firstKind(), given?: string): Promise<void> {
    const generation = ++this.#generation;
    let token: string;
    try {
      // Synchronous for a string token: the attempt opens its link within the timer's turn.
      token = given ?? (typeof this.#token === 'function' ? await this.#token() : this.#token);
      if (typeof token !== 'string' || token.length === 0) throw new ValidationError('the token is empty');
    } catch (e) {
      if (this.#closed || generation !== this.#generation) return;
      this.#publish('error', [e instanceof Error ? e : new Error(String(e))]);
      return this.#retry();
    }
    if (this.#closed || generation !== this.#generation) return;
    this.#kind = kind;
    const current = (): boolean => !this.#closed && generation === this.#generation;
    const failed = (reason: string): void => {
      if (!current()) return;
      if (!this.#fallsBack(kind)) return this.#lost(undefined, reason);
      this.#link = undefined;
      this.#publish('disconnected', [reason]);
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
      this.#publish('error', [e instanceof Error ? e : new Error(String(e))]);
      return failed(`could not open a ${kind} link`);
    }
    if (!current()) return link.close();
    this.#link = link;
    handoff.link = link;
  }

  #transport(kind: TransportKind, token: string): ClientTransport {
    return kind === 'websocket'
      ? new WebSocketClientTransport({
          url: (this.#servers[this.#server] as { ws: string }).ws,
          token,
          WebSocket: this.#WebSocket as WebSocketConstructor,
        })
      : new LongPollClientTransport({ url: this.httpUrl, token, fetch: this.#fetch as FetchLike });
  }

  #greeted(handoff: Handoff, hello: Extract<ServerFrame, { type: 'hello' }>, kind: TransportKind): void {
    if (this.#closed) return;
    this.#userId = hello.userId;
    const link = handoff.link as ClientLink;
    const session: ChatSession = new PublishingSession(
      { open: (_identity, handler) => (handoff.attach(handler), link) },
      {
        userId: hello.userId,
        deviceId: this.deviceId,
        foreground: this.#foreground,
        ...(this.#cursor === undefined ? {} : { cursor: this.#cursor }),
        clock: this.clock,
        ...(this.#timeoutMs === undefined ? {} : { requestTimeoutMs: this.#timeoutMs }),
      },
      (event, args) => {
        if (event === 'disconnected') return this.#lost(session, args[0] as string);
        if (this.#session === session && !this.#closed) this.#publish(event, args);
      },
    );
    this.#session = session;
    void session.ready.then(() => {
      if (this.#session !== session || this.#closed || !session.connected) return;
      this.#ready = session;
      this.#attempt = 0;
      this.#failedInARow = 0;
      this.#cursor = session.cursor;
      if (kind === 'long-poll' && this.#mode === 'auto') this.#longPollWorked = true;
      const info = { userId: hello.userId, deviceId: this.deviceId, cursor: session.cursor, transport: kind };
      this.#publish('connected', [info]);
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
      if (this.#presenceIds !== undefined && !this.#ops.some((op) => op.presence === true)) {
        // Follow again what was followed: the server's subscription belongs to the old connection.
        void session.subscribePresence(this.#presenceIds).catch(() => undefined);
      }
      for (const op of [...this.#ops]) if (op.session !== session) this.#dispatch(op, session);
    });
  }

  /** The HTTP URL (`http://…/`) of the server connections go to now, for the photo routes. */
  get httpUrl(): string {
    return (this.#servers[this.#server] as { http: string }).http;
  }

  /** A link or session ended: keep its cursor and schedule the next attempt. */
  #lost(session: ChatSession | undefined, reason: string): void {
    if (this.#closed) return;
    // An attempt that got no hello could not reach its server: the next one goes to the next server.
    const unreachable = session === undefined && this.#session === undefined;
    if (unreachable && this.#servers.length > 1) {
      this.#server = (this.#server + 1) % this.#servers.length;
      this.#failedInARow += 1;
    }
    if (session !== undefined) {
      if (this.#session !== session) return;
      this.#cursor = session.cursor;
      this.#session = undefined;
      if (this.#ready === session) this.#ready = undefined;
    }
    this.#link = undefined;
    this.#publish('disconnected', [reason]);
    this.#retry();
  }

  #retry(): void {
    if (this.#closed || this.#timer !== undefined) return;
    // Failing over to a server not tried in this round is immediate; a whole round of failures backs off.
    const failingOver = this.#failedInARow > 0 && this.#failedInARow < this.#servers.length;
    if (!failingOver) {
      this.#failedInARow = 0;
      this.#attempt += 1;
    }
    const delayMs = failingOver ? 0 : backoffDelay(this.#attempt, this.#backoff, this.#random);
    this.#publish('reconnecting', [{ attempt: this.#attempt, delayMs }]);
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) void this.#open();
    }, delayMs);
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
}

/**
 * A session that also hands every event it emits to one function: the client learns of each event, including
 * ones added to `ChatSessionEvents` later, without subscribing to them by name.
 */
class PublishingSession extends ChatSession {
  readonly #publish: (event: string, args: readonly unknown[]) => void;

  constructor(
    transport: ClientTransport,
    options: ChatSessionOptions,
    publish: (event: string, args: readonly unknown[]) => void,
  ) {
    // The session emits nothing before its constructor returned: the handoff hands it frames on a microtask.
    super(transport, options);
    this.#publish = publish;
  }

  protected override emit<K extends keyof ChatSessionEvents & string>(
    event: K,
    ...args: ChatSessionEvents[K]
  ): void {
    super.emit(event, ...args);
    this.#publish(event, args);
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

/** The most servers a client is given to try. */
const MAX_SERVERS = 64;

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
