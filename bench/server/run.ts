/**
 * `npm run bench:server`: our server (in-memory store, and SQLite) against a minimal Socket.IO relay and a
 * minimal raw `ws` relay (bench/peers), each in its own process, driven by the same load generator
 * (bench/server/loadgen.ts) in another process; with two cores or more the server runs on core 0 and the load
 * generator on core 1. Every run starts a fresh server; rounds alternate the order of the servers.
 *
 * - throughput: 200 clients in pairs, 32 messages in flight each, 64-byte texts, 2 s warm-up, 10 s measured;
 * - paced: the same clients at a fixed total rate (5 000 msg/s), for latency at a realistic load.
 *
 * Prints one table per mode (medians over the rounds) with each server's ratio to Socket.IO and to raw ws, and
 * records the figures in docs/benchmarks-results.json and the charts (bench/chart.ts).
 *
 *   npm run bench:server -- [--rounds 3] [--seconds 10] [--warmup 2] [--paced 5000] [--mode both|throughput|paced]
 *                           [--clients 200] [--in-flight 32] [--servers ours-memory,ours-sqlite,socketio,ws]
 *                           [--record] [--root <checkout>] [--node-flag <flag> ...]
 *
 * `--servers` also takes `ws-history` and `ws-sqlite`: the raw ws relay keeping each message in its heap, or
 * durably in SQLite, before forwarding it (bench/peers/relay-storage.ts), the floors of a server that stores; and
 * `ws-receipts`: the raw ws relay passing each recipient's `delivered` back to the sender, the floor of a server
 * with delivery ticks.
 *
 * `--root` measures the compiled `dist/` of another checkout (for an A/B of a change; build it there first).
 * `--node-flag` passes a flag to every server's `node` (`--node-flag=--trace-gc` prints each collection's pause).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { LoadSummary, Section } from '../chart';
import { LABELS, recordResults } from '../chart';
import type { ServerKind } from './host';
import { DEFAULT_SERVERS, SERVER_KINDS } from './host';
import type { LoadOptions, LoadResult } from './loadgen';
import type { LoopDelay } from './loop-watch';
import {
  PINNED,
  ROOT,
  SECRET,
  cleanUp,
  grouped,
  machine,
  median,
  next,
  prepare,
  startHost,
  startLoad,
  stop,
  table,
  usersOf,
} from '../server/processes';

interface Run extends LoadResult {
  readonly server: ServerKind;
  readonly round: number;
  /** The server's CPU time over the measured window, as a share of one core. */
  readonly serverCpu: number;
  /** The server's write system calls over the measured window per delivered message (NaN when not counted). */
  readonly serverWritesPerMessage: number;
  /** Bytes the server allocated on its heap over the measured window per delivered message. */
  readonly serverAllocatedPerMessage: number;
  /** How late the server's event loop ran over the measured window (paced only). */
  readonly serverLoopDelay?: LoopDelay;
}

async function runOne(
  root: string,
  compiled: string,
  server: ServerKind,
  round: number,
  load: Omit<LoadOptions, 'kind' | 'url'>,
  nodeFlags: readonly string[],
): Promise<Run> {
  const host = await startHost(
    compiled,
    server,
    { root, users: usersOf(load.clients), secret: SECRET },
    nodeFlags,
  );
  const child = startLoad(compiled, { ...load, kind: server, url: host.url });
  try {
    const timeout = load.warmupMs + load.measureMs + 60_000;
    const measuring = next(child, 'phase', timeout);
    const result = next<LoadResult>(child, 'result', timeout);
    result.catch(() => undefined);
    await measuring;
    // Paced, both processes watch their event loops: whose stalls make the tail.
    const before = await host.stats(false, load.mode === 'paced');
    const t0 = performance.now();
    await next(child, 'phase', load.measureMs + 10_000);
    const after = await host.stats();
    const elapsedMs = performance.now() - t0;
    const cpu = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
    const loaded = await result;
    const writes = after.writeSyscalls - before.writeSyscalls;
    const delivered = (loaded.deliveredPerSecond * elapsedMs) / 1000;
    return {
      ...loaded,
      server,
      round,
      serverCpu: cpu / 1000 / elapsedMs,
      serverWritesPerMessage: writes / delivered,
      serverAllocatedPerMessage: (after.allocatedBytes - before.allocatedBytes) / delivered,
      ...(after.loopDelay === undefined ? {} : { serverLoopDelay: after.loopDelay }),
    };
  } finally {
    await stop(child);
    await host.stop();
  }
}

