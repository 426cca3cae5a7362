/**
 * Runs one server under test in this process and answers the runner over IPC. Started by the runners (compiled to
 * plain JavaScript first, so no TypeScript compiler sits in the measured process), as
 *
 *   node --expose-gc host.js <kind> <options JSON>
 *
 * with kind `ours-memory`, `ours-sqlite` (the CLI's `serve` from the compiled `dist/`, `--rate` raised),
 * `socketio`, `ws`, `ws-history`, `ws-sqlite` or `ws-receipts` (bench/peers). Sends `{ type: 'listening', url }`
 * once up; answers `{ type: 'stats' }` (with `gc: true`: after two forced collections) with
 * `process.memoryUsage()`, `process.cpuUsage()`, the bytes allocated on the heap so far and, on Linux, the write
 * system calls made so far.
 * `{ type: 'sample-allocations', sample }` starts V8's sampling heap profiler: `all` counts garbage too,
 * `promoted` what lived through a scavenge (still alive, or freed only by a mark-compact), `retained` only what is
 * still alive when it stops; `{ type: 'write-allocations', file }` stops it (after a full collection when sampling
 * what is retained), writes what it sampled to `file` and answers `{ type: 'allocations' }`
 * (bench/server/profile.ts, `--alloc`, `--promoted` and `--retained`).
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import type { LoopDelay } from './loop-watch';
import { LoopWatch } from './loop-watch';
import type { Relay } from '../peers/ws-relay';
import { startSocketIoRelay } from '../peers/socketio-relay';
import { startWsRelay } from '../peers/ws-relay';
import { MemoryHistory, SqliteLog } from '../peers/relay-storage';
import type { run as RunCli } from '../../src/cli/main';

/** The servers compared. */
export const SERVER_KINDS = [
  'ours-memory',
  'ours-sqlite',
  'socketio',
  'ws',
  'ws-history',
  'ws-sqlite',
  'ws-receipts',
] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];
/**
 * The servers a run compares unless told otherwise. `ws-history` and `ws-sqlite` are the raw ws relay keeping each
 * message in its heap or in SQLite first (bench/peers/relay-storage.ts): the floors of a server that stores.
 * `ws-receipts` is the raw ws relay passing delivery receipts back to the senders: the floor of a server with ticks.
 */
export const DEFAULT_SERVERS: readonly ServerKind[] = ['ours-memory', 'ours-sqlite', 'socketio', 'ws'];
/** The kinds whose clients speak the raw ws relay's protocol. */
export const WS_RELAYS: readonly ServerKind[] = ['ws', 'ws-history', 'ws-sqlite', 'ws-receipts'];
/** The kinds that keep a SQLite file (`HostOptions.dataFile`). */
export const SQLITE_KINDS: readonly ServerKind[] = ['ours-sqlite', 'ws-sqlite'];

/** What the runner passes. */
export interface HostOptions {
  /** The repository root (where `dist/` is). */
  readonly root: string;
  /** Users to register (ours). */
  readonly users: readonly string[];
  /** The token secret (ours). */
  readonly secret: string;
  /** The SQLite file (ours-sqlite, ws-sqlite). */
  readonly dataFile?: string;
}

/** A message from the host to the runner. */
export type HostMessage =
  | { readonly type: 'listening'; readonly url: string }
  | { readonly type: 'allocations' }
  | {
      readonly type: 'stats';
      readonly memory: NodeJS.MemoryUsage;
      readonly cpu: NodeJS.CpuUsage;
      /** Write system calls so far (Linux's /proc/self/io); NaN where the system does not count them. */
      readonly writeSyscalls: number;
      /** Bytes allocated on the JavaScript heap since the server started (what the collections freed plus growth). */
      readonly allocatedBytes: number;
      /** How late the event loop ran since the previous `stats` that asked to watch it (`watchLoop`), if one did. */
      readonly loopDelay?: LoopDelay;
    };

