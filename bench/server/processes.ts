/**
 * What both runners share: compiling the benchmark's processes to plain JavaScript (TypeScript's
 * `transpileModule`, into a temporary directory; modules resolve through NODE_PATH), starting the server host and
 * the load generator as child processes with an IPC channel, pinned to different cores where there are two
 * (`taskset -c 0` / `-c 1`), and killing every child on the way out, failure included.
 *
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import type { HostMessage, HostOptions, Sample, ServerKind } from './host';
import { SQLITE_KINDS } from './host';
import type { LoadOptions } from './loadgen';

/** The repository root. */
export const ROOT = resolve(__dirname, '..', '..');

const COMPILED = [
  'bench/server/host.ts',
  'bench/server/loadgen.ts',
  'bench/server/loop-watch.ts',
  'bench/peers/ws-relay.ts',
  'bench/peers/relay-storage.ts',
  'bench/peers/socketio-relay.ts',
];
const TASKSET = '/usr/bin/taskset';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Kills every child still running and removes the temporary directories. */
export function cleanUp(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

/** A fresh temporary directory, removed by `cleanUp`. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Builds `dist/` (our server runs from the compiled JavaScript) and compiles the bench processes. */
export function prepare(): string {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const out = tempDir('chat-room-bench-');
  for (const file of COMPILED) {
    const { outputText } = ts.transpileModule(readFileSync(join(ROOT, file), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        isolatedModules: true,
      },
      fileName: file,
    });
    const target = join(out, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  return out;
}

/** Whether server and load generator get a core each. */
export const PINNED = availableParallelism() >= 2 && existsSync(TASKSET);

/** The machine, for the report. */
export function machine(): { cpu: string; cores: number; node: string; pinned: boolean } {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    pinned: PINNED,
  };
}

function start(
  compiled: string,
  script: string,
  args: readonly string[],
  core: number,
  node: readonly string[],
): ChildProcess {
  const command = [...node, join(compiled, script), ...args];
  const env = { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), NODE_ENV: 'production' };
  const child = PINNED
    ? spawn(TASKSET, ['-c', String(core), process.execPath, ...command], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env,
      })
    : spawn(process.execPath, command, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** The next IPC message of a type, or a rejection if the child exits first or `ms` pass. */
export function next<T>(child: ChildProcess, type: string, ms = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no '${type}' within ${ms} ms`)), ms);
    const onMessage = (message: { type?: string }): void => {
      if (message.type === type) finish(undefined, message as T);
    };
    const onExit = (code: number | null): void =>
      finish(new Error(`child exited (${code}) before '${type}'`));
    function finish(error?: Error, value?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error === undefined) resolve(value as T);
      else reject(error);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** A running server under test. */
export interface Host {
  readonly url: string;
  /**
   * Memory and CPU time now; after forced collections with `gc`. With `watchLoop` the server starts watching its
   * event loop, and the next call's answer says how late it ran in between (`loopDelay`).
   */
  stats(gc?: boolean, watchLoop?: boolean): Promise<Extract<HostMessage, { type: 'stats' }>>;
  /** Starts sampling what the server allocates: all of it, what outlives a scavenge, or what is alive at the end. */
  sampleAllocations(sample: Sample): void;
  /** Stops sampling and writes the samples to `file` (a V8 heap profile). */
  writeAllocations(file: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a server (core 0), with `--expose-gc`; a kind that keeps a SQLite file gets a fresh one. */
export async function startHost(
  compiled: string,
  kind: ServerKind,
  options: Omit<HostOptions, 'dataFile'>,
  nodeFlags: readonly string[] = [],
): Promise<Host> {
  const flags = ['--expose-gc', ...nodeFlags];
  const hostOptions: HostOptions = SQLITE_KINDS.includes(kind)
    ? { ...options, dataFile: join(tempDir('chat-room-bench-db-'), 'bench.db') }
    : options;
  const child = start(compiled, 'bench/server/host.js', [kind, JSON.stringify(hostOptions)], 0, flags);
  const { url } = await next<{ url: string }>(child, 'listening');
  return {
    url,
    stats: (gc = false, watchLoop = false) => {
      const answer = next<Extract<HostMessage, { type: 'stats' }>>(child, 'stats');
      child.send({ type: 'stats', gc, watchLoop });
      return answer;
    },
    sampleAllocations: (sample) => void child.send({ type: 'sample-allocations', sample }),
    writeAllocations: async (file) => {
      const written = next(child, 'allocations');
      child.send({ type: 'write-allocations', file });
      await written;
    },
    stop: () => stop(child),
  };
}

/** Starts the load generator (core 1). */
export function startLoad(compiled: string, options: LoadOptions): ChildProcess {
  return start(compiled, 'bench/server/loadgen.js', [JSON.stringify(options)], 1, []);
}

/** Disconnects a child and waits for it to exit (killed after 3 s). */
export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
  });
}

/** Users u0 … u(n-1). */
export const usersOf = (n: number): string[] => Array.from({ length: n }, (_, i) => `u${i}`);

/** A secret for our server's tokens. */
export const SECRET = 'chat-room-benchmark-secret-at-least-32-bytes-long';

/** Formats a number of messages or bytes with thin grouping: 123 456. */
export const grouped = (x: number): string => Math.round(x).toLocaleString('en-US').replace(/,/g, ' ');

/** The median of some numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** Renders rows as a Markdown table (first row the header). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  const line = (r: readonly string[]): string =>
    `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  const [head, ...body] = rows;
  return [line(head ?? []), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)].join(
    '\n',
  );
}
