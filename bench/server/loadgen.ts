/**
 * The load generator: one process, many WebSocket clients, the same workload against every server kind. Started
 * by the runners (compiled to plain JavaScript) as `node loadgen.js <options JSON>` with an IPC channel.
 *
 * - `throughput`: `clients` clients in pairs (0↔1, 2↔3, …); every client sends to its partner and keeps
 *   `inFlight` messages outstanding — a message stops being outstanding once the sender has its ack and the
 *   recipient has it. After `warmupMs`, deliveries counted at the recipients over `measureMs` give messages per
 *   second; latency is from the send to the recipient's receipt of the message.
 * - `paced`: the same clients, but a fixed total rate (round-robin over the clients, a tick every 2 ms), no window.
 * - `idle`: `clients` connections that only connect; reports `connected` and waits until the runner disconnects.
 *
 * Against our server each client acknowledges its inbox as `ChatSession` does: one `delivered` frame with the
 * highest `inboxSeq` seen (entries, and the client's own entries named by its acks), sent once per event-loop turn
 * in which a message from the partner arrived, so receipts flow back to the senders; entries that make no tick
 * (receipts, the client's own messages) ride along with that ack, or go on their own after a second. The peers
 * have no receipts, so nothing is sent to them beyond the messages, except to the `ws-receipts` relay: one
 * `delivered` per turn in which a message arrived, naming the newest, which it passes to the sender.
 *
 * @module
 */
import jwt from 'jsonwebtoken';
import { io as ioClient } from 'socket.io-client';
import type { Socket as IoSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import type { ServerKind } from './host';
import type { LoopDelay } from './loop-watch';
import { LoopWatch } from './loop-watch';

/** What the runner passes. */
export interface LoadOptions {
  readonly kind: ServerKind;
  readonly url: string;
  readonly mode: 'throughput' | 'paced' | 'idle';
  readonly clients: number;
  /** The token secret (ours). */
  readonly secret: string;
  readonly inFlight: number;
  readonly textBytes: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Total messages per second (paced). */
  readonly rate: number;
}

/** What a throughput or paced run measured. */
export interface LoadResult {
  readonly type: 'result';
  /** Messages counted at the recipients per second of the measured window. */
  readonly deliveredPerSecond: number;
  readonly acksPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Frames the server refused (`error`) and sockets closed during the run. */
  readonly errors: number;
  /** This process's CPU time over the measured window, as a share of one core. */
  readonly loadCpu: number;
  /** How late this process's event loop ran over the measured window (paced only). */
  readonly loadLoopDelay?: LoopDelay;
}

/** One client, whatever the server. */
interface Client {
  /** Resolves once the server greeted it (ours) or it connected (peers). */
  readonly ready: Promise<void>;
  send(ref: string, to: string, text: string): void;
  close(): void;
}

interface Handlers {
  ack(ref: string): void;
  deliver(clientMessageId: string): void;
  error(): void;
}

function oursClient(url: string, user: string, secret: string, on: Handlers): Client {
  const token = jwt.sign({}, secret, {
    subject: user,
    issuer: 'chat-room',
    algorithm: 'HS256',
    expiresIn: '1h',
  });
  const ws = new WebSocket(`${url}/?token=${token}&deviceId=bench`, { perMessageDeflate: false });
  let upTo = 0;
  let acked = 0;
  let scheduled = false;
  let lazy: NodeJS.Timeout | undefined;
  // Entries that make no tick are acknowledged within a second, or with the next ack that matters.
  const flushLater = (): void => {
    lazy ??= setTimeout(() => ((lazy = undefined), flush()), 1_000);
  };
  const flush = (): void => {
    scheduled = false;
    if (upTo > acked && ws.readyState === WebSocket.OPEN) {
      acked = upTo;
      ws.send(`{"type":"delivered","upTo":${upTo}}`);
    }
  };
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as {
        type: string;
        ref?: string;
        inboxSeq?: number;
        entry?: { type: string; inboxSeq: number; message?: { senderId: string; clientMessageId?: string } };
      };
      switch (frame.type) {
        case 'ack':
          on.ack(frame.ref ?? '');
          if (frame.inboxSeq !== undefined && frame.inboxSeq > upTo) upTo = frame.inboxSeq;
          flushLater();
          break;
        case 'entry': {
          const entry = frame.entry;
          if (entry === undefined) break;
          if (entry.inboxSeq > upTo) upTo = entry.inboxSeq;
          if (entry.type === 'message' && entry.message !== undefined && entry.message.senderId !== user) {
            on.deliver(entry.message.clientMessageId ?? '');
            if (!scheduled) {
              scheduled = true;
              setImmediate(flush);
            }
          } else {
            flushLater();
          }
          break;
        }
        case 'hello':
          resolve();
          break;
        case 'error':
          on.error();
          break;
        default:
      }
    });
  });
  ws.on('close', () => on.error());
  return {
    ready,
    send: (ref, to, text) => ws.send(JSON.stringify({ type: 'send', ref, clientMessageId: ref, to, text })),
    close: () => {
      clearTimeout(lazy);
      ws.removeAllListeners('close').terminate();
    },
  };
}

