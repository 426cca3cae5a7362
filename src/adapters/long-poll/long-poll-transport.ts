import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode, InboxPage } from '../../domain';
import { ChatRoomError, ValidationError } from '../../domain';
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
import { HttpError } from '../../util/http-error';
import { resolveLimits } from '../../util/limits';
import { readBody } from '../../util/read-body';
import { SystemClock } from '../../util/system-clock';
import type { Rate } from '../../util/token-bucket';
import { FramePacer } from '../../util/frame-pacer';
import type { ConnectionSlot, UserLimits } from '../../util/user-limits';

/** How a held poll reads the user's inbox: any node that can read the store can answer any poll. */
export type InboxReader = (userId: string, after: number, limit: number) => Promise<InboxPage>;

/** The limits of the long-poll transport. */
export interface LongPollLimits {
  /** The longest a `GET` is held without news (ms); also the default of its `wait`. Default 25 000. */
  readonly pollTimeoutMs?: number;
  /** A link with no request for this long is closed: its device goes offline (ms). Default 35 000. */
  readonly leaseMs?: number;
  /** How long a `POST` waits for the answers to its frames before answering with what it has (ms). Default 10 000. */
  readonly replyTimeoutMs?: number;
  /**
   * How often a held poll looks at the inbox even without news on this node (ms), for entries stored by another
   * node. Default 5 000.
   */
  readonly recheckMs?: number;
  /** The largest frame (JSON bytes) a device may send; a larger one is refused with `PAYLOAD_TOO_LARGE`. Default 64 KiB. */
  readonly maxFrameBytes?: number;
  /** The largest `POST` body (bytes); a larger one is refused with 413. Default 256 KiB. */
  readonly maxRequestBytes?: number;
  /** The most frames in one `POST`; more are refused with 413. Default 64. */
  readonly maxFramesPerRequest?: number;
  /** Bytes of frames waiting for a device's next poll past which it counts as a slow consumer and is closed. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** Frames a device may send; over it a frame is refused with `RATE_LIMITED`. Default 50 per second. */
  readonly rate?: Rate;
}

/** Options of the long-poll transport. */
export interface LongPollTransportOptions {
  /** Reads inbox entries after a cursor (`(u, a, l) => store.readInbox(u, a, l)`). */
  readonly readInbox: InboxReader;
  /** The clock timeouts and rate limits run on (the real clock by default). */
  readonly clock?: Clock;
  readonly limits?: LongPollLimits;
  /** Makes connection ids (a random UUID by default). */
  readonly newId?: () => string;
  /**
   * Connections per user (and address) and a frame budget per user, shared with the server's other transports: a
   * new link takes a place (429 when full), every posted frame is charged.
   */
  readonly userLimits?: UserLimits;
}

/** The most hung-up links remembered at once. */
const MAX_HUNG_UP = 10_000;

/** Entries a poll returns at most; a device with more polls again at once. */
const POLL_PAGE = 500;

const DEFAULT_LIMITS: Required<LongPollLimits> = {
  pollTimeoutMs: 25_000,
  leaseMs: 35_000,
  replyTimeoutMs: 10_000,
  recheckMs: 5_000,
  maxFrameBytes: 64 * 1024,
  maxRequestBytes: 256 * 1024,
  maxFramesPerRequest: 64,
  maxBufferedBytes: 1024 * 1024,
  rate: { frames: 50, perMs: 1_000 },
};

const LINK_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * HTTP long-poll, the seed's "persistent connection": the same frames as the WebSocket, over plain requests, for
 * networks that block WebSockets. A device opens a *link* (an id it makes up) and then:
 *
 * - `GET /poll?link=…&after=<inboxSeq>&wait=<ms>` is held until there is something for it: frames waiting in the
 *   link's outbox (the `hello`, presence, typing, late answers), or inbox entries after `after`, read from the
 *   store. An empty answer after `wait` (at most `pollTimeoutMs`) tells the device to poll again.
 * - `POST /poll?link=…` carries the device's frames (a JSON array) and answers with the replies to those that
 *   carry a `ref`.
 * - `DELETE /poll?link=…` hangs up.
 *
 * Messages never sit in per-link state: a held poll reads them from the store after the device's cursor, so any
 * node that can read the store can answer any poll, and nothing needs sticky sessions. A link is a lease: one
 * whose requests stop for `leaseMs` is closed, and its device goes offline. This transport does not authenticate
 * or route: the HTTP server checks the token, then calls `handle` with the identity (`createChatServer` does).
 *
 * @example
 * ```ts
 * import { LongPollTransport } from 'chat-room/long-poll'
 * const longPoll = new LongPollTransport({ readInbox: (u, a, l) => chat.store.readInbox(u, a, l) })
 * chat.attach(longPoll)
 * // in the HTTP server, after authenticating the request:
 * longPoll.handle(request, response, { userId, deviceId, foreground: true })
 * ```
 */
