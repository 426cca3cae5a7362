/**
 * `npm run bench:memory`: heap and RSS per idle connection for our server (in-memory store, and SQLite), the
 * Socket.IO relay and the raw `ws` relay (bench/peers). Each server runs in its own process with `--expose-gc`
 * (bench/server/host.ts); after it is up (our server with every user registered), two forced collections, then
 * `process.memoryUsage()` is the baseline; the load generator (another process) opens the connections, which
 * then sit idle for a moment; two forced collections again, and the delta divided by the number of connections
 * is the figure. Records it in docs/benchmarks-results.json and redraws the charts (bench/chart.ts).
 *
 *   npm run bench:memory -- [--connections 5000] [--rounds 1] [--settle 2] [--servers ...] [--record]
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { MemorySummary } from '../chart';
import { LABELS, recordResults } from '../chart';
import type { ServerKind } from '../server/host';
import { DEFAULT_SERVERS, SERVER_KINDS } from '../server/host';
import {
  PINNED,
  ROOT,
  SECRET,
  cleanUp,
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

interface Run {
  readonly server: ServerKind;
  readonly connections: number;
  readonly baseline: NodeJS.MemoryUsage;
  readonly loaded: NodeJS.MemoryUsage;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(
  compiled: string,
  server: ServerKind,
  connections: number,
  settleMs: number,
): Promise<Run> {
  const host = await startHost(compiled, server, { root: ROOT, users: usersOf(connections), secret: SECRET });
  let child: ReturnType<typeof startLoad> | undefined;
  try {
    await sleep(500);
    const baseline = (await host.stats(true)).memory;
    child = startLoad(compiled, {
      kind: server,
      url: host.url,
      mode: 'idle',
      clients: connections,
      secret: SECRET,
      inFlight: 0,
      textBytes: 0,
      warmupMs: 0,
      measureMs: 0,
      rate: 0,
    });
    await next(child, 'connected', 120_000);
    await sleep(settleMs);
    const loaded = (await host.stats(true)).memory;
    return { server, connections, baseline, loaded };
  } finally {
    if (child !== undefined) await stop(child);
    await host.stop();
  }
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const ratio = (a: number, b: number | undefined): string =>
  b === undefined || !(b > 0) ? '—' : `${(a / b).toFixed(2)}×`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      connections: { type: 'string', default: '5000' },
      rounds: { type: 'string', default: '1' },
      settle: { type: 'string', default: '2' },
      servers: { type: 'string', default: DEFAULT_SERVERS.join(',') },
      record: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const servers = values.servers.split(',') as ServerKind[];
  for (const s of servers) if (!SERVER_KINDS.includes(s)) throw new Error(`unknown server '${s}'`);
  const info = machine();
  process.stderr.write(
    `[bench:memory] ${info.cpu}, ${info.cores} cores, Node ${info.node}; ${PINNED ? 'pinned' : 'not pinned'}\n`,
  );
  const compiled = prepare();
  const runs: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < servers.length; i++) {
      const server = servers[(i + round) % servers.length] as ServerKind;
      const run = await measure(compiled, server, connections, Number(values.settle) * 1000);
      runs.push(run);
      process.stderr.write(
        `[bench:memory] ${server}: heap ${mib(run.baseline.heapUsed)} → ${mib(run.loaded.heapUsed)}, ` +
          `RSS ${mib(run.baseline.rss)} → ${mib(run.loaded.rss)}\n`,
      );
    }
  }
  const summary: MemorySummary[] = servers.map((server) => {
    const mine = runs.filter((r) => r.server === server);
    return {
      server,
      connections,
      heapPerConnection: median(mine.map((r) => (r.loaded.heapUsed - r.baseline.heapUsed) / connections)),
      rssPerConnection: median(mine.map((r) => (r.loaded.rss - r.baseline.rss) / connections)),
      baselineHeap: median(mine.map((r) => r.baseline.heapUsed)),
      baselineRss: median(mine.map((r) => r.baseline.rss)),
    };
  });
  const ws = summary.find((s) => s.server === 'ws');
  const io = summary.find((s) => s.server === 'socketio');
  process.stdout.write(
    `\nMemory: ${connections} idle connections, after forced GC, median of ${rounds} round(s)\n\n` +
      table([
        [
          'server',
          'heap / conn',
          'RSS / conn',
          'heap × raw ws',
          'heap × Socket.IO',
          'baseline heap',
          'baseline RSS',
        ],
        ...summary.map((s) => [
          LABELS[s.server] ?? s.server,
          kib(s.heapPerConnection),
          kib(s.rssPerConnection),
          ratio(s.heapPerConnection, ws?.heapPerConnection),
          ratio(s.heapPerConnection, io?.heapPerConnection),
          mib(s.baselineHeap),
          mib(s.baselineRss),
        ]),
      ]) +
      '\n',
  );
  if (values.record === true) {
    await recordResults({
      memory: {
        command: [
          'npm run bench:memory',
          ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
        ].join(' '),
        machine: info,
        date: new Date().toISOString(),
        params: { connections, rounds, settle: values.settle },
        summary,
        runs,
      },
    });
  }
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(cleanUp);