/**
 * A client of the raw ws relays. With `receipts` it acknowledges what it received as ours does: one `delivered`
 * per event-loop turn in which a message arrived, naming the newest (the relay passes it to the sender).
 */
function wsClient(url: string, user: string, on: Handlers, receipts: boolean): Client {
  const ws = new WebSocket(`${url}/?user=${user}`, { perMessageDeflate: false });
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => resolve());
  });
  let newest: { from: string; clientMessageId: string } | undefined;
  const flush = (): void => {
    if (newest !== undefined && ws.readyState === WebSocket.OPEN) {
      ws.send(
        JSON.stringify({ type: 'delivered', to: newest.from, clientMessageId: newest.clientMessageId }),
      );
    }
    newest = undefined;
  };
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as {
      type: string;
      ref?: string;
      from?: string;
      clientMessageId?: string;
    };
    if (frame.type === 'ack') on.ack(frame.ref ?? '');
    else if (frame.type === 'message') {
      on.deliver(frame.clientMessageId ?? '');
      if (!receipts) return;
      if (newest === undefined) setImmediate(flush);
      newest = { from: frame.from ?? '', clientMessageId: frame.clientMessageId ?? '' };
    }
  });
  ws.on('close', () => on.error());
  return {
    ready,
    send: (ref, to, text) => ws.send(JSON.stringify({ type: 'send', ref, clientMessageId: ref, to, text })),
    close: () => ws.removeAllListeners('close').terminate(),
  };
}

function socketIoClient(url: string, user: string, on: Handlers): Client {
  const socket: IoSocket = ioClient(url, {
    transports: ['websocket'],
    auth: { user },
    reconnection: false,
    forceNew: true,
  });
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  socket.on('message', (m: { clientMessageId?: string }) => on.deliver(m.clientMessageId ?? ''));
  socket.on('disconnect', () => on.error());
  return {
    ready,
    send: (ref, to, text) => {
      socket.emit('send', { to, clientMessageId: ref, text }, () => on.ack(ref));
    },
    close: () => {
      socket.off('disconnect');
      socket.disconnect();
    },
  };
}

function connect(options: LoadOptions, user: string, on: Handlers): Client {
  switch (options.kind) {
    case 'socketio':
      return socketIoClient(options.url, user, on);
    case 'ws':
    case 'ws-history':
    case 'ws-sqlite':
      return wsClient(options.url, user, on, false);
    case 'ws-receipts':
      return wsClient(options.url, user, on, true);
    default:
      return oursClient(options.url, user, options.secret, on);
  }
}