function summarise(runs: readonly Run[], servers: readonly ServerKind[]): LoadSummary[] {
  return servers.map((server) => {
    const mine = runs.filter((r) => r.server === server);
    return {
      server,
      deliveredPerSecond: median(mine.map((r) => r.deliveredPerSecond)),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      serverCpu: median(mine.map((r) => r.serverCpu)),
      loadCpu: median(mine.map((r) => r.loadCpu)),
      serverWritesPerMessage: median(mine.map((r) => r.serverWritesPerMessage)),
      serverAllocatedPerMessage: median(mine.map((r) => r.serverAllocatedPerMessage)),
      ...loopDelays(mine),
      errors: mine.reduce((sum, r) => sum + r.errors, 0),
    };
  });
}

/** The medians of the event-loop delays the runs measured (paced), or nothing. */
function loopDelays(runs: readonly Run[]): Partial<LoadSummary> {
  const server = runs.flatMap((r) => (r.serverLoopDelay === undefined ? [] : [r.serverLoopDelay]));
  const load = runs.flatMap((r) => (r.loadLoopDelay === undefined ? [] : [r.loadLoopDelay]));
  return {
    ...(server.length === 0
      ? {}
      : {
          serverLoopP999Ms: median(server.map((d) => d.p999Ms)),
          serverLoopMaxMs: median(server.map((d) => d.maxMs)),
        }),
    ...(load.length === 0 ? {} : { loadLoopP999Ms: median(load.map((d) => d.p999Ms)) }),
  };
}

const ratio = (a: number, b: number | undefined): string =>
  b === undefined || !(b > 0) ? '—' : `${(a / b).toFixed(2)}×`;
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1));
/** Write system calls per message: a cost the host's noise does not move (— where the system does not count). */
const writesPerMessage = (s: LoadSummary): string =>
  s.serverWritesPerMessage === undefined || Number.isNaN(s.serverWritesPerMessage)
    ? '—'
    : s.serverWritesPerMessage.toFixed(2);
/** Kilobytes of heap allocated per message: garbage the collector must clear, which the host's noise barely moves. */
const allocatedPerMessage = (s: LoadSummary): string =>
  s.serverAllocatedPerMessage === undefined ? '—' : (s.serverAllocatedPerMessage / 1024).toFixed(1);

/** Server CPU per delivered message (µs): the server's cost, whether or not the load generator held it back. */
const cpuPerMessage = (s: LoadSummary): number => (s.serverCpu * 1e6) / s.deliveredPerSecond;

/**
 * The throughput table: msgs/s and the ratios are the point; latency under saturation is queueing. The server's
 * CPU per message says what each server costs even where the load generator, not the server, set the pace.
 */
function throughputTable(summary: readonly LoadSummary[]): string {
  const io = summary.find((s) => s.server === 'socketio')?.deliveredPerSecond;
  const wsSummary = summary.find((s) => s.server === 'ws');
  const ws = wsSummary?.deliveredPerSecond;
  const wsCost = wsSummary === undefined ? undefined : cpuPerMessage(wsSummary);
  return table([
    [
      'server',
      'msgs/s',
      'p50 ms',
      'p99 ms',
      '× Socket.IO',
      '× raw ws',
      'server CPU',
      'loadgen CPU',
      'server µs/msg',
      'µs/msg × raw ws',
      'writes/msg',
      'KiB alloc/msg',
      'errors',
    ],
    ...summary.map((s) => [
      LABELS[s.server] ?? s.server,
      grouped(s.deliveredPerSecond),
      ms(s.p50Ms),
      ms(s.p99Ms),
      ratio(s.deliveredPerSecond, io),
      ratio(s.deliveredPerSecond, ws),
      `${Math.round(s.serverCpu * 100)}%`,
      `${Math.round(s.loadCpu * 100)}%`,
      cpuPerMessage(s).toFixed(1),
      ratio(cpuPerMessage(s), wsCost),
      writesPerMessage(s),
      allocatedPerMessage(s),
      String(s.errors),
    ]),
  ]);
}

