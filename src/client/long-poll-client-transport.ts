/**
 * The device side of the HTTP long-poll transport, over the standard `fetch` only (browsers, Node ≥ 18): for
 * networks where a WebSocket cannot get through (proxies that strip `Upgrade`, captive portals, old middleboxes).
 *
 * @module
 */
import type { ClientFrame, ServerFrame } from '../protocol';
import type { ClientLink, ClientLinkHandler, ClientTransport, ConnectionIdentity } from '../ports';

/** The `fetch` function a long-poll link uses: `globalThis.fetch` or any function with its signature. */
export type FetchLike = typeof fetch;

/** Options of a `LongPollClientTransport`. */
export interface LongPollClientTransportOptions {
  /** The server's HTTP origin, e.g. `http://localhost:8080/` (a `ChatServer`'s `httpUrl`); `poll` is resolved on it. */
  readonly url: string;
  /** The bearer token, sent as `Authorization: Bearer <token>` on every request. */
  readonly token: string;
  /** The `fetch` function; default `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /** How long the server may hold a poll that has nothing to answer (ms, at most 25 000). Default 25 000. */
  readonly waitMs?: number;
}

/** The longest a server holds a poll (ms): the default and the maximum of `waitMs`. */
export const LONG_POLL_MAX_WAIT_MS = 25_000;
/** The most frames one `POST` carries. */
export const LONG_POLL_MAX_FRAMES_PER_POST = 64;
/** The largest body one `POST` carries, in bytes. */
export const LONG_POLL_MAX_POST_BYTES = 256 * 1024;
/**
 * How much longer than the server may hold it (a poll: `waitMs`; a post: 10 s) a request may take before the link
 * gives up on a server that stopped answering.
 */
const GRACE_MS = 15_000;
/** How long the server collects the answers to a post. */
const POST_COLLECT_MS = 10_000;

/** The `fetch` function to use, or an explanation of why there is none. */
export function resolveFetch(given?: FetchLike): FetchLike {
  const f = given ?? (globalThis as { fetch?: FetchLike }).fetch;
  if (typeof f !== 'function') {
    throw new TypeError('no fetch implementation: pass one as the `fetch` option');
  }
  return given ?? ((input, init) => globalThis.fetch(input, init));
}

/**
 * A `ClientTransport` over HTTP long-poll: each link is a random id the client sends with every request to
 * `<url>/poll`. One `GET` at a time waits for what the server has for the device (its outbox, then the inbox
 * entries after the newest one seen); frames to send are batched into one `POST` at a time, so they reach the
 * server in order, and the `POST`'s answer carries the replies to them. The identity's `deviceId` and
 * `foreground` travel as query parameters; the server derives the user from the token. The handler hears
 * `closed` exactly once, and nothing after it.
 *
 * @example
 * ```ts
 * import { ChatSession, SystemClock } from 'chat-room'
 * import { LongPollClientTransport } from 'chat-room/client'
 * const transport = new LongPollClientTransport({ url: 'http://localhost:8080/', token })
 * const session = new ChatSession(transport, { userId: 'bob', deviceId: 'phone', foreground: true, clock: new SystemClock() })
 * ```
 */
export class LongPollClientTransport implements ClientTransport {
  readonly #url: URL;
  readonly #token: string;
  readonly #fetch: FetchLike;
  readonly #waitMs: number;

  /**
   * @param options - url, token, fetch, waitMs
   * @throws TypeError when the url is not an http(s) URL, `waitMs` is out of range, or there is no `fetch`
   */
  constructor(options: LongPollClientTransportOptions) {
    const url = new URL('poll', options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError('url must be an http:// or https:// URL');
    }
    const waitMs = options.waitMs ?? LONG_POLL_MAX_WAIT_MS;
    if (!Number.isSafeInteger(waitMs) || waitMs < 0 || waitMs > LONG_POLL_MAX_WAIT_MS) {
      throw new TypeError(`waitMs must be an integer from 0 to ${LONG_POLL_MAX_WAIT_MS}`);
    }
    this.#url = url;
    this.#token = options.token;
    this.#fetch = resolveFetch(options.fetch);
    this.#waitMs = waitMs;
  }

  /** Opens a link: a new link id; the first request (a poll, or a post if one is sent first) opens it on the server. */
  open(identity: ConnectionIdentity, handler: ClientLinkHandler): ClientLink {
    return new LongPollClientLink(
      {
        url: this.#url,
        token: this.#token,
        fetch: this.#fetch,
        waitMs: this.#waitMs,
        deviceId: identity.deviceId,
        foreground: identity.foreground,
      },
      handler,
    );
  }
}

/** What one long-poll link needs to know. */
export interface LongPollLinkOptions {
  /** The `/poll` endpoint. */
  readonly url: URL;
  readonly token: string;
  readonly fetch: FetchLike;
  readonly waitMs: number;
  readonly deviceId: string;
  readonly foreground: boolean;
  /** The link's id; default a random UUID. */
  readonly linkId?: string;
}

/** Why a request failed: ends the link with `reason`. */
class LinkFailure extends Error {}

/** One long-poll link as a `ClientLink`: a poll loop and a post queue sharing a link id. */
export class LongPollClientLink implements ClientLink {
  /** The link's id, sent as the `link` query parameter. */
  readonly id: string;
  readonly #options: LongPollLinkOptions;
  readonly #handler: ClientLinkHandler;
  readonly #abort = new AbortController();
  readonly #queue: string[] = [];
  #posting = false;
  #flushScheduled = false;
  #greeted = false;
  #after: number | undefined;
  #closed = false;