async function start(
  kind: ServerKind,
  options: HostOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  if (kind === 'socketio') {
    const relay = await startSocketIoRelay(0);
    return { url: `http://127.0.0.1:${relay.port}`, close: () => relay.close() };
  }
  if (WS_RELAYS.includes(kind)) {
    const storage =
      kind === 'ws-history'
        ? new MemoryHistory()
        : kind === 'ws-sqlite'
          ? new SqliteLog(options.dataFile ?? '')
          : undefined;
    const relay: Relay = await startWsRelay(0, {
      ...(storage === undefined ? {} : { storage }),
      receipts: kind === 'ws-receipts',
    });
    return { url: `ws://127.0.0.1:${relay.port}`, close: () => relay.close() };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { run } = require(join(options.root, 'dist', 'cli', 'main.js')) as { run: typeof RunCli };
  const storage = kind === 'ours-memory' ? ['--memory'] : ['--data', options.dataFile ?? ''];
  const argv = ['serve', '--port', '0', ...storage, '--users', options.users.join(','), '--rate', '1000000'];
  const lines: string[] = [];
  const result = await run(argv, {
    out: (line) => void lines.push(line),
    err: (line) => process.stderr.write(`${line}\n`),
    env: { ...process.env, CHAT_ROOM_SECRET: options.secret },
  });
  const serving = result.serving;
  if (serving === undefined)
    throw new Error(`chat-room serve exited ${result.exitCode}: ${lines.join('\n')}`);
  return { url: serving.server.url.replace(/\/$/, ''), close: () => serving.close() };
}

function stats(collect: boolean): HostMessage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collect && gc !== undefined) {
    gc();
    gc();
  }
  return {
    type: 'stats',
    memory: process.memoryUsage(),
    cpu: process.cpuUsage(),
    writeSyscalls: writeSyscalls(),
    allocatedBytes: allocation.read(),
  };
}

/**
 * Counts what the server allocates on the heap: V8 keeps no running total, but every byte allocated is either freed
 * by a collection or still in use, so the count is what each collection freed (from `GCProfiler`, which records
 * the heap before and after each) plus the growth of the used heap since the count began.
 */
class AllocationCounter {
  #profiler = new GCProfiler();
  #used = getHeapStatistics().used_heap_size;
  #allocated = 0;

  constructor() {
    this.#profiler.start();
  }

  /** Bytes allocated since the counter was made. */
  read(): number {
    const { statistics } = this.#profiler.stop() ?? { statistics: [] };
    for (const gc of statistics) {
      this.#allocated += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    }
    const used = getHeapStatistics().used_heap_size;
    this.#allocated += used - this.#used;
    this.#used = used;
    this.#profiler = new GCProfiler();
    this.#profiler.start();
    return this.#allocated;
  }
}

const allocation = new AllocationCounter();

/** What the sampling heap profiler counts: everything, what outlived a scavenge, or what is alive at the end. */
export type Sample = 'all' | 'promoted' | 'retained';

/**
 * V8's sampling heap profiler: counting what the collector freed too (where the garbage comes from), what a
 * scavenge found alive and so copied or promoted to the old generation (what makes mark-compacts), or only what
 * is still alive at the end (what the server keeps).
 */
let sampling: { session: Session; sample: Sample } | undefined;

function sampleAllocations(sample: Sample): void {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: sample !== 'retained',
    includeObjectsCollectedByMinorGC: sample === 'all',
  });
  sampling = { session, sample };
}

function writeAllocations(file: string): void {
  const current = sampling;
  sampling = undefined;
  if (current === undefined) throw new Error('no allocation sampling to write');
  const { session, sample } = current;
  const stop = (): void =>
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error === null) writeFileSync(file, JSON.stringify(result.profile));
      // Not from inside a callback of the session (disconnecting there hangs when the callbacks nest).
      setImmediate(() => {
        session.disconnect();
        process.send?.({ type: 'allocations' } satisfies HostMessage);
      });
    });
  // What is retained is what a full collection leaves; dead objects not yet collected would count otherwise.
  if (sample === 'retained') session.post('HeapProfiler.collectGarbage', stop);
  else stop();
}

/** This process's write system calls so far, or NaN where /proc/self/io is not there. */
function writeSyscalls(): number {
  try {
    return Number(/^syscw: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  if (!SERVER_KINDS.includes(kind)) throw new Error(`unknown server kind '${String(kind)}'`);
  const options = JSON.parse(process.argv[3] ?? '{}') as HostOptions;
  const server = await start(kind, options);
  const loop = new LoopWatch();
  type Request = { type?: string; gc?: boolean; watchLoop?: boolean; file?: string; sample?: Sample };
  process.on('message', (message: Request) => {
    if (message.type === 'stats') {
      const loopDelay = loop.next(message.watchLoop === true);
      process.send?.({ ...stats(message.gc === true), ...(loopDelay === undefined ? {} : { loopDelay }) });
    }
    if (message.type === 'sample-allocations') sampleAllocations(message.sample ?? 'all');
    if (message.type === 'write-allocations') writeAllocations(message.file ?? '');
  });
  process.on('disconnect', () => {
    void server.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  });
  process.send?.({ type: 'listening', url: server.url } satisfies HostMessage);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `host: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
