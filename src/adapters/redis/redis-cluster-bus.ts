import type { Redis } from 'ioredis';
import type { ClusterBus, ClusterBusStats, ClusterNotice, ClusterNoticeHandler } from '../../ports';
import { callReconnectHandlers, dispatchClusterMessage } from '../../ports';

/** The connection states in which the connection was lost (and ioredis may be retrying). */
const LOST = new Set(['reconnecting', 'close', 'end']);

/** Options of `RedisClusterBus`. */
export interface RedisClusterBusOptions {
  /** The client notices are published with; it may be shared with other commands. The bus never closes it. */
  readonly pub: Redis;
  /** A client for this bus alone: Redis puts a subscribed connection in subscriber mode. The bus never closes it. */
  readonly sub: Redis;
  /** This node's id, unique in the cluster (a random one by default). */
  readonly nodeId?: string;
  /** Prepended to every channel name (default `chat-room:bus:`), so several systems or tests can share one Redis. */
  readonly channelPrefix?: string;
}

/**
 * A `ClusterBus` on Redis pub/sub, with the two ioredis clients passed in (`pub`, `sub`). Each message is JSON
 * `{from, notice}`; a node drops its own messages and counts (and drops) anything that is not a well-formed notice.
 *
 * Redis pub/sub is at most once, and the bus never throws into the node:
 * - `publish` while the publisher's connection is down resolves `false` at once and counts the notice as dropped
 *   (waiting would only deliver it late; the receivers repair on reconnect instead).
 * - Both clients get an `error` listener, so a lost Redis never becomes an unhandled `error` event.
 * - When the subscriber's connection comes back (ioredis reconnects by itself), the bus subscribes to its
 *   channels again, then fires the `onReconnect` handlers: the moment to re-read what may have been missed.
 *
 * Pattern: Observer — local handlers subscribe to channels that span every node.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * import { RedisClusterBus } from 'chat-room/redis'
 * const pub = new Redis(process.env.REDIS_URL!)
 * const bus = new RedisClusterBus({ pub, sub: pub.duplicate(), nodeId: 'node-1' })
 * bus.onReconnect(() => console.log('re-read the inbox positions of connected users'))
 * await bus.subscribe('inbox', (notice, from) => console.log(from, notice))
 * await bus.publish('inbox', { kind: 'entry', userId: 'bob', inboxSeq: 7 })
 * ```
 */
export class RedisClusterBus implements ClusterBus {
  readonly nodeId: string;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  /** Handlers by full (prefixed) channel name. */
  readonly #handlers = new Map<string, ClusterNoticeHandler[]>();
  readonly #reconnectHandlers: (() => void)[] = [];
  readonly #stats = { published: 0, dropped: 0, received: 0, malformed: 0, handlerErrors: 0 };
  #subWasReady: boolean;
  #closed = false;

  readonly #onError = (): void => {
    // Connection errors are expected while Redis is down; ioredis retries on its own.
  };
  readonly #onMessage = (channel: string, raw: string): void => this.#receive(channel, raw);
  readonly #onSubReady = (): void => void this.#resubscribe();

  /**
   * Wraps the two clients and starts listening on `sub`.
   *
   * @param options - the clients, node id and channel prefix
   */
  constructor(options: RedisClusterBusOptions) {
    this.#pub = options.pub;
    this.#sub = options.sub;
    this.nodeId = options.nodeId ?? `node-${Math.random().toString(36).slice(2, 10)}`;
    this.#prefix = options.channelPrefix ?? 'chat-room:bus:';
    this.#subWasReady = this.#sub.status === 'ready';
    this.#pub.on('error', this.#onError);
    this.#sub.on('error', this.#onError);
    this.#sub.on('message', this.#onMessage);
    this.#sub.on('ready', this.#onSubReady);
  }

  async publish(channel: string, notice: ClusterNotice): Promise<boolean> {
    if (this.#closed || this.#pub.status !== 'ready') {
      this.#stats.dropped++;
      return false;
    }
    try {
      await this.#pub.publish(this.#prefix + channel, JSON.stringify({ from: this.nodeId, notice }));
      this.#stats.published++;
      return true;
    } catch {
      this.#stats.dropped++;
      return false;
    }
  }

  async subscribe(channel: string, handler: ClusterNoticeHandler): Promise<() => Promise<void>> {
    if (this.#closed) return async () => {};
    const full = this.#prefix + channel;
    const list = this.#handlers.get(full);
    if (list !== undefined) list.push(handler);
    else {
      this.#handlers.set(full, [handler]);
      // While the connection is lost, the `ready` listener subscribes to every channel once it is back; while it is
      // first being made, ioredis holds the command until it is up.
      if (!LOST.has(this.#sub.status)) await this.#sub.subscribe(full).catch(this.#onError);
    }
    return async () => {
      const current = this.#handlers.get(full);
      const i = current?.indexOf(handler) ?? -1;
      if (current === undefined || i < 0) return;
      current.splice(i, 1);
      if (current.length > 0) return;
      this.#handlers.delete(full);
      if (!this.#closed && this.#sub.status === 'ready')
        await this.#sub.unsubscribe(full).catch(this.#onError);
    };
  }

  onReconnect(handler: () => void): () => void {
    this.#reconnectHandlers.push(handler);
    return () => {
      const i = this.#reconnectHandlers.indexOf(handler);
      if (i >= 0) this.#reconnectHandlers.splice(i, 1);
    };
  }

  stats(): ClusterBusStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const channels = [...this.#handlers.keys()];
    this.#handlers.clear();
    this.#reconnectHandlers.length = 0;
    this.#sub.off('message', this.#onMessage);
    this.#sub.off('ready', this.#onSubReady);
    if (channels.length > 0 && this.#sub.status === 'ready') {
      await this.#sub.unsubscribe(...channels).catch(this.#onError);
    }
    // The error listeners stay: the clients are the caller's, and may still be reconnecting.
  }

  /** The subscriber is connected: subscribe to every channel, and after a lost connection tell the node. */
  async #resubscribe(): Promise<void> {
    const reconnected = this.#subWasReady;
    this.#subWasReady = true;
    const channels = [...this.#handlers.keys()];
    // ioredis resubscribes by itself unless `autoResubscribe: false`; SUBSCRIBE again is harmless either way.
    if (channels.length > 0) await this.#sub.subscribe(...channels).catch(this.#onError);
    if (!reconnected || this.#closed) return;
    callReconnectHandlers(this.#reconnectHandlers, this.#stats);
  }

  #receive(channel: string, raw: string): void {
    const handlers = this.#handlers.get(channel);
    if (this.#closed || handlers === undefined) return;
    dispatchClusterMessage(raw, this.nodeId, handlers, this.#stats);
  }
}
