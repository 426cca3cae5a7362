import type { ClientFrame, ServerFrame } from '../../protocol';
import type {
  ClientLink,
  ClientLinkHandler,
  ClientTransport,
  Clock,
  Connection,
  ConnectionIdentity,
  Transport,
  TransportHandler,
} from '../../ports';
import { TransportError, ValidationError } from '../../domain';
import { SystemClock } from '../../util/system-clock';

/**
 * Faults to inject into every link, driven by a seeded random generator so a failing schedule can be replayed.
 * Different delays reorder frames.
 */
export interface LinkFaults {
  /** Returns a number in [0, 1); pass a seeded generator. */
  readonly random: () => number;
  /** Probability that a frame is lost. */
  readonly drop?: number;
  /** Probability that a frame arrives twice. */
  readonly duplicate?: number;
  /**
   * Each frame is held for a uniform random time in this range (ms, on the injected clock). Frames of one link
   * still arrive in the order sent, as on one TCP connection, unless `reorder` says otherwise.
   */
  readonly delayMs?: readonly [number, number];
  /** Probability that a delayed frame may overtake the frames sent before it on its link. */
  readonly reorder?: number;
}

/** One direction of a link: frames queue here so that delays keep their order. */
interface Lane {
  due: number;
}

/** Options of the in-memory transport. */
export interface InMemoryTransportOptions {
  /** The clock delays run on. */
  readonly clock?: Clock;
  /** Faults to inject from the start. */
  readonly faults?: LinkFaults;
}

/**
 * A transport inside one process. Frames cross it as JSON text, as on a real wire, so nothing shares mutable
 * state across it; without faults they arrive synchronously and in order. It plays both ends: the server
 * `listen`s, devices `open` links.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryTransport, ManualClock } from 'chat-room'
 * const clock = new ManualClock()
 * const transport = new InMemoryTransport({ clock })
 * const chat = ChatSystem.create({ clock, transport })
 * transport.setFaults({ random: Math.random, duplicate: 0.1, delayMs: [0, 50] })
 * ```
 */
export class InMemoryTransport implements Transport, ClientTransport {
  readonly #clock: Clock;
  #faults: LinkFaults | undefined;
  #handler: TransportHandler | undefined;
  #nextId = 1;
  readonly #links = new Map<string, MemoryLink>();

  /**
   * Creates a transport.
   *
   * @param options - clock and faults
   */
  constructor(options: InMemoryTransportOptions = {}) {
    this.#clock = options.clock ?? new SystemClock();
    this.#faults = options.faults;
  }

  listen(handler: TransportHandler): void {
    if (this.#handler !== undefined)
      throw new ValidationError('this transport already has a server listening');
    this.#handler = handler;
  }

  async close(): Promise<void> {
    for (const link of [...this.#links.values()]) link.hangUp('server closed');
    this.#handler = undefined;
  }

  /**
   * Replaces the faults injected from now on; `undefined` heals the links.
   *
   * @param faults - the faults, or `undefined`
   */
  setFaults(faults: LinkFaults | undefined): void {
    this.#faults = faults;
  }

  /** How many links are open. */
  get openLinks(): number {
    return this.#links.size;
  }

  /**
   * Cuts one connection, as a network failure would: both ends see it close.
   *
   * @param connectionId - the server-side connection id
   * @returns whether such a connection was open
   */
  cut(connectionId: string): boolean {
    const link = this.#links.get(connectionId);
    link?.hangUp('connection lost');
    return link !== undefined;
  }

  open(identity: ConnectionIdentity, handler: ClientLinkHandler): ClientLink {
    const server = this.#handler;
    if (server === undefined) throw new TransportError('no server is listening on this transport');
    const link = new MemoryLink(`mem-${this.#nextId++}`, identity, handler, server, this);
    this.#links.set(link.id, link);
    server.opened(link.connection);
    return link.client;
  }

  /** @internal Carries one frame across a lane, applying the faults. */
  carry(lane: Lane, deliver: () => void): void {
    const f = this.#faults;
    const now = this.#clock.now();
    if (f === undefined && lane.due <= now) return deliver();
    if (f?.drop !== undefined && f.random() < f.drop) return;
    const copies = f?.duplicate !== undefined && f.random() < f.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let due = now;
      if (f?.delayMs !== undefined) {
        const [lo, hi] = f.delayMs;
        due += lo + Math.floor(f.random() * (hi - lo + 1));
      }
      const overtakes = f?.reorder !== undefined && f.random() < f.reorder;
      if (!overtakes) {
        due = Math.max(due, lane.due);
        lane.due = due;
      }
      if (due <= now) deliver();
      else this.#clock.setTimeout(deliver, due - now);
    }
  }

  /** @internal */
  forget(id: string): void {
    this.#links.delete(id);
  }
}

class MemoryLink {
  readonly id: string;
  readonly connection: Connection;
  readonly client: ClientLink;
  readonly #transport: InMemoryTransport;
  readonly #device: ClientLinkHandler;
  readonly #server: TransportHandler;
  #open = true;

  constructor(
    id: string,
    identity: ConnectionIdentity,
    device: ClientLinkHandler,
    server: TransportHandler,
    transport: InMemoryTransport,
  ) {
    this.id = id;
    this.#transport = transport;
    this.#device = device;
    this.#server = server;
    const isOpen = (): boolean => this.#open;
    const down: Lane = { due: 0 };
    const up: Lane = { due: 0 };
    this.connection = {
      id,
      identity,
      send: (frame: ServerFrame): void => {
        if (!this.#open) return;
        const text = JSON.stringify(frame);
        transport.carry(down, () => this.#open && device.received(JSON.parse(text) as ServerFrame));
      },
      close: (reason = 'closed by server'): void => this.hangUp(reason),
    };
    this.client = {
      send: (frame: ClientFrame): void => {
        if (!this.#open) throw new TransportError('the connection is closed');
        const text = JSON.stringify(frame);
        transport.carry(
          up,
          () => this.#open && server.received(this.connection, JSON.parse(text) as unknown),
        );
      },
      close: (): void => this.hangUp('closed by client'),
      get open(): boolean {
        return isOpen();
      },
    };
  }

  hangUp(reason: string): void {
    if (!this.#open) return;
    this.#open = false;
    this.#transport.forget(this.id);
    this.#server.closed(this.connection);
    this.#device.closed(reason);
  }
}
