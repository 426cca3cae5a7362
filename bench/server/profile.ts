/**
 * Profiles our in-memory server under the throughput workload of `bench:server`: the server (compiled `dist/`)
 * runs with `--cpu-prof` on core 0, the load generator on core 1; when the server exits, the profile is read and
 * the functions with the most self time are printed (a Markdown table), with where they are.
 *
 *   npx ts-node bench/server/profile.ts [--seconds 10] [--top 25] [--server ours-memory] [--keep <file>]
 *                                       [--paced <msg/s>] [--root <checkout>]
 *
 * `--paced` profiles the paced workload instead; `--root` profiles another checkout's `dist/`.
 *
 * @module
 */
import { readdirSync, readFileSync, cpSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { ServerKind } from './host';
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

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
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
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.startsWith('file://') ? relative(ROOT, url.slice('file://'.length)) : url;
    const where = file === '' ? '' : `${file}:${lineNumber + 1}`;
    const fn = functionName === '' ? '(anonymous)' : functionName;
    const key = `${fn} ${where}`;
    const entry = totals.get(key) ?? { fn, where, ms: 0 };
    entry.ms += ms;
    totals.set(key, entry);
  });
  return [...totals.values()].sort((a, b) => b.ms - a.ms).map((e) => ({ ...e, share: e.ms / all }));
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
    },
    strict: true,
  });
  const server = values.server as ServerKind;
  const compiled = prepare();
  const dir = tempDir('chat-room-profile-');
  const dataFile = server === 'ours-sqlite' ? join(dir, 'bench.db') : undefined;
  const host = await startHost(
    compiled,
    server,
    {
      root: values.root,
      users: usersOf(200),
      secret: SECRET,
      ...(dataFile === undefined ? {} : { dataFile }),
    },
    ['--cpu-prof', '--cpu-prof-dir', join(dir, 'profile')],
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
  try {
    await next(child, 'result', Number(values.seconds) * 1000 + 60_000);
  } finally {
    await stop(child);
    await host.stop();
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