export class LongPollTransport implements Transport {
  readonly #readInbox: InboxReader;
  readonly #clock: Clock;
  readonly #limits: Required<LongPollLimits>;
  readonly #newId: () => string;
  readonly #userLimits: UserLimits | undefined;
  /** Open links by `userId \0 deviceId \0 linkId`. */
  readonly #links = new Map<string, LongPollLink>();
  /** Links their devices hung up, with when: requests still on their way for them are refused (410). */
  readonly #hungUpAt = new Map<string, number>();
  #handler: TransportHandler | undefined;
  #closing = false;

  /**
   * Creates a transport.
   *
   * @param options - the inbox reader, clock, limits and id maker
   * @throws ValidationError when an option is malformed
   */
  constructor(options: LongPollTransportOptions) {
    if (typeof options?.readInbox !== 'function') {
      throw new ValidationError('LongPollTransport needs readInbox', { details: { field: 'readInbox' } });
    }
    this.#readInbox = options.readInbox;
    this.#clock = options.clock ?? new SystemClock();
    this.#newId = options.newId ?? randomUUID;
    this.#limits = resolveLongPollLimits(options.limits);
    this.#userLimits = options.userLimits;
  }

  /** The limits in force, defaults filled in. */
  get limits(): Readonly<Required<LongPollLimits>> {
    return this.#limits;
  }

  /** How many links are open. */
  get openConnections(): number {
    return this.#links.size;
  }

  listen(handler: TransportHandler): void {
    if (this.#handler !== undefined)
      throw new ValidationError('this transport already has a server listening');
    if (this.#closing) throw new ValidationError('this transport is closed');
    this.#handler = handler;
  }

  /**
   * Serves one long-poll request of an authenticated device: `GET` (poll), `POST` (frames), `DELETE` (hang up).
   * The link id and the poll's `after` and `wait` come from the query string.
   *
   * @param request - the request (its URL carries `link`, and for `GET` `after` and `wait`)
   * @param response - where the answer goes
   * @param identity - who is asking, as the HTTP server authenticated them
   */
  async handle(
    request: IncomingMessage,
    response: ServerResponse,
    identity: ConnectionIdentity,
  ): Promise<void> {
    try {
      const handler = this.#handler;
      if (handler === undefined || this.#closing) {
        throw new HttpError(503, 'UNAVAILABLE', 'the chat server is not accepting connections');
      }
      const url = new URL(request.url ?? '/', 'http://localhost');
      const linkId = url.searchParams.get('link') ?? '';
      if (!LINK_ID.test(linkId)) {
        throw new HttpError(400, 'VALIDATION', 'link must be 1-64 characters of letters, digits, _ and -');
      }
      const method = request.method ?? 'GET';
      const key = `${identity.userId}\0${identity.deviceId}\0${linkId}`;
      if (method === 'DELETE') {
        this.#links.get(key)?.close('closed by client');
        this.#hungUp(key);
        return sendFrames(response, []);
      }
      if (this.#isHungUp(key)) {
        // A request sent before the hang-up that arrives after it must not open the link again.
        throw new HttpError(410, 'TRANSPORT', 'this link was closed: open a new one');
      }
      if (method !== 'GET' && method !== 'POST') {
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET, POST or DELETE', {
          Allow: 'GET, POST, DELETE',
        });
      }
      const link = this.#linkFor(key, identity, handler, request.socket.remoteAddress);
      if (method === 'GET') await link.poll(url, request, response);
      else await link.post(request, response);
    } catch (error) {
      answerError(request, response, error);
    }
  }

