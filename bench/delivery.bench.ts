/**
 * Benchmarks in-process delivery through `ChatSystem` (in-memory store and transport, the real `SystemClock`)
 * against a bare relay that does the least a relay can: an array inbox per user, a callback to the receiver, and
 * the frame serialised and parsed once each way, as the in-memory transport does. Two workloads:
 *
 * - 1:1 — several pairs of connected sessions; each sender keeps a bounded number of sends in flight; messages
 *   are counted at the receivers' `'message'` events;
 * - group — one sender and 99 other connected members of one group; deliveries (messages × 99) are counted at
 *   the receivers.
 *
 * Rounds alternate between the two implementations after a warm-up; the table shows medians and the ratio
 * ours / baseline. Absolute numbers depend on the machine; the ratio is the figure to watch. Run with
 * `npm run bench:delivery` (or `npx ts-node bench/delivery.bench.ts`).
 *
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import type { ChatSession } from 'chat-room';
import { ChatSystem } from 'chat-room';

const PAIRS = 8;
const GROUP_SIZE = 100;
/** Sends each sender keeps in flight. */
const IN_FLIGHT = 16;
const WARMUP_MS = 500;
const ROUND_MS = 1_000;
const ROUNDS = 5;
const TEXT = 'Hello Gainlo';

/** What one round measured. */
interface RoundResult {
  /** Messages whose send was acked. */
  readonly messages: number;
  /** Messages counted at the receivers. */
  readonly deliveries: number;
  readonly elapsedMs: number;
}

/** One way to send: to a user or to a group; resolves at the ack. */
type Send = (input: { to?: string; groupId?: string; text: string }) => Promise<unknown>;

/** Keeps `IN_FLIGHT` sends going from one sender until the deadline; returns how many were acked. */
async function pump(
  send: Send,
  target: { to: string } | { groupId: string },
  deadline: number,
): Promise<number> {
  let acked = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await send({ ...target, text: TEXT });
      acked++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return acked;
}

// ---------------------------------------------------------------------------------------------------------------
// Ours: ChatSystem with its in-memory defaults.

async function ours1to1(roundMs: number): Promise<RoundResult> {
  const chat = ChatSystem.create();
  const senders: ChatSession[] = [];
  let deliveries = 0;
  for (let p = 0; p < PAIRS; p++) {
    chat.registerUser({ id: `s${p}`, name: `Sender ${p}` });
    chat.registerUser({ id: `r${p}`, name: `Receiver ${p}` });
    senders.push(chat.connect(`s${p}`));
    chat.connect(`r${p}`).on('message', () => deliveries++);
  }
  await chat.idle();
  const start = performance.now();
  const acked = await Promise.all(
    senders.map((s, p) => pump((input) => s.send(input), { to: `r${p}` }, start + roundMs)),
  );
  await chat.idle();
  const elapsedMs = performance.now() - start;
  await chat.close();
  return { messages: sum(acked), deliveries, elapsedMs };
}

async function oursGroup(roundMs: number): Promise<RoundResult> {
  const chat = ChatSystem.create();
  const ids = Array.from({ length: GROUP_SIZE }, (_, i) => `m${i}`);
  for (const id of ids) chat.registerUser({ id, name: id });
  const group = chat.createGroup({ ownerId: 'm0', name: 'Bench', memberIds: ids });
  const sender = chat.connect('m0');
  let deliveries = 0;
  for (const id of ids.slice(1)) chat.connect(id).on('message', () => deliveries++);
  await chat.idle();
  const start = performance.now();
  const acked = await pump((input) => sender.send(input), { groupId: group.id }, start + roundMs);
  await chat.idle();
  const elapsedMs = performance.now() - start;
  await chat.close();
  return { messages: acked, deliveries, elapsedMs };
}

// ---------------------------------------------------------------------------------------------------------------
// Baseline: the floor. A relay with an array inbox per user and a callback per connected user; each frame is
// serialised and parsed once on the way in and once per receiver on the way out, and the sender gets an ack.

interface BareMessage {
  readonly id: number;
  readonly from: string;
  readonly to?: string;
  readonly groupId?: string;
  readonly text: string;
  readonly sentAt: number;
}

type BareFrame =
  | { type: 'send'; ref: number; to?: string; groupId?: string; text: string }
  | { type: 'ack'; ref: number; id: number }
  | { type: 'entry'; inboxSeq: number; message: BareMessage };

class BareRelay {
  readonly #inboxes = new Map<string, BareMessage[]>();
  readonly #links = new Map<string, (text: string) => void>();
  readonly #groups = new Map<string, readonly string[]>();
  #nextId = 1;

  createGroup(id: string, members: readonly string[]): void {
    this.#groups.set(id, members);
  }

  /** Connects a user; frames for them arrive as JSON text at `deliver`. Returns how they send. */
  connect(userId: string, deliver: (text: string) => void): (text: string) => void {
    this.#inboxes.set(userId, []);
    this.#links.set(userId, deliver);
    return (text) => this.#receive(userId, text);
  }

  #receive(from: string, text: string): void {
    const frame = JSON.parse(text) as BareFrame;
    if (frame.type !== 'send') return;
    const message: BareMessage = { id: this.#nextId++, from, text: frame.text, sentAt: Date.now() };
    const to =
      frame.groupId === undefined
        ? [frame.to as string]
        : (this.#groups.get(frame.groupId) ?? []).filter((id) => id !== from);
    for (const userId of to) {
      const inbox = this.#inboxes.get(userId) as BareMessage[];
      inbox.push(message);
      this.#links.get(userId)?.(JSON.stringify({ type: 'entry', inboxSeq: inbox.length, message }));
    }
    this.#links.get(from)?.(JSON.stringify({ type: 'ack', ref: frame.ref, id: message.id }));
  }
}

/** The device side of the bare relay: a pending-request map and an event emitter. */
class BareClient extends EventEmitter<{ message: [BareMessage] }> {
  readonly #pending = new Map<number, () => void>();
  readonly #send: (text: string) => void;
  #ref = 1;

