/**
 * Benchmarks ChatFeed against re-sorting an array: a random thread of 10 000 gets a message, then the app
 * reads the top 20. Run with `npm run bench:feed`.
 *
 * @module
 */
import { ChatFeed, seededRandom } from 'chat-room';

const THREADS = 10_000;
const TOP = 20;
const PINNED = 5;
const WARMUP_MS = 1_000;
const ROUND_MS = 1_000;
const ROUNDS = 5;
/** Both sides replay the same stream of which-thread picks, from the start, wrapping around if they reach its end. */
const STREAM = 1 << 20;

interface Contender {
  readonly name: string;
  /** Prepares a fresh feed of THREADS threads. */
  reset(): void;
  /** Applies message `i` of the stream and reads the top 20; returns something so the work is not dropped. */
  step(i: number): number;
  /** The ids of the current top 20, to check that both sides agree. */
  topIds(): string[];
}

// The workload, generated once so neither side pays for the PRNG: which thread, and its initial activity.
const rand = seededRandom(0xc4a7);
const threadIds = Array.from({ length: THREADS }, (_, i) => `thread-${i}`);
const initialAt = Array.from({ length: THREADS }, () => Math.floor(rand() * 1_000_000));
const streamThread = Uint32Array.from({ length: STREAM }, () => Math.floor(rand() * THREADS));
const START = 1_000_000;

function chatFeed(): Contender {
  let feed = new ChatFeed();
  const seqs = new Uint32Array(THREADS);
  return {
    name: 'ChatFeed (recordMessage + top(20))',
    reset() {
      feed = new ChatFeed();
      seqs.fill(0);
      for (let t = 0; t < THREADS; t++) {
        feed.upsert(threadIds[t]!, { title: `Thread ${t}`, lastActivityAt: initialAt[t]! });
        if (t < PINNED) feed.pin(threadIds[t]!);
      }
    },
    step(i) {
      const t = streamThread[i & (STREAM - 1)]!;
      const seq = ++seqs[t]!;
      feed.recordMessage(threadIds[t]!, { seq, at: START + i, preview: 'hello', incoming: true });
      return feed.top(TOP).length;
    },
    topIds: () => feed.top(TOP).map((e) => e.threadId),
  };
}

interface Row {
  threadId: string;
  title: string;
  lastActivityAt: number;
  lastSeq: number;
  preview: string;
  unread: number;
  pinned: boolean;
  readUpTo: number;
  tick: number;
}

function resort(): Contender {
  let rows: Row[] = [];
  let byId = new Map<string, Row>();
  let tick = 0;
  const order = (a: Row, b: Row): number =>
    Number(b.pinned) - Number(a.pinned) || b.lastActivityAt - a.lastActivityAt || b.tick - a.tick;
  return {
    name: 'Array re-sort + slice(20)',
    reset() {
      tick = 0;
      rows = threadIds.map((threadId, t) => ({
        threadId,
        title: `Thread ${t}`,
        lastActivityAt: initialAt[t]!,
        lastSeq: -1,
        preview: '',
        unread: 0,
        pinned: t < PINNED,
        readUpTo: -1,
        tick: ++tick,
      }));
      byId = new Map(rows.map((r) => [r.threadId, r]));
      rows.sort(order);
    },
    step(i) {
      const row = byId.get(threadIds[streamThread[i & (STREAM - 1)]!]!)!;
      row.lastSeq += row.lastSeq < 0 ? 2 : 1;
      row.lastActivityAt = Math.max(row.lastActivityAt, START + i);
      row.preview = 'hello';
      row.unread += 1;
      row.tick = ++tick;
      rows.sort(order);
      // Copy the 20 like ChatFeed's snapshots, so both sides hand out the same thing.
      return rows.slice(0, TOP).map((r) => ({ ...r })).length;
    },
    topIds: () => rows.slice(0, TOP).map((r) => r.threadId),
  };
}

/** Runs a contender from a fresh feed for about `ms`; returns operations per second. */
function run(c: Contender, ms: number): { opsPerSec: number; sink: number } {
  c.reset();
  let sink = 0;
  let i = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (const end = i + 64; i < end; i++) sink += c.step(i);
    elapsed = performance.now() - start;
  }
  return { opsPerSec: (i / elapsed) * 1000, sink };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function main(): void {
  const feed = chatFeed();
  const baseline = resort();

  // Both sides must answer the same: same stream prefix, same top 20.
  for (const c of [feed, baseline]) {
    c.reset();
    for (let i = 0; i < 5_000; i++) c.step(i);
  }
  if (feed.topIds().join() !== baseline.topIds().join()) throw new Error('ChatFeed and the re-sort disagree');

  let sink = 0;
  for (const c of [feed, baseline]) sink += run(c, WARMUP_MS).sink;

  const results = new Map<Contender, number[]>([
    [feed, []],
    [baseline, []],
  ]);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first, so drift (heat, GC) does not favour one side.
    const order = round % 2 === 0 ? [feed, baseline] : [baseline, feed];
    for (const c of order) {
      const r = run(c, ROUND_MS);
      results.get(c)!.push(r.opsPerSec);
      sink += r.sink;
    }
  }

  const feedOps = median(results.get(feed)!);
  const baseOps = median(results.get(baseline)!);
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(12);
  console.log(
    `n = ${THREADS.toLocaleString('en-US')} threads, ${PINNED} pinned; op = one message + read top ${TOP}`,
  );
  console.log(
    `median of ${ROUNDS} alternating rounds of ${ROUND_MS} ms, after ${WARMUP_MS} ms warm-up each\n`,
  );
  console.log(`${'contender'.padEnd(36)}${'ops/sec'.padStart(12)}`);
  console.log(`${feed.name.padEnd(36)}${fmt(feedOps)}`);
  console.log(`${baseline.name.padEnd(36)}${fmt(baseOps)}`);
  console.log(`${'ratio (ChatFeed / re-sort)'.padEnd(36)}${(feedOps / baseOps).toFixed(1).padStart(11)}x`);
  if (sink < 0) console.log(sink); // keeps the work observable
}

main();
