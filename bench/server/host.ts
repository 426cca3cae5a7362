/**
 * Runs one server under test in this process and answers the runner over IPC. Started by the runners (compiled to
 * plain JavaScript first, so no TypeScript compiler sits in the measured process), as
 *
 *   node --expose-gc host.js <kind> <options JSON>
 *
 * with kind `ours-memory`, `ours-sqlite` (the CLI's `serve` from the compiled `dist/`, `--rate` raised),
 * `socketio` or `ws` (bench/peers). Sends `{ type: 'listening', url }` once up; answers `{ type: 'stats' }`
 * (with `gc: true`: after two forced collections) with `process.memoryUsage()`, `process.cpuUsage()` and, on Linux,
 * the write system calls made so far.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Relay } from '../peers/ws-relay';
import { startSocketIoRelay } from '../peers/socketio-relay';
import { startWsRelay } from '../peers/ws-relay';
import type { run as RunCli } from '../../src/cli/main';

/** The servers compared. */
export const SERVER_KINDS = ['ours-memory', 'ours-sqlite', 'socketio', 'ws'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** What the runner passes. */
export interface HostOptions {
  /** The repository root (where `dist/` is). */
  readonly root: string;
  /** Users to register (ours). */
  readonly users: readonly string[];
  /** The token secret (ours). */
  readonly secret: string;
  /** The SQLite file (ours-sqlite). */
  readonly dataFile?: string;
}

/** A message from the host to the runner. */
export type HostMessage =
  | { readonly type: 'listening'; readonly url: string }
  | {
      readonly type: 'stats';
      readonly memory: NodeJS.MemoryUsage;
      readonly cpu: NodeJS.CpuUsage;
      /** Write system calls so far (Linux's /proc/self/io); NaN where the system does not count them. */
      readonly writeSyscalls: number;
    };

async function start(
  kind: ServerKind,
  options: HostOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  if (kind === 'socketio' || kind === 'ws') {
    const relay: Relay = kind === 'ws' ? await startWsRelay(0) : await startSocketIoRelay(0);
    return { url: `${kind === 'ws' ? 'ws' : 'http'}://127.0.0.1:${relay.port}`, close: () => relay.close() };
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
  };
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
  process.on('message', (message: { type?: string; gc?: boolean }) => {
    if (message.type === 'stats') process.send?.(stats(message.gc === true));
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