  constructor(relay: BareRelay, userId: string) {
    super();
    this.#send = relay.connect(userId, (text) => this.#receive(text));
  }

  send(input: { to?: string; groupId?: string; text: string }): Promise<void> {
    const ref = this.#ref++;
    const acked = new Promise<void>((resolve) => this.#pending.set(ref, resolve));
    this.#send(JSON.stringify({ type: 'send', ref, ...input }));
    return acked;
  }

  #receive(text: string): void {
    const frame = JSON.parse(text) as BareFrame;
    if (frame.type === 'entry') this.emit('message', frame.message);
    else if (frame.type === 'ack') {
      this.#pending.get(frame.ref)?.();
      this.#pending.delete(frame.ref);
    }
  }
}

async function bare1to1(roundMs: number): Promise<RoundResult> {
  const relay = new BareRelay();
  const senders: BareClient[] = [];
  let deliveries = 0;
  for (let p = 0; p < PAIRS; p++) {
    senders.push(new BareClient(relay, `s${p}`));
    new BareClient(relay, `r${p}`).on('message', () => deliveries++);
  }
  const start = performance.now();
  const acked = await Promise.all(
    senders.map((s, p) => pump((input) => s.send(input), { to: `r${p}` }, start + roundMs)),
  );
  const elapsedMs = performance.now() - start;
  return { messages: sum(acked), deliveries, elapsedMs };
}

async function bareGroup(roundMs: number): Promise<RoundResult> {
  const relay = new BareRelay();
  const ids = Array.from({ length: GROUP_SIZE }, (_, i) => `m${i}`);
  relay.createGroup('bench', ids);
  const sender = new BareClient(relay, 'm0');
  let deliveries = 0;
  for (const id of ids.slice(1)) new BareClient(relay, id).on('message', () => deliveries++);
  const start = performance.now();
  const acked = await pump((input) => sender.send(input), { groupId: 'bench' }, start + roundMs);
  const elapsedMs = performance.now() - start;
  return { messages: acked, deliveries, elapsedMs };
}

// ---------------------------------------------------------------------------------------------------------------
// The run.

interface Contender {
  readonly scenario: string;
  readonly impl: string;
  readonly receivers: number;
  readonly run: (roundMs: number) => Promise<RoundResult>;
  readonly msgs: number[];
  readonly deliveries: number[];
}

const contenders: Contender[] = [
  {
    scenario: `1:1, ${PAIRS} pairs`,
    impl: 'ChatSystem',
    receivers: 1,
    run: ours1to1,
    msgs: [],
    deliveries: [],
  },
  {
    scenario: `1:1, ${PAIRS} pairs`,
    impl: 'bare relay',
    receivers: 1,
    run: bare1to1,
    msgs: [],
    deliveries: [],
  },
  {
    scenario: `group of ${GROUP_SIZE}`,
    impl: 'ChatSystem',
    receivers: GROUP_SIZE - 1,
    run: oursGroup,
    msgs: [],
    deliveries: [],
  },
  {
    scenario: `group of ${GROUP_SIZE}`,
    impl: 'bare relay',
    receivers: GROUP_SIZE - 1,
    run: bareGroup,
    msgs: [],
    deliveries: [],
  },
];

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Runs a round and checks that every acked message reached every receiver exactly once. */
async function round(c: Contender, roundMs: number): Promise<RoundResult> {
  const r = await c.run(roundMs);
  if (r.deliveries !== r.messages * c.receivers) {
    throw new Error(
      `${c.impl} ${c.scenario}: ${r.deliveries} deliveries for ${r.messages} acked messages × ${c.receivers}`,
    );
  }
  return r;
}

async function main(): Promise<void> {
  const began = performance.now();
  console.log(
    `Delivery throughput in one process — Node ${process.version}, ${IN_FLIGHT} sends in flight per sender, ` +
      `${ROUNDS} alternating rounds of ${ROUND_MS} ms after a warm-up; medians`,
  );
  for (const c of contenders) await round(c, WARMUP_MS);
  for (let i = 0; i < ROUNDS; i++) {
    for (const c of contenders) {
      const r = await round(c, ROUND_MS);
      const seconds = r.elapsedMs / 1000;
      c.msgs.push(r.messages / seconds);
      c.deliveries.push(r.deliveries / seconds);
    }
  }

  const rows = [['scenario', 'implementation', 'msgs/s', 'ratio', 'deliveries/s', 'ratio', 'spread']];
  for (let i = 0; i < contenders.length; i += 2) {
    const ours = contenders[i] as Contender;
    const base = contenders[i + 1] as Contender;
    for (const c of [ours, base]) {
      rows.push([
        c === ours ? c.scenario : '',
        c.impl,
        fmt(median(c.msgs)),
        (median(c.msgs) / median(base.msgs)).toFixed(3),
        fmt(median(c.deliveries)),
        (median(c.deliveries) / median(base.deliveries)).toFixed(3),
        `±${((50 * (Math.max(...c.deliveries) - Math.min(...c.deliveries))) / median(c.deliveries)).toFixed(0)}%`,
      ]);
    }
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log(
      r.map((cell, col) => (col < 2 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  '),
    );
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  console.log(
    `ratio = ours / bare relay (baseline = 1); spread = half the min–max range of the rounds; ` +
      `total ${((performance.now() - began) / 1000).toFixed(1)} s`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