/** The paced table: latency at a fixed rate; the ratios are p99 over the peer's p99 (lower is better). */
function pacedTable(summary: readonly LoadSummary[]): string {
  const io = summary.find((s) => s.server === 'socketio')?.p99Ms;
  const ws = summary.find((s) => s.server === 'ws')?.p99Ms;
  return table([
    [
      'server',
      'msgs/s',
      'p50 ms',
      'p99 ms',
      'p99 × Socket.IO',
      'p99 × raw ws',
      'server CPU',
      'server loop p99.9 / max ms',
      'loadgen loop p99.9 ms',
      'writes/msg',
      'KiB alloc/msg',
      'errors',
    ],
    ...summary.map((s) => [
      LABELS[s.server] ?? s.server,
      grouped(s.deliveredPerSecond),
      ms(s.p50Ms),
      ms(s.p99Ms),
      ratio(s.p99Ms, io),
      ratio(s.p99Ms, ws),
      `${Math.round(s.serverCpu * 100)}%`,
      s.serverLoopP999Ms === undefined || s.serverLoopMaxMs === undefined
        ? '—'
        : `${ms(s.serverLoopP999Ms)} / ${ms(s.serverLoopMaxMs)}`,
      s.loadLoopP999Ms === undefined ? '—' : ms(s.loadLoopP999Ms),
      writesPerMessage(s),
      allocatedPerMessage(s),
      String(s.errors),
    ]),
  ]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      paced: { type: 'string', default: '5000' },
      mode: { type: 'string', default: 'both' },
      clients: { type: 'string', default: '200' },
      'in-flight': { type: 'string', default: '32' },
      servers: { type: 'string', default: DEFAULT_SERVERS.join(',') },
      record: { type: 'boolean', default: false },
      root: { type: 'string', default: ROOT },
      'node-flag': { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const rounds = Number(values.rounds);
  const servers = values.servers.split(',') as ServerKind[];
  for (const s of servers) if (!SERVER_KINDS.includes(s)) throw new Error(`unknown server '${s}'`);
  if (!['both', 'throughput', 'paced'].includes(values.mode))
    throw new Error(`--mode: both, throughput or paced`);
  const base = {
    clients: Number(values.clients),
    secret: SECRET,
    inFlight: Number(values['in-flight']),
    textBytes: 64,
    warmupMs: Number(values.warmup) * 1000,
    measureMs: Number(values.seconds) * 1000,
    rate: Number(values.paced),
  };
  const info = machine();
  process.stderr.write(
    `[bench:server] ${info.cpu}, ${info.cores} cores, Node ${info.node}; ` +
      `${PINNED ? 'server on core 0, load generator on core 1' : 'not pinned'}\n`,
  );
  const compiled = prepare();
  const modes = (values.mode === 'both' ? ['throughput', 'paced'] : [values.mode]) as (
    'throughput' | 'paced'
  )[];
  const sections: { throughput?: Section<LoadSummary>; paced?: Section<LoadSummary> } = {};
  for (const mode of modes) {
    const runs: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length] as ServerKind);
      for (const server of order) {
        const run = await runOne(
          values.root,
          compiled,
          server,
          round,
          { ...base, mode },
          values['node-flag'],
        );
        runs.push(run);
        process.stderr.write(
          `[bench:server] ${mode} round ${round + 1}/${rounds} ${server}: ${grouped(run.deliveredPerSecond)} msgs/s, ` +
            `p50 ${ms(run.p50Ms)} ms, p99 ${ms(run.p99Ms)} ms, server CPU ${Math.round(run.serverCpu * 100)}%, ` +
            `loadgen CPU ${Math.round(run.loadCpu * 100)}%, errors ${run.errors}\n`,
        );
      }
    }
    const summary = summarise(runs, servers);
    const params =
      mode === 'throughput'
        ? {
            clients: base.clients,
            inFlight: base.inFlight,
            textBytes: base.textBytes,
            warmup: values.warmup,
            seconds: values.seconds,
            rounds,
          }
        : {
            clients: base.clients,
            rate: base.rate,
            textBytes: base.textBytes,
            warmup: values.warmup,
            seconds: values.seconds,
            rounds,
          };
    process.stdout.write(
      mode === 'throughput'
        ? `\nThroughput: ${base.clients} clients in pairs, ${base.inFlight} in flight each, ${base.textBytes}-byte texts, ` +
            `median of ${rounds} rounds × ${values.seconds} s\n\n${throughputTable(summary)}\n`
        : `\nPaced: ${grouped(base.rate)} msg/s in total over ${base.clients} clients, ` +
            `median of ${rounds} rounds × ${values.seconds} s\n\n${pacedTable(summary)}\n`,
    );
    sections[mode] = {
      command: [
        'npm run bench:server',
        ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
      ].join(' '),
      machine: info,
      date: new Date().toISOString(),
      params,
      summary,
      runs,
    };
  }
  if (values.record === true) await recordResults(sections);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(cleanUp);
