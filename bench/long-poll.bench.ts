/**
 * How fast a held long-poll is answered once a message is stored, with WebSocket delivery measured the same way
 * in the same run as the baseline. One server on 127.0.0.1 (in-memory store); `RECEIVERS` devices hold a poll
 * (or keep a socket) each; a sender stores messages for them one at a time, paced, through `chat.sendMessage`,
 * and each message's latency runs from just before the store call to the moment the receiving device has the
 * frame in hand (the poll's answer parsed, or the socket's frame parsed). The bound is 100 ms; the
 * table prints p50, p99 and max per transport, and the ratio of long-poll to WebSocket.
 *
 * Run with `npm run bench:long-poll` (or `npx ts-node bench/long-poll.bench.ts [--messages 400]`).
 *
 * @module
 */
import { WebSocket } from 'ws';
import type { ServerFrame } from 'chat-room';
import { ChatSystem } from 'chat-room';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';

const RECEIVERS = 20;
const MESSAGES = Number(process.argv[process.argv.indexOf('--messages') + 1] ?? 0) || 400;
/** Pause between messages: a realistic, unsaturated load (latency, not throughput, is measured). */
const GAP_MS = 5;
const ROUNDS = 3;

const tokens = createTokenAuth({ secret: 'a-long-poll-benchmark-secret-of-32-bytes' });
const RATE = { frames: 1_000_000, perMs: 1_000 };

/** Waiters by message text: resolved when a device has the message. */
type Arrivals = Map<string, () => void>;

function textOf(frame: ServerFrame): string | undefined {
  return frame.type === 'entry' && frame.entry.type === 'message' ? frame.entry.message.text : undefined;
}

/** A device that long-polls in a loop and reports each message it receives. */
function pollLoop(httpUrl: string, userId: string, arrivals: Arrivals, stop: AbortSignal): Promise<void> {
  const url = new URL('poll', httpUrl);
  url.searchParams.set('link', `bench-${userId}`);
  url.searchParams.set('deviceId', 'laptop');
  const headers = { Authorization: `Bearer ${tokens.sign(userId)}` };
  let after: number | undefined;
  return (async () => {
    while (!stop.aborted) {
      const u = new URL(url);
      if (after !== undefined) u.searchParams.set('after', String(after));
      let frames: ServerFrame[];
      try {
        const res = await fetch(u, { headers, signal: stop });
        frames = ((await res.json()) as { frames: ServerFrame[] }).frames;
      } catch {
        return;
      }
      for (const f of frames) {
        if (f.type === 'hello') after = f.latest;
        if (f.type === 'entry') after = Math.max(after ?? 0, f.entry.inboxSeq);
        const text = textOf(f);
        if (text !== undefined) arrivals.get(text)?.();
      }
    }
  })();
}

/** A device on a socket that reports each message it receives. */
async function socket(url: string, userId: string, arrivals: Arrivals): Promise<WebSocket> {
  const ws = new WebSocket(`${url}?token=${tokens.sign(userId)}&deviceId=laptop`);
  ws.on('message', (data) => {
    const text = textOf(JSON.parse(String(data)) as ServerFrame);
    if (text !== undefined) arrivals.get(text)?.();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

async function measure(kind: 'long-poll' | 'websocket', round: number): Promise<number[]> {
  const system = ChatSystem.create();
  const users = ['sender', ...Array.from({ length: RECEIVERS }, (_, i) => `r${i}`)];
  for (const id of users) system.registerUser({ id, name: id });
  const server = await createChatServer({
    system,
    auth: tokens.verify,
    limits: { rate: RATE },
    longPollLimits: { rate: RATE },
  });
  const arrivals: Arrivals = new Map();
  const stop = new AbortController();
  const loops: Promise<void>[] = [];
  const sockets: WebSocket[] = [];
  for (const id of users.slice(1)) {
    if (kind === 'long-poll') loops.push(pollLoop(server.httpUrl, id, arrivals, stop.signal));
    else sockets.push(await socket(server.url, id, arrivals));
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // every poll is held, every socket greeted
  const latencies: number[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const to = users[1 + (i % RECEIVERS)] as string;
    const text = `${kind} ${round} #${i}`;
    const arrived = new Promise<void>((resolve) => arrivals.set(text, resolve));
    const began = performance.now();
    await system.sendMessage({ from: 'sender', to, text });
    await arrived;
    latencies.push(performance.now() - began);
    arrivals.delete(text);
    await new Promise((resolve) => setTimeout(resolve, GAP_MS));
  }
  stop.abort();
  for (const ws of sockets) ws.terminate();
  await Promise.allSettled(loops);
  await server.close();
  await system.close();
  return latencies;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const all = { 'long-poll': [] as number[], websocket: [] as number[] };
  await measure('long-poll', -1); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['websocket', 'long-poll'] as const) all[kind].push(...(await measure(kind, round)));
  }
  const rows = (['websocket', 'long-poll'] as const).map((kind) => {
    const sorted = [...all[kind]].sort((a, b) => a - b);
    return {
      kind,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? 0,
    };
  });
  const ms = (n: number): string => `${n.toFixed(2)} ms`.padStart(10);
  console.log(
    `Store → device latency, ${RECEIVERS} receivers, ${MESSAGES} messages × ${ROUNDS} rounds per transport, ${GAP_MS} ms apart (Node ${process.version})`,
  );
  console.log(`${'transport'.padEnd(10)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}`);
  for (const r of rows) console.log(`${r.kind.padEnd(10)}${ms(r.p50)}${ms(r.p99)}${ms(r.max)}`);
  const [ws, lp] = rows as [(typeof rows)[0], (typeof rows)[0]];
  console.log(
    `long-poll ÷ websocket: p50 ${(lp.p50 / ws.p50).toFixed(2)}×, p99 ${(lp.p99 / ws.p99).toFixed(2)}×`,
  );
  console.log(
    `held polls answered within 100 ms: ${all['long-poll'].filter((x) => x <= 100).length} of ${all['long-poll'].length}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