/** Connects `count` clients, `batch` at a time (so the accept queue is not flooded). */
async function connectAll(options: LoadOptions, count: number, on: Handlers, batch = 100): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i += batch) {
    const next = Array.from({ length: Math.min(batch, count - i) }, (_, k) =>
      connect(options, `u${i + k}`, on),
    );
    await Promise.all(next.map((c) => c.ready));
    clients.push(...next);
  }
  return clients;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function load(options: LoadOptions): Promise<LoadResult> {
  const n = options.clients;
  const text = 'x'.repeat(options.textBytes);
  /** Per outstanding message: its sender, when it was sent, and 1 (acked) | 2 (delivered). */
  const pending = new Map<string, { sender: number; at: number; seen: number }>();
  let sequence = 0;
  let measuring = false;
  let sending = true;
  let delivered = 0;
  let acks = 0;
  let errors = 0;
  let latencies = new Float64Array(1 << 20);
  let samples = 0;
  let clients: Client[] = [];

  const sendFrom = (i: number): void => {
    const ref = `m${sequence++}`;
    pending.set(ref, { sender: i, at: performance.now(), seen: 0 });
    clients[i]?.send(ref, `u${i ^ 1}`, text);
  };
  const settle = (ref: string, bit: number): void => {
    const p = pending.get(ref);
    if (p === undefined) return;
    p.seen |= bit;
    if (p.seen !== 3) return;
    pending.delete(ref);
    if (sending && options.mode === 'throughput') sendFrom(p.sender);
  };
  const handlers: Handlers = {
    ack: (ref) => {
      if (measuring) acks++;
      settle(ref, 1);
    },
    deliver: (ref) => {
      if (measuring) {
        delivered++;
        const p = pending.get(ref);
        if (p !== undefined) {
          if (samples === latencies.length) {
            const grown = new Float64Array(latencies.length * 2);
            grown.set(latencies);
            latencies = grown;
          }
          latencies[samples++] = performance.now() - p.at;
        }
      }
      settle(ref, 2);
    },
    error: () => {
      errors++;
    },
  };
  clients = await connectAll(options, n, handlers);

  let ticker: NodeJS.Timeout | undefined;
  const started = performance.now();
  if (options.mode === 'throughput') {
    for (let i = 0; i < n; i++) for (let k = 0; k < options.inFlight; k++) sendFrom(i);
  } else {
    let sent = 0;
    let next = 0;
    ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - started) * options.rate) / 1000);
      for (; sent < due; sent++) {
        sendFrom(next);
        next = (next + 1) % n;
      }
    }, 2);
  }
  await sleep(options.warmupMs);
  process.send?.({ type: 'phase', phase: 'measuring' });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  errors = 0;
  measuring = true;
  const loop = new LoopWatch();
  loop.next(options.mode === 'paced');
  await sleep(options.measureMs);
  measuring = false;
  const loadLoopDelay = loop.next(false);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  process.send?.({ type: 'phase', phase: 'measured' });
  sending = false;
  if (ticker !== undefined) clearInterval(ticker);
  const drainUntil = performance.now() + 3_000;
  while (pending.size > 0 && performance.now() < drainUntil) await sleep(20);
  const errorsBeforeClose = errors;
  for (const c of clients) c.close();
  const sorted = latencies.subarray(0, samples).sort();
  return {
    type: 'result',
    deliveredPerSecond: (delivered * 1000) / elapsed,
    acksPerSecond: (acks * 1000) / elapsed,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors: errorsBeforeClose,
    loadCpu: (cpu.user + cpu.system) / 1000 / elapsed,
    ...(loadLoopDelay === undefined ? {} : { loadLoopDelay }),
  };
}

async function idle(options: LoadOptions): Promise<void> {
  let closed = 0;
  const clients = await connectAll(options, options.clients, {
    ack: () => undefined,
    deliver: () => undefined,
    error: () => void closed++,
  });
  process.send?.({ type: 'connected', count: clients.length });
  await new Promise<void>((resolve) => process.once('disconnect', resolve));
  for (const c of clients) c.close();
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
  if (options.mode === 'idle') {
    await idle(options);
    process.exit(0);
  }
  const result = await load(options);
  process.send?.(result, undefined, {}, () => process.exit(0));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `loadgen: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
