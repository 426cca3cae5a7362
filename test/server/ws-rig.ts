/**
 * A real server on 127.0.0.1 over a `ChatSystem` on a `ManualClock`, and devices on real `ws` sockets that record
 * every frame: what the privacy and typing tests drive. Every wait is bounded; nothing sleeps.
 *
 * @module
 */
import type { ChatSystemDeps, ClientFrame, ServerFrame } from 'chat-room';
import { ChatSystem, ManualClock } from 'chat-room';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import { WebSocket } from 'ws';

/** When the manual clock starts. */
export const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

/** How long any wait for a socket event may take before the test fails. */
export const WAIT_MS = 5_000;

const tokens = createTokenAuth({ secret: 'privacy-test-secret-that-is-at-least-32-bytes' });

/** A frame as the server sent it: the JSON text too, to compare two answers byte for byte. */
export interface Heard {
  readonly frame: ServerFrame;
  readonly text: string;
}

/** One device over a real socket, recording every frame it receives. */
export class Device {
  readonly heard: Heard[] = [];
  readonly #waiters = new Set<() => void>();
  readonly closed: Promise<void>;
  #refs = 0;

  constructor(
    readonly userId: string,
    readonly ws: WebSocket,
  ) {
    ws.on('message', (data) => {
      const text = String(data);
      this.heard.push({ frame: JSON.parse(text) as ServerFrame, text });
      for (const wake of [...this.#waiters]) wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', () => resolve()));
    ws.on('error', () => undefined);
  }

  /** Every frame received so far. */
  get frames(): ServerFrame[] {
    return this.heard.map((h) => h.frame);
  }

  /** The typing frames received so far. */
  typing(): Extract<ServerFrame, { type: 'typing' }>[] {
    return this.frames.flatMap((f) => (f.type === 'typing' ? [f] : []));
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /**
   * Waits for a frame (received already or later) that matches, bounded by `WAIT_MS`.
   *
   * @param match - which frame
   * @param what - what it is, for the failure message
   * @param from - look only at frames from this index on (those received after some point)
   */
  next(match: (f: ServerFrame) => boolean, what = 'a frame', from = 0): Promise<Heard> {
    return new Promise<Heard>((resolve, reject) => {
      const check = (): void => {
        const found = this.heard.slice(from).find((h) => match(h.frame));
        if (found === undefined) return;
        cleanUp();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanUp();
        reject(
          new Error(`${this.userId} timed out waiting for ${what}; got ${this.heard.map((h) => h.text)}`),
        );
      }, WAIT_MS);
      const cleanUp = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /**
   * Sends a request and resolves with the answer that repeats its `ref` (as sent: frame and text). The `ref` is
   * fresh unless the frame has one: asking twice with the same `ref` lets two answers be compared byte for byte.
   */
  async ask(frame: Record<string, unknown>): Promise<Heard> {
    const ref = typeof frame.ref === 'string' ? frame.ref : `${this.userId}-${++this.#refs}`;
    const from = this.heard.length;
    this.send({ ...frame, ref });
    return this.next((f) => 'ref' in f && f.ref === ref, `the answer to ${String(frame.type)} ${ref}`, from);
  }

  /**
   * Resolves once every frame the server sent this device before now has arrived: the server answers a ping
   * after whatever it already wrote to this socket, so a frame that did not come before the pong was never sent.
   */
  async settle(): Promise<void> {
    await this.ask({ type: 'ping' });
  }
}

/** A running server and what it serves. */
export interface Rig {
  readonly system: ChatSystem;
  readonly server: ChatServer;
  readonly clock: ManualClock;
  /** Connects a user over a real socket and waits for `hello`. */
  connect(userId: string, deviceId?: string): Promise<Device>;
  /** Closes the sockets, the server and the system (in that order). */
  close(): Promise<void>;
}

/**
 * Starts a server over a system on a manual clock, with the users given (id → display name).
 *
 * @param users - who to register (skipped when `system` is given)
 * @param options - a system to serve instead of a fresh one, and system deps for the fresh one
 */
export async function startRig(
  users: Record<string, string>,
  options: { system?: ChatSystem; clock?: ManualClock; deps?: Partial<ChatSystemDeps> } = {},
): Promise<Rig> {
  const clock = options.clock ?? new ManualClock(T0);
  let groups = 0;
  const system = options.system ?? ChatSystem.create({ clock, newId: () => `g${++groups}`, ...options.deps });
  if (options.system === undefined) {
    for (const [id, name] of Object.entries(users)) system.registerUser({ id, name });
  }
  // Heartbeats run on the manual clock: far apart, so advancing it a minute never cuts a socket.
  const server = await createChatServer({
    system,
    auth: tokens.verify,
    limits: { heartbeatMs: 24 * 3_600_000 },
  });
  const devices: Device[] = [];
  return {
    system,
    server,
    clock,
    async connect(userId, deviceId = 'phone') {
      const ws = new WebSocket(`${server.url}?token=${tokens.sign(userId)}&deviceId=${deviceId}`);
      const device = new Device(userId, ws);
      devices.push(device);
      await device.next((f) => f.type === 'hello', 'hello');
      return device;
    },
    async close() {
      for (const d of devices) if (d.ws.readyState !== WebSocket.CLOSED) d.ws.terminate();
      await Promise.all(devices.map((d) => d.closed));
      await server.close();
      await system.close();
    },
  };
}