  /** Answers every held poll, closes every link (each device goes offline) and stops. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const link of [...this.#links.values()]) link.close('server shutting down');
    this.#handler = undefined;
  }

  /** A place for a new link under the shared per-user limits, or a 429 when the user (or address) is full. */
  #admit(userId: string, address: string | undefined): ConnectionSlot | undefined {
    const slot = this.#userLimits?.admit(userId, address);
    if (slot instanceof HttpError) throw slot;
    return slot;
  }

  #hungUp(key: string): void {
    const now = this.#clock.now();
    // Forget hang-ups older than a lease (no request lingers that long), and never keep more than MAX_HUNG_UP.
    for (const [k, at] of this.#hungUpAt) {
      if (now - at < this.#limits.leaseMs && this.#hungUpAt.size < MAX_HUNG_UP) break;
      this.#hungUpAt.delete(k);
    }
    this.#hungUpAt.set(key, now);
  }

  #isHungUp(key: string): boolean {
    const at = this.#hungUpAt.get(key);
    return at !== undefined && this.#clock.now() - at < this.#limits.leaseMs;
  }

  #linkFor(
    key: string,
    identity: ConnectionIdentity,
    handler: TransportHandler,
    address: string | undefined,
  ): LongPollLink {
    let link = this.#links.get(key);
    if (link === undefined) {
      const slot = this.#admit(identity.userId, address);
      link = new LongPollLink(this.#newId(), identity, handler, {
        clock: this.#clock,
        limits: this.#limits,
        readInbox: this.#readInbox,
        userWait: () => this.#userLimits?.takeFrame(identity.userId) ?? 0,
        forget: () => {
          this.#links.delete(key);
          slot?.release();
        },
      });
      this.#links.set(key, link);
      handler.opened(link);
    }
    return link;
  }
}

interface LinkDeps {
  readonly clock: Clock;
  readonly limits: Required<LongPollLimits>;
  readonly readInbox: InboxReader;
  /** Charges a frame to the user's shared budget: 0, or how long to wait (ms). */
  readonly userWait: () => number;
  readonly forget: () => void;
}

/** A held `GET`: answered once, by news, by its timer, or by a newer poll. */
interface HeldPoll {
  readonly wake: () => void;
  readonly replace: () => void;
}

/** Answers a `POST` is waiting for, by `ref`. */
interface Collector {
  /** The refs still unanswered. */
  readonly refs: Set<string>;
  readonly answers: Map<string, ServerFrame>;
  readonly done: () => void;
}

/** One device's link seen as a `Connection`: an outbox for frames that are not inbox entries, and a lease. */
class LongPollLink implements Connection {
  readonly id: string;
  readonly identity: ConnectionIdentity;
  readonly #handler: TransportHandler;
  readonly #d: LinkDeps;
  readonly #outbox: ServerFrame[] = [];
  #outboxBytes = 0;
  readonly #collectors = new Set<Collector>();
  #held: HeldPoll | undefined;
  /** Counts news (an outbox frame, an entry stored for the user), so a poll sees news that came while it read. */
  #version = 0;
  /** Counts polls; only the newest may be answered with news. */
  #generation = 0;
  /** Requests in progress; the lease runs only while there are none. */
  #active = 0;
  #lease: TimerHandle | undefined;
  #closed = false;
  readonly #pacer: FramePacer;

  constructor(id: string, identity: ConnectionIdentity, handler: TransportHandler, deps: LinkDeps) {
    this.id = id;
    this.identity = identity;
    this.#handler = handler;
    this.#d = deps;
    this.#pacer = new FramePacer(deps.limits.rate, deps.clock.now());
    this.#armLease();
  }

