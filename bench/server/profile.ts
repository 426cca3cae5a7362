/**
 * Profiles our in-memory server under the throughput workload of `bench:server`: the server (compiled `dist/`)
 * runs with `--cpu-prof` on core 0, the load generator on core 1; when the server exits, the profile is read and
 * the functions with the most self time are printed (a Markdown table), with where they are.
 *
 *   npx ts-node bench/server/profile.ts [--seconds 10] [--top 25] [--server ours-memory] [--keep <file>]
 *                                       [--paced <msg/s>] [--root <checkout>] [--alloc | --promoted | --retained]
 *
 * `--paced` profiles the paced workload instead; `--root` profiles another checkout's `dist/`. `--alloc` samples
 * what the server allocates over the measured window instead of where its time goes (V8's sampling heap profiler,
 * garbage included) and prints the functions that allocate the most, in bytes per delivered message; a built-in
 * (`Promise.all`, `Map`) is named with its caller. `--retained` does the same for what is still alive after a
 * full collection at the end of the window: what the server keeps per message, which the collector copies out of
 * the young generation and then marks. `--promoted` counts what a scavenge found alive, whether it is still alive
 * or a mark-compact freed it later: what fills the old generation, and so sets how often mark-compacts run.
 *
 * @module
 */
import { readdirSync, readFileSync, cpSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { Sample, ServerKind } from './host';
import type { LoadResult } from './loadgen';
import {
  ROOT,
  SECRET,
  cleanUp,
  next,
  prepare,
  startHost,
  startLoad,
  stop,
  table,
  tempDir,
  usersOf,
} from './processes';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface HeapProfileNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: readonly HeapProfileNode[];
}

interface HeapProfile {
  readonly head: HeapProfileNode;
}

/** A function's name and where it is (relative to the repository; empty for a built-in). */
function placeOf({ functionName, url, lineNumber }: CallFrame): { fn: string; where: string } {
  // A CPU profile names files by URL, a heap profile by path.
  const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
  const file = isAbsolute(path) ? relative(ROOT, path) : path;
  return {
    fn: functionName === '' ? '(anonymous)' : functionName,
    where: file === '' ? '' : `${file}:${lineNumber + 1}`,
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time per function (name and place), largest first. */
export function selfTimes(profile: CpuProfile): { fn: string; where: string; ms: number; share: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, { fn: string; where: string; ms: number }>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    all += ms;
    if (node === undefined) return;
    const { fn, where } = placeOf(node.callFrame);
    const key = `${fn} ${where}`;
    const entry = totals.get(key) ?? { fn, where, ms: 0 };
    entry.ms += ms;
    totals.set(key, entry);
  });
  return [...totals.values()].sort((a, b) => b.ms - a.ms).map((e) => ({ ...e, share: e.ms / all }));
}

/**
 * Bytes allocated per function (name and place), largest first, from a sampling heap profile. A built-in
 * (`Promise.all`, a `Map`) is named with the function that called it.
 */
export function allocationSites(
  profile: HeapProfile,
): { fn: string; where: string; bytes: number; share: number }[] {
  const totals = new Map<string, { fn: string; where: string; bytes: number }>();
  let all = 0;
  const visit = (node: HeapProfileNode, caller: string): void => {
    const place = placeOf(node.callFrame);
    const fn = place.where === '' && caller !== '' ? `${place.fn} (from ${caller})` : place.fn;
    const key = `${fn} ${place.where}`;
    const entry = totals.get(key) ?? { fn, where: place.where, bytes: 0 };
    entry.bytes += node.selfSize;
    all += node.selfSize;
    totals.set(key, entry);
    for (const child of node.children) visit(child, place.where === '' ? caller : place.fn);
  };
  visit(profile.head, '');
  return [...totals.values()].sort((a, b) => b.bytes - a.bytes).map((e) => ({ ...e, share: e.bytes / all }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      seconds: { type: 'string', default: '10' },
      top: { type: 'string', default: '25' },
      server: { type: 'string', default: 'ours-memory' },
      keep: { type: 'string' },
      paced: { type: 'string' },
      root: { type: 'string', default: ROOT },
      alloc: { type: 'boolean', default: false },
      promoted: { type: 'boolean', default: false },
      retained: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const server = values.server as ServerKind;
  const sample: Sample | undefined = values.retained
    ? 'retained'
    : values.promoted
      ? 'promoted'
      : values.alloc
        ? 'all'
        : undefined;
  const compiled = prepare();
  const dir = tempDir('chat-room-profile-');
  const host = await startHost(
    compiled,
    server,
    { root: values.root, users: usersOf(200), secret: SECRET },
    sample !== undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(dir, 'profile')],
  );
  const child = startLoad(compiled, {
    kind: server,
    url: host.url,
    mode: values.paced === undefined ? 'throughput' : 'paced',
    clients: 200,
    secret: SECRET,
    inFlight: 32,
    textBytes: 64,
    warmupMs: 2_000,
    measureMs: Number(values.seconds) * 1000,
    rate: Number(values.paced ?? 0),
  });
  const samples = join(dir, 'allocations.heapprofile');
  let result: LoadResult;
  try {
    const timeout = Number(values.seconds) * 1000 + 60_000;
    const finished = next<LoadResult>(child, 'result', timeout);
    finished.catch(() => undefined);
    if (sample !== undefined) {
      await next(child, 'phase', timeout); // measuring
      host.sampleAllocations(sample);
      await next(child, 'phase', timeout); // measured
      await host.writeAllocations(samples);
    }
    result = await finished;
  } finally {
    await stop(child);
    await host.stop();
  }
  if (sample !== undefined) {
    const delivered = result.deliveredPerSecond * Number(values.seconds);
    const profile = JSON.parse(readFileSync(samples, 'utf8')) as HeapProfile;
    const sites = allocationSites(profile).slice(0, Number(values.top));
    process.stdout.write(
      `${Math.round(delivered)} messages delivered in the measured window\n\n${table([
        ['B/msg', 'share', 'function', 'where'],
        ...sites.map((s) => [
          (s.bytes / delivered).toFixed(0),
          `${(s.share * 100).toFixed(1)}%`,
          s.fn,
          s.where,
        ]),
      ])}\n`,
    );
    return;
  }
  const [file] = readdirSync(join(dir, 'profile')).filter((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no profile written');
  if (values.keep !== undefined) cpSync(join(dir, 'profile', file), values.keep);
  const profile = JSON.parse(readFileSync(join(dir, 'profile', file), 'utf8')) as CpuProfile;
  const top = selfTimes(profile).slice(0, Number(values.top));
  process.stdout.write(
    `${table([
      ['self %', 'self ms', 'function', 'where'],
      ...top.map((t) => [`${(t.share * 100).toFixed(1)}%`, t.ms.toFixed(0), t.fn, t.where]),
    ])}\n`,
  );
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(cleanUp);