  constructor(options: LongPollLinkOptions, handler: ClientLinkHandler) {
    this.#options = options;
    this.#handler = handler;
    this.id = options.linkId ?? globalThis.crypto.randomUUID();
    // Started on a microtask, so that the handler hears nothing before `open` returned.
    queueMicrotask(() => void this.#pollLoop());
  }

  /** Whether the link has not been closed. */
  get open(): boolean {
    return !this.#closed;
  }

  /** The newest inbox entry this link has seen (`undefined` before the hello); polls ask for what follows it. */
  get after(): number | undefined {
    return this.#after;
  }

  /** Queues a frame; the frames queued in one turn go together in one `POST`, after the one in flight. */
  send(frame: ClientFrame): void {
    if (this.#closed) return;
    this.#queue.push(JSON.stringify(frame));
    if (this.#flushScheduled || this.#posting) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      void this.#flush();
    });
  }

  /** Hangs up: aborts what is in flight, tells the server (`DELETE`, not awaited), reports `closed`. */
  close(): void {
    this.#end('closed by client');
  }

  async #pollLoop(): Promise<void> {
    try {
      while (!this.#closed) {
        const params: Record<string, string> = { wait: String(this.#options.waitMs) };
        if (this.#after !== undefined) params.after = String(this.#after);
        this.#deliver(await this.#request('GET', params, undefined, this.#options.waitMs + GRACE_MS));
      }
    } catch (e) {
      this.#fail(e);
    }
  }

  async #flush(): Promise<void> {
    if (this.#posting || this.#closed || this.#queue.length === 0) return;
    this.#posting = true;
    try {
      while (!this.#closed && this.#queue.length > 0) {
        const body = this.#nextBatch();
        this.#deliver(await this.#request('POST', {}, body, POST_COLLECT_MS + GRACE_MS));
      }
    } catch (e) {
      this.#fail(e);
    } finally {
      this.#posting = false;
    }
  }

  /**
   * Hands frames to the handler in order, and moves the poll position: the hello sets it to the newest entry the
   * server has, each entry past it. A hello after the first (another server node greeting the link) is dropped.
   */
  #deliver(frames: readonly ServerFrame[]): void {
    for (const frame of frames) {
      if (this.#closed) return;
      if (frame.type === 'hello') {
        if (this.#greeted) continue;
        this.#greeted = true;
        this.#after = Math.max(this.#after ?? 0, frame.latest);
      } else if (frame.type === 'entry' && this.#after !== undefined) {
        this.#after = Math.max(this.#after, frame.entry.inboxSeq);
      }
      this.#handler.received(frame);
    }
  }

  /** Takes the next frames off the queue: at most 64, and at most 256 KiB together (one frame at least). */
  #nextBatch(): string {
    const encoder = new TextEncoder();
    let bytes = 2;
    let count = 0;
    while (count < this.#queue.length && count < LONG_POLL_MAX_FRAMES_PER_POST) {
      const size = encoder.encode(this.#queue[count] as string).length + (count > 0 ? 1 : 0);
      if (count > 0 && bytes + size > LONG_POLL_MAX_POST_BYTES) break;
      bytes += size;
      count++;
    }
    return `[${this.#queue.splice(0, count).join(',')}]`;
  }

  /** One request on the link; resolves with the answer's frames, or throws a `LinkFailure` saying why not. */
  async #request(
    method: 'GET' | 'POST',
    params: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<ServerFrame[]> {
    const timer = setTimeout(() => {
      this.#fail(new LinkFailure(`no answer to ${method} /poll within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      let response: Response;
      try {
        response = await this.#options.fetch(this.#urlWith(params), {
          method,
          headers: {
            Authorization: `Bearer ${this.#options.token}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body }),
          signal: this.#abort.signal,
        });
      } catch (e) {
        throw new LinkFailure(`connection error: ${describe(e)}`);
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new LinkFailure(`${method} /poll answered ${response.status}`);
      }
      let answer: unknown;
      try {
        answer = await response.json();
      } catch {
        throw new LinkFailure(`malformed answer to ${method} /poll`);
      }
      const frames = (answer as { frames?: unknown } | null)?.frames;
      if (
        !Array.isArray(frames) ||
        !frames.every(
          (f) => typeof f === 'object' && f !== null && typeof (f as { type?: unknown }).type === 'string',
        )
      ) {
        throw new LinkFailure(`malformed answer to ${method} /poll`);
      }
      return frames as ServerFrame[];
    } finally {
      clearTimeout(timer);
    }
  }

  #urlWith(params: Record<string, string>): string {
    const url = new URL(this.#options.url);
    url.searchParams.set('link', this.id);
    url.searchParams.set('deviceId', this.#options.deviceId);
    url.searchParams.set('foreground', String(this.#options.foreground));
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return url.toString();
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#end(error instanceof LinkFailure ? error.message : `link error: ${String(error)}`);
  }

  #end(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#abort.abort();
    // Tell the server now rather than leave the device online until the link times out there.
    try {
      this.#options
        .fetch(this.#urlWith({}), {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${this.#options.token}` },
          keepalive: true,
        })
        .then((response) => response.body?.cancel())
        .catch(() => undefined);
    } catch {
      // a fetch that throws at once: the server closes the link when its lease runs out
    }
    this.#handler.closed(reason);
  }
}

/** An error's message, with its cause's (`fetch failed` says little by itself). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