  send(frame: ServerFrame): void {
    if (this.#closed) return;
    // An inbox entry is in the store already: a held poll reads it from there, so it only needs waking.
    if (frame.type === 'entry') {
      this.#version += 1;
      return this.#held?.wake();
    }
    const ref = 'ref' in frame ? frame.ref : undefined;
    if (ref !== undefined) {
      for (const c of this.#collectors) {
        if (!c.refs.delete(ref)) continue;
        c.answers.set(ref, frame);
        if (c.refs.size === 0) c.done();
        return;
      }
    }
    this.#outbox.push(frame);
    this.#outboxBytes += Buffer.byteLength(JSON.stringify(frame));
    // A device that stopped polling: cut it off rather than buffer without bound (its messages wait in the inbox).
    if (this.#outboxBytes > this.#d.limits.maxBufferedBytes) return this.close('slow consumer');
    this.#version += 1;
    this.#held?.wake();
  }

  close(_reason = 'closed by server'): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#lease !== undefined) this.#d.clock.clearTimeout(this.#lease);
    this.#held?.wake();
    for (const c of this.#collectors) c.done();
    this.#d.forget();
    this.#handler.closed(this);
  }

  /** `GET`: outbox frames and inbox entries after `after`, at once or when there are some, or none after `wait`. */
  async poll(url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { clock, limits } = this.#d;
    const after = optionalInt(url.searchParams.get('after'), 'after');
    const wait = Math.min(
      optionalInt(url.searchParams.get('wait'), 'wait') ?? limits.pollTimeoutMs,
      limits.pollTimeoutMs,
    );
    const deadline = clock.now() + wait;
    // A device has one poll in flight: a newer one answers the older one (empty) at once.
    const generation = ++this.#generation;
    this.#held?.replace();
    this.#begin();
    try {
      for (;;) {
        const seen = this.#version;
        // A device's first poll has no cursor: the hello names it, and the first page goes along with the hello.
        const from = after ?? this.#helloCursor();
        const entries = from === undefined ? [] : await this.#entries(from);
        if (generation !== this.#generation || this.#closed) return sendFrames(response, []);
        const frames = [...this.#takeOutbox(), ...entries];
        if (frames.length > 0) return sendFrames(response, frames);
        if (this.#version !== seen) continue; // news arrived while the store was read: read again
        const left = deadline - clock.now();
        if (left <= 0) return sendFrames(response, []);
        // Held until news on this node; at the latest after `recheckMs`, the store is read again (another node
        // may have stored something).
        const outcome = await this.#hold(request, Math.min(left, limits.recheckMs));
        if (outcome !== 'news' && outcome !== 'timer') return sendFrames(response, []);
      }
    } finally {
      this.#end();
    }
  }

  /** `POST`: pass each frame to the server in order; answer with the replies to those that carry a `ref`. */
  async post(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { limits, clock } = this.#d;
    this.#begin();
    try {
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > limits.maxRequestBytes) throw tooLarge(limits.maxRequestBytes);
      const bytes = await readBody(request, limits.maxRequestBytes, () => tooLarge(limits.maxRequestBytes));
      const text = Buffer.from(bytes).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        throw new HttpError(400, 'VALIDATION', 'the body must be a JSON array of frames');
      }
      const frames = Array.isArray(body) ? body : [body];
      if (frames.length > limits.maxFramesPerRequest) {
        throw new HttpError(
          413,
          'PAYLOAD_TOO_LARGE',
          `at most ${limits.maxFramesPerRequest} frames per request`,
        );
      }
      let done = (): void => undefined;
      const answered = new Promise<void>((resolve) => (done = resolve));
      const collector: Collector = { refs: new Set(), answers: new Map(), done: () => done() };
      const order: string[] = [];
      const loose: ServerFrame[] = [];
      this.#collectors.add(collector);
      for (const frame of frames) {
        const ref = refOf(frame);
        if (ref !== undefined) order.push(ref);
        const refusal = this.#check(frame, bytes.byteLength > limits.maxFrameBytes);
        if (refusal !== undefined) {
          const error: ServerFrame = { type: 'error', ...(ref === undefined ? {} : { ref }), ...refusal };
          if (ref === undefined) loose.push(error);
          else collector.answers.set(ref, error);
          continue;
        }
        if (ref !== undefined) collector.refs.add(ref);
        this.#handler.received(this, frame);
        if (this.#closed) break;
      }
      if (collector.refs.size > 0 && !this.#closed) {
        let timer: TimerHandle | undefined;
        await Promise.race([
          answered,
          new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, limits.replyTimeoutMs))),
        ]);
        if (timer !== undefined) clock.clearTimeout(timer);
      }
      this.#collectors.delete(collector);
      // The answers in the order their frames were posted; late ones go to the outbox, for the next poll.
      const answers = [...new Set(order)].flatMap((ref) => {
        const answer = collector.answers.get(ref);
        return answer === undefined ? [] : [answer];
      });
      sendFrames(response, [...answers, ...loose]);
    } finally {
      this.#end();
    }
  }

  /** The cursor of a `hello` waiting in the outbox, if one is. */
  #helloCursor(): number | undefined {
    for (const frame of this.#outbox) if (frame.type === 'hello') return frame.cursor;
    return undefined;
  }

  #takeOutbox(): ServerFrame[] {
    this.#outboxBytes = 0;
    return this.#outbox.splice(0);
  }

