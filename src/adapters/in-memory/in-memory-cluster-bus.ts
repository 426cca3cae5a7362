import type { ClusterBus, ClusterBusStats, ClusterNotice, ClusterNoticeHandler } from '../../ports';
import { callReconnectHandlers, dispatchClusterMessage } from '../../ports';

/**
 * The medium several `InMemoryClusterBus` nodes share in one process: the list of nodes, and whether the
 * medium is up. Tests use it to simulate a cluster, an outage (`down()`/`up()`), and a malformed message
 * (`injectRaw`).
 *
 * @example
 * ```ts
 * import { InMemoryClusterBus, InMemoryClusterHub } from 'chat-room'
 * const hub = new InMemoryClusterHub()
 * const nodes = ['a', 'b', 'c'].map((nodeId) => new InMemoryClusterBus({ hub, nodeId }))
 * ```
 */
export class InMemoryClusterHub {
  readonly #nodes: InMemoryClusterBus[] = [];
  #up = true;

  /** Whether the medium is up: while it is down, publishes are dropped. */
  get isUp(): boolean {
    return this.#up;
  }

  /** Adds a node; called by `InMemoryClusterBus`'s constructor. */
  join(node: InMemoryClusterBus): void {
    if (this.#nodes.some((n) => n.nodeId === node.nodeId)) {
      throw new Error(`node id ${node.nodeId} is already on this hub`);
    }
    this.#nodes.push(node);
  }

  /** Removes a node; called by `close()`. */
  leave(node: InMemoryClusterBus): void {
    const i = this.#nodes.indexOf(node);
    if (i >= 0) this.#nodes.splice(i, 1);
  }

  /** Hands a raw message to every node subscribed to `channel`, as the medium would. */
  deliver(channel: string, raw: string): void {
    for (const node of [...this.#nodes]) node.receive(channel, raw);
  }

  /**
   * Delivers a message that did not come from a bus (a test's malformed input).
   *
   * @param channel - the channel
   * @param raw - the message, as bytes on the medium would read
   */
  injectRaw(channel: string, raw: string): void {
    this.deliver(channel, raw);
  }

  /** Takes the medium down: publishes resolve false and are lost. */
  down(): void {
    this.#up = false;
  }

  /** Brings the medium back: every node fires its reconnect handlers. */
  up(): void {
    if (this.#up) return;
    this.#up = true;
    for (const node of [...this.#nodes]) node.reconnected();
  }
}

/** Options of `InMemoryClusterBus`. */
export interface InMemoryClusterBusOptions {
  /** The medium this node shares with the others. */
  readonly hub: InMemoryClusterHub;
  /** This node's id, unique on the hub. */
  readonly nodeId: string;
}

/**
 * The reference `ClusterBus`: nodes in one process share a hub; a notice goes through JSON as on the wire and is
 * delivered synchronously to every other node's handlers of its channel.
 *
 * @example
 * ```ts
 * import { InMemoryClusterBus, InMemoryClusterHub } from 'chat-room'
 * const hub = new InMemoryClusterHub()
 * const a = new InMemoryClusterBus({ hub, nodeId: 'a' })
 * const b = new InMemoryClusterBus({ hub, nodeId: 'b' })
 * await b.subscribe('presence', (notice) => console.log(notice))
 * await a.publish('presence', { kind: 'presence', record: { userId: 'bob', status: 'online', lastActiveAt: 0, lastSeenAt: 0 } })
 * ```
 */
export class InMemoryClusterBus implements ClusterBus {
  readonly nodeId: string;
  readonly #hub: InMemoryClusterHub;
  readonly #handlers = new Map<string, ClusterNoticeHandler[]>();
  readonly #reconnectHandlers: (() => void)[] = [];
  readonly #stats = { published: 0, dropped: 0, received: 0, malformed: 0, handlerErrors: 0 };
  #closed = false;

  /**
   * Joins the hub as a node.
   *
   * @param options - the hub and this node's id
   * @throws Error when the node id is already on the hub
   */
  constructor(options: InMemoryClusterBusOptions) {
    this.nodeId = options.nodeId;
    this.#hub = options.hub;
    this.#hub.join(this);
  }

  async publish(channel: string, notice: ClusterNotice): Promise<boolean> {
    if (this.#closed || !this.#hub.isUp) {
      this.#stats.dropped++;
      return false;
    }
    this.#stats.published++;
    this.#hub.deliver(channel, JSON.stringify({ from: this.nodeId, notice }));
    return true;
  }

  async subscribe(channel: string, handler: ClusterNoticeHandler): Promise<() => Promise<void>> {
    if (this.#closed) return async () => {};
    const list = this.#handlers.get(channel) ?? [];
    list.push(handler);
    this.#handlers.set(channel, list);
    return async () => {
      const current = this.#handlers.get(channel) ?? [];
      const i = current.indexOf(handler);
      if (i >= 0) current.splice(i, 1);
      if (current.length === 0) this.#handlers.delete(channel);
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
    this.#closed = true;
    this.#handlers.clear();
    this.#reconnectHandlers.length = 0;
    this.#hub.leave(this);
  }

  /** Takes one message off the hub; called by the hub. */
  receive(channel: string, raw: string): void {
    const handlers = this.#handlers.get(channel);
    if (this.#closed || handlers === undefined) return;
    dispatchClusterMessage(raw, this.nodeId, handlers, this.#stats);
  }

  /** The medium is back; called by the hub. */
  reconnected(): void {
    callReconnectHandlers(this.#reconnectHandlers, this.#stats);
  }
}