  /** The inbox entries after `after` as frames; a cursor the store cannot serve becomes an error frame. */
  async #entries(after: number): Promise<ServerFrame[]> {
    try {
      const page = await this.#d.readInbox(this.identity.userId, after, POLL_PAGE);
      return page.entries.map((entry) => ({ type: 'entry', entry }));
    } catch (error) {
      if (!ChatRoomError.is(error)) throw error;
      return [{ type: 'error', code: error.code, message: error.message, details: error.details }];
    }
  }

  /** Waits for news, a newer poll, the client going away, or `ms`. */
  #hold(request: IncomingMessage, ms: number): Promise<'news' | 'replaced' | 'gone' | 'timer'> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: 'news' | 'replaced' | 'gone' | 'timer'): void => {
        if (settled) return;
        settled = true;
        this.#d.clock.clearTimeout(timer);
        request.socket.off('close', onGone);
        if (this.#held === held) this.#held = undefined;
        resolve(outcome);
      };
      const onGone = (): void => settle('gone');
      const timer = this.#d.clock.setTimeout(() => settle('timer'), ms);
      const held: HeldPoll = {
        wake: () => settle(this.#closed ? 'gone' : 'news'),
        replace: () => settle('replaced'),
      };
      this.#held = held;
      request.socket.once('close', onGone);
    });
  }

  /** Size and rate checks of one posted frame: the refusal, or `undefined` to let it through. */
  #check(
    frame: unknown,
    measure: boolean,
  ): { code: ErrorCode; message: string; details?: Record<string, unknown> } | undefined {
    const { limits, clock } = this.#d;
    // A body within the frame limit holds no frame over it: only a bigger body needs each frame measured.
    if (measure && Buffer.byteLength(JSON.stringify(frame) ?? '') > limits.maxFrameBytes) {
      return {
        code: 'PAYLOAD_TOO_LARGE',
        message: `a frame may be at most ${limits.maxFrameBytes} bytes`,
        details: { maxFrameBytes: limits.maxFrameBytes },
      };
    }
    const retryAfterMs = this.#pacer.admit(refOf(frame), clock.now(), this.#d.userWait);
    if (retryAfterMs === 0) return undefined;
    return {
      code: 'RATE_LIMITED',
      message: `too many frames: retry after ${retryAfterMs} ms`,
      details: { retryAfterMs },
    };
  }

  #begin(): void {
    this.#active += 1;
    if (this.#lease !== undefined) this.#d.clock.clearTimeout(this.#lease);
    this.#lease = undefined;
  }

  #end(): void {
    this.#active -= 1;
    if (this.#active === 0 && !this.#closed) this.#armLease();
  }

  #armLease(): void {
    this.#lease = this.#d.clock.setTimeout(() => {
      this.#lease = undefined;
      if (this.#active === 0) this.close('lease expired');
    }, this.#d.limits.leaseMs);
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `a request may be at most ${limit} bytes`);
}

function sendFrames(response: ServerResponse, frames: readonly ServerFrame[], status = 200): void {
  if (response.headersSent || response.destroyed) return;
  const json = JSON.stringify({ frames });
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(json)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(json);
}

/** Answers a refusal as an error frame; an unexpected failure says nothing about internals. */
function answerError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
  if (response.headersSent || response.destroyed) return;
  const refusal =
    error instanceof HttpError
      ? error
      : ChatRoomError.is(error) && error.code === 'PAYLOAD_TOO_LARGE'
        ? new HttpError(413, error.code, error.message)
        : new HttpError(500, 'STORAGE', 'the server could not complete the request');
  const json = JSON.stringify({ frames: [{ type: 'error', code: refusal.code, message: refusal.message }] });
  response.writeHead(refusal.status, {
    ...refusal.headers,
    ...(request.complete ? {} : { Connection: 'close' }),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(json)),
    'Cache-Control': 'no-store',
  });
  response.end(json);
  if (!request.complete) response.once('finish', () => request.destroy());
}

function optionalInt(value: string | null, field: string): number | undefined {
  if (value === null) return undefined;
  if (!/^\d{1,15}$/.test(value))
    throw new HttpError(400, 'VALIDATION', `${field} must be a non-negative integer`);
  return Number(value);
}

/** The limits in force: the shared checks, and a lease longer than the longest poll. */
function resolveLongPollLimits(limits: LongPollLimits | undefined): Required<LongPollLimits> {
  const resolved = resolveLimits(limits, DEFAULT_LIMITS);
  if (resolved.leaseMs <= resolved.pollTimeoutMs) {
    throw new ValidationError('limits.leaseMs must be longer than limits.pollTimeoutMs', {
      details: { field: 'limits.leaseMs' },
    });
  }
  return resolved;
}
