/**
 * The presence simulator: replays one seeded workload (bench/presence/workload.ts) against each fanout policy
 * of `PresenceService` on a `ManualClock`, and reports what each policy costs — pushes, frames and bytes per
 * second of live changes, snapshots, and the ratio to the naive policy — beside the seed's estimate
 * O(average friends × peak users × churn).
 *
 *   npm run presence:sim -- --users 100000 --friends 200 --minutes 10 --seed 1
 *
 * Options: `--users` (10000), `--friends` (200), `--minutes` measured (10), `--seed` (1), `--warmup` minutes
 * before counting (10), `--policies` (comma list, default all five), `--json` (the figures as JSON), `--jobs`
 * (policies simulated at once in worker threads; default: the number of cores). The same arguments print the
 * same stdout, whatever `--jobs` is; run times and memory go to stderr.
 *
 * Each policy gets a fresh `PresenceService`, `ManualClock` and `InMemoryPresenceStore`; the clock advances in
 * steps of 100 ms, and the subscriptions' snapshots (store reads) are awaited at the end of each step.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { PresenceCounters, PresencePolicyName, PresenceRecord, PresenceStore } from 'chat-room';
import {
  InMemoryPresenceStore,
  ManualClock,
  NotificationCenter,
  PRESENCE_POLICIES,
  PresenceService,
  SessionOutbox,
  SessionRegistry,
  createPresencePolicy,
} from 'chat-room';
import type { FriendGraph, WorkloadStats } from './workload';
import {
  PresenceWorkload,
  WORKLOAD_DEFAULTS,
  buildFriendGraph,
  deriveWorkload,
  friendsOf,
  maySee,
  registryTarget,
} from './workload';

/** Simulated time starts here (a fixed date, so timestamps in frames have a realistic length). */
const T0 = Date.UTC(2026, 0, 1);
/** The clock moves in steps this long; snapshots are awaited between steps. */
export const STEP_MS = 100;

/** What to simulate. */
export interface SimOptions {
  readonly users: number;
  readonly friends: number;
  /** Measured minutes (after the warm-up). */
  readonly minutes: number;
  readonly seed: number;
  /** Warm-up minutes, not counted (default 10). */
  readonly warmupMinutes?: number;
  /** Default: all five, in order. */
  readonly policies?: readonly PresencePolicyName[];
}

/** How to run: not part of the figures (the same options give the same figures however they run). */
export interface RunOptions extends SimOptions {
  /** Policies simulated at once, each in a worker thread (default 1: in this thread, one after the other). */
  readonly jobs?: number;
}

/** One policy's figures over the measured period. */
export interface PolicyFigures extends PresenceCounters {
  /** Status changes the policy announced (what its store was told that differs from before). */
  readonly changes: number;
  readonly changesPerSecond: number;
  readonly pushesPerSecond: number;
  readonly framesPerSecond: number;
  readonly bytesPerSecond: number;
  readonly snapshotFramesPerSecond: number;
  readonly snapshotBytesPerSecond: number;
  /** naive pushes ÷ this policy's pushes (null without a naive run, or when this policy pushed nothing). */
  readonly pushRatio: number | null;
  /** naive bytes ÷ this policy's bytes, live changes and snapshots together (null as for `pushRatio`). */
  readonly byteRatio: number | null;
}

/** Everything a run measured; the same options give the same result. */
export interface SimResult {
  /** The command that reproduces it. */
  readonly command: string;
  readonly params: Required<SimOptions>;
  readonly workload: typeof WORKLOAD_DEFAULTS & { readonly longMeanMs: number; readonly gapMeanMs: number };
  readonly graph: { readonly friendships: number; readonly averageFriends: number };
  readonly measured: {
    readonly seconds: number;
    /** Users with a session, averaged over the measured steps. */
    readonly onlineUsers: number;
    /** Users with their session in the foreground, averaged. */
    readonly foregroundUsers: number;
    readonly stats: WorkloadStats;
  };
  /** The seed's O(friends × peak users × churn), with churn counted under the naive policy (null without it). */
  readonly formula: {
    readonly friends: number;
    readonly onlineUsers: number;
    /** Status changes per online user per second. */
    readonly churn: number;
    readonly pushesPerSecond: number;
    readonly measuredNaivePushesPerSecond: number;
  } | null;
  readonly policies: readonly PolicyFigures[];
}

/** Hooks for the caller: progress and run times (never part of the result). */
export interface SimHooks {
  onPhase?(phase: string, ms: number): void;
}

/**
 * The store, counting status changes: writes whose status (or idle rung) differs from the user's previous one.
 * Under the naive policy every change is announced at once, so this counts the workload's churn.
 */
class CountingStore implements PresenceStore {
  changes = 0;
  readonly #inner: PresenceStore;
  readonly #last = new Map<string, string>();

  constructor(inner: PresenceStore) {
    this.#inner = inner;
  }

  set(record: PresenceRecord, ttlMs: number): Promise<void> {
    const key = `${record.status}/${record.idleMinutes ?? ''}`;
    if ((this.#last.get(record.userId) ?? 'offline/') !== key) {
      this.changes++;
      this.#last.set(record.userId, key);
    }
    return this.#inner.set(record, ttlMs);
  }

  heartbeat(userId: string, ttlMs: number): Promise<boolean> {
    return this.#inner.heartbeat(userId, ttlMs);
  }

  get(userId: string): Promise<PresenceRecord | undefined> {
    return this.#inner.get(userId);
  }

  getMany(userIds: readonly string[]): Promise<Map<string, PresenceRecord>> {
    return this.#inner.getMany(userIds);
  }
}

/** One policy's raw figures (plain data, so a worker can send it). */
interface PolicyRun {
  readonly counters: PresenceCounters;
  readonly changes: number;
  readonly stats: WorkloadStats;
  readonly onlineUsers: number;
  readonly foregroundUsers: number;
  readonly friendships: number;
  /** Wall time of the run (ms): not part of the figures. */
  readonly ms: number;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function runPolicy(
  graph: FriendGraph,
  policy: PresencePolicyName,
  options: Required<SimOptions>,
): Promise<PolicyRun> {
  const started = performance.now();
  const clock = new ManualClock(T0);
  const store = new CountingStore(new InMemoryPresenceStore({ clock }));
  const events = new NotificationCenter();
  const sessions = new SessionRegistry(clock, events, 0);
  const service = new PresenceService({
    clock,
    store,
    policy: createPresencePolicy(policy),
    relations: {
      friendsOf: (id) => friendsOf(graph, id),
      maySee: (viewer, subject) => maySee(graph, viewer, subject),
    },
    sessions,
    events,
    outbox: new SessionOutbox(sessions),
    idleAfterMs: WORKLOAD_DEFAULTS.idleAfterMs,
  });
  const workload = new PresenceWorkload(graph, clock, registryTarget(sessions, service), options.seed);
  let onlineSum = 0;
  let foregroundSum = 0;
  const run = async (ms: number, sample: boolean): Promise<void> => {
    for (let t = 0; t < ms; t += STEP_MS) {
      clock.advance(Math.min(STEP_MS, ms - t));
      await Promise.all(workload.takePending());
      await nextTurn(); // the snapshots' continuations, and the stores' writes
      if (sample) {
        onlineSum += workload.connected;
        foregroundSum += workload.foreground;
      }
    }
  };
  workload.start();
  await run(options.warmupMinutes * 60_000, false);
  service.resetCounters();
  workload.resetStats();
  store.changes = 0;
  const measuredMs = options.minutes * 60_000;
  await run(measuredMs, true);
  service.close();
  const steps = Math.ceil(measuredMs / STEP_MS);
  return {
    counters: service.counters,
    changes: store.changes,
    stats: { ...workload.stats },
    onlineUsers: onlineSum / steps,
    foregroundUsers: foregroundSum / steps,
    friendships: graph.friendships,
    ms: performance.now() - started,
  };
}

/** What a worker is told to run. */
interface WorkerTask {
  readonly policy: PresencePolicyName;
  readonly options: Required<SimOptions>;
}

/** Marks the worker threads of this module (their `workerData`). */
const WORKER_MARK = 'presence-sim-worker';

/**
 * A worker thread that runs policies one at a time, each on its own copy of the (seeded, so identical) graph,
 * built once per worker. Under ts-node the worker registers ts-node first; `TS_NODE_PROJECT` points it (and
 * tsconfig-paths) at this repository's tsconfig.json.
 */
class SimWorker {
  readonly #worker: Worker;
  #waiting: { done(run: PolicyRun): void; fail(error: Error): void } | undefined;

  constructor() {
    const register = __filename.endsWith('.ts') ? "require('ts-node/register');" : '';
    this.#worker = new Worker(`${register} require(${JSON.stringify(__filename)});`, {
      eval: true,
      workerData: WORKER_MARK,
      env: { ...process.env, TS_NODE_PROJECT: resolve(__dirname, '..', '..', 'tsconfig.json') },
    });
    this.#worker.on('message', (run: PolicyRun) => this.#settle((w) => w.done(run)));
    this.#worker.on('error', (error) => this.#settle((w) => w.fail(error)));
    this.#worker.on('exit', (code) =>
      this.#settle((w) => w.fail(new Error(`a simulator worker exited with code ${code}`))),
    );
  }

  run(task: WorkerTask): Promise<PolicyRun> {
    return new Promise((done, fail) => {
      this.#waiting = { done, fail };
      this.#worker.postMessage(task);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  #settle(action: (waiting: { done(run: PolicyRun): void; fail(error: Error): void }) => void): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) action(waiting);
  }
}

/** The worker side: run each task it is sent, and post the result back. */
function workerMain(): void {
  let cached: { key: string; graph: FriendGraph } | undefined;
  parentPort?.on('message', (task: WorkerTask) => {
    const o = task.options;
    const started = performance.now();
    const key = `${o.users}/${o.friends}/${o.seed}`;
    if (cached?.key !== key) cached = { key, graph: buildFriendGraph(o.users, o.friends, o.seed) };
    void runPolicy(cached.graph, task.policy, o).then((run) =>
      parentPort?.postMessage({ ...run, ms: performance.now() - started }),
    );
  });
}

/**
 * The command line that reproduces a run.
 *
 * @param o - the run's options
 */
export function commandFor(o: Required<SimOptions>): string {
  return (
    `npm run presence:sim -- --users ${o.users} --friends ${o.friends} --minutes ${o.minutes} ` +
    `--seed ${o.seed} --warmup ${o.warmupMinutes} --policies ${o.policies.join(',')}`
  );
}

/**
 * Checks options and fills in the defaults.
 *
 * @param options - what was asked
 * @throws RangeError for a value out of range or an unknown policy
 */
export function normalise(options: SimOptions): Required<SimOptions> {
  const o: Required<SimOptions> = {
    users: options.users,
    friends: options.friends,
    minutes: options.minutes,
    seed: options.seed,
    warmupMinutes: options.warmupMinutes ?? WORKLOAD_DEFAULTS.warmupMs / 60_000,
    policies: options.policies ?? PRESENCE_POLICIES,
  };
  const integer = (value: number, name: string, min: number): void => {
    if (!Number.isSafeInteger(value) || value < min)
      throw new RangeError(`--${name} must be an integer ≥ ${min}`);
  };
  integer(o.users, 'users', 2);
  integer(o.friends, 'friends', 0);
  integer(o.seed, 'seed', 0);
  if (o.seed > 0xffffffff) throw new RangeError('--seed must be below 2^32');
  if (!Number.isFinite(o.minutes) || o.minutes <= 0) throw new RangeError('--minutes must be > 0');
  if (!Number.isFinite(o.warmupMinutes) || o.warmupMinutes < 0) throw new RangeError('--warmup must be ≥ 0');
  if (o.policies.length === 0) throw new RangeError('--policies needs at least one policy');
  for (const p of o.policies) {
    if (!PRESENCE_POLICIES.includes(p)) {
      throw new RangeError(`unknown policy ${JSON.stringify(p)}; use ${PRESENCE_POLICIES.join(', ')}`);
    }
  }
  return o;
}

/**
 * Runs the workload against each policy.
 *
 * @param options - the run, and how many policies to simulate at once
 * @param hooks - progress and timings
 * @returns the figures (deterministic: the same options give the same result)
 */
export async function simulate(options: RunOptions, hooks: SimHooks = {}): Promise<SimResult> {
  const o = normalise(options);
  const requested = options.jobs ?? 1;
  if (!Number.isSafeInteger(requested) || requested < 1)
    throw new RangeError('--jobs must be an integer ≥ 1');
  const jobs = Math.min(requested, o.policies.length);
  const runs = new Map<PresencePolicyName, PolicyRun>();
  let friendships: number;
  if (jobs === 1) {
    const started = performance.now();
    const graph = buildFriendGraph(o.users, o.friends, o.seed);
    friendships = graph.friendships;
    hooks.onPhase?.('graph', performance.now() - started);
    for (const policy of o.policies) {
      const run = await runPolicy(graph, policy, o);
      runs.set(policy, run);
      hooks.onPhase?.(policy, run.ms);
    }
  } else {
    const queue = [...o.policies];
    const workers = Array.from({ length: jobs }, () => new SimWorker());
    const lane = async (worker: SimWorker): Promise<void> => {
      for (let policy = queue.shift(); policy !== undefined; policy = queue.shift()) {
        const run = await worker.run({ policy, options: o });
        runs.set(policy, run);
        hooks.onPhase?.(`${policy} (in a worker)`, run.ms);
      }
    };
    try {
      await Promise.all(workers.map(lane));
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    friendships = runs.get(o.policies[0]!)!.friendships;
  }
  const first = runs.get(o.policies[0]!)!;
  for (const [policy, run] of runs) {
    const same =
      JSON.stringify(run.stats) === JSON.stringify(first.stats) &&
      run.onlineUsers === first.onlineUsers &&
      run.foregroundUsers === first.foregroundUsers;
    if (!same) throw new Error(`the workload under ${policy} differs from the one under ${o.policies[0]}`);
  }

  const seconds = o.minutes * 60;
  const naive = runs.get('naive');
  const totalBytes = (c: PresenceCounters): number => c.bytes + c.snapshotBytes;
  const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
  const policies = o.policies.map((policy): PolicyFigures => {
    const { counters, changes } = runs.get(policy)!;
    return {
      ...counters,
      changes,
      changesPerSecond: changes / seconds,
      pushesPerSecond: counters.pushes / seconds,
      framesPerSecond: counters.frames / seconds,
      bytesPerSecond: counters.bytes / seconds,
      snapshotFramesPerSecond: counters.snapshotFrames / seconds,
      snapshotBytesPerSecond: counters.snapshotBytes / seconds,
      pushRatio: naive === undefined ? null : ratio(naive.counters.pushes, counters.pushes),
      byteRatio: naive === undefined ? null : ratio(totalBytes(naive.counters), totalBytes(counters)),
    };
  });
  const d = deriveWorkload();
  const formula =
    naive === undefined
      ? null
      : {
          friends: o.friends,
          onlineUsers: first.onlineUsers,
          churn: naive.changes / seconds / first.onlineUsers,
          pushesPerSecond: o.friends * (naive.changes / seconds),
          measuredNaivePushesPerSecond: naive.counters.pushes / seconds,
        };
  return {
    command: commandFor(o),
    params: o,
    workload: { ...WORKLOAD_DEFAULTS, longMeanMs: d.longMeanMs, gapMeanMs: d.gapMeanMs },
    graph: { friendships, averageFriends: (2 * friendships) / o.users },
    measured: {
      seconds,
      onlineUsers: first.onlineUsers,
      foregroundUsers: first.foregroundUsers,
      stats: first.stats,
    },
    formula,
    policies,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------------------------

/**
 * A number with a fixed count of decimals and thousands separators (`36,021.4`), the same on every machine.
 *
 * @param x - the number
 * @param decimals - digits after the point
 */
export function num(x: number, decimals = 1): string {
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '–';
  const [whole = '', fraction] = Math.abs(x).toFixed(decimals).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${x < 0 ? '-' : ''}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

/** A ratio as `12.3×`. */
const times = (r: number | null): string => (r === null ? '–' : `${num(r, 1)}×`);

/** The columns of the results table. */
export const TABLE_HEADER: readonly string[] = [
  'policy',
  'changes/s',
  'pushes/s',
  'frames/s',
  'bytes/s',
  'snapshot frames/s',
  'snapshot bytes/s',
  'naive ÷ policy, pushes',
  'naive ÷ policy, bytes',
];

/**
 * The cells of the results table, one row per policy.
 *
 * @param result - a run
 */
export function tableRows(result: SimResult): string[][] {
  return result.policies.map((p) => [
    p.policy,
    num(p.changesPerSecond),
    num(p.pushesPerSecond),
    num(p.framesPerSecond),
    num(p.bytesPerSecond, 0),
    num(p.snapshotFramesPerSecond),
    num(p.snapshotBytesPerSecond, 0),
    times(p.pushRatio),
    times(p.byteRatio),
  ]);
}

/**
 * The results table as Markdown, padded so it reads in a terminal too.
 *
 * @param result - a run
 */
export function markdownTable(result: SimResult): string {
  const rows = [TABLE_HEADER, ...tableRows(result)];
  const widths = TABLE_HEADER.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (c === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(TABLE_HEADER), rule, ...rows.slice(1).map(line)].join('\n');
}

/**
 * The seed's estimate beside the measured naive figure, as one line.
 *
 * @param result - a run
 */
export function formulaLine(result: SimResult): string {
  const f = result.formula;
  if (f === null) return "seed's formula: needs the naive policy (it counts the churn)";
  return (
    `seed's formula O(friends × peak users × churn): ${num(f.friends, 0)} × ${num(f.onlineUsers, 0)} × ` +
    `${f.churn.toPrecision(4)} changes per online user per second = ${num(f.pushesPerSecond)} pushes/s; ` +
    `measured naive: ${num(f.measuredNaivePushesPerSecond)} pushes/s`
  );
}

const minutes = (ms: number): string => `${num(ms / 60_000, 1)} min`;

/**
 * The whole report, as the command prints it.
 *
 * @param result - a run
 */
export function formatReport(result: SimResult): string {
  const { params: o, workload: w, measured: m } = result;
  const s = m.stats;
  const perSecond = (x: number): string => num(x / m.seconds);
  return [
    'chat-room presence simulator',
    `reproduce: ${result.command}`,
    '',
    'workload (the fixed defaults of bench/presence/workload.ts)',
    `  ${num(o.users, 0)} users, ${num(result.graph.averageFriends, 1)} friends on average ` +
      `(symmetric random graph, ${num(result.graph.friendships, 0)} friendships), seed ${o.seed}`,
    `  ${num(w.onlineShare * 100, 0)}% online at peak: sessions ${minutes(w.meanSessionMs)} on average ` +
      `(${num(w.flapShare * 100, 0)}% flaps, exp. mean ${num(w.flapMeanMs / 1000, 0)} s capped at ` +
      `${num(w.flapCapMs / 1000, 0)} s; the rest exp. mean ${minutes(w.longMeanMs)}), offline gaps exp. mean ` +
      minutes(w.gapMeanMs),
    `  in the foreground: to the background once per ${minutes(w.backgroundEveryMs)} (back after exp. mean ` +
      `${num(w.backgroundMeanMs / 1000, 0)} s), activity every ${minutes(w.activityEveryMs)} (Poisson), ` +
      `idle after ${minutes(w.idleAfterMs)}`,
    `  ${w.subscriptionsPerSession} random friends subscribed per foreground session (new ones at each activity); ` +
      `last seen: ${num(w.privacy.everyone * 100, 0)}% everyone, ${num(w.privacy.contacts * 100, 0)}% contacts, ` +
      `${num(w.privacy.nobody * 100, 0)}% nobody`,
    `  ${num(o.warmupMinutes, 0)} min warm-up (not counted), then ${num(o.minutes, 0)} min measured, ` +
      `clock steps of ${STEP_MS} ms`,
    '',
    'measured workload (identical under every policy)',
    `  online users ${num(m.onlineUsers, 0)} on average (${num((100 * m.onlineUsers) / o.users, 1)}%), ` +
      `${num(m.foregroundUsers, 0)} in the foreground`,
    `  per second: ${perSecond(s.sessionsOpened)} sessions opened (${num((100 * s.flaps) / Math.max(1, s.sessionsOpened), 1)}% flaps), ` +
      `${perSecond(s.sessionsClosed)} closed, ${perSecond(s.backgroundTrips)} trips to the background, ` +
      `${perSecond(s.activities)} activities, ${perSecond(s.subscriptions)} subscriptions`,
    '',
    markdownTable(result),
    '',
    formulaLine(result),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------------------

/**
 * Parses the command line.
 *
 * @param argv - the arguments after the script
 * @throws RangeError or TypeError for a bad argument
 */
export function parseSimArgs(argv: readonly string[]): { options: RunOptions; json: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      users: { type: 'string', default: '10000' },
      friends: { type: 'string', default: '200' },
      minutes: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      warmup: { type: 'string', default: String(WORKLOAD_DEFAULTS.warmupMs / 60_000) },
      policies: { type: 'string', default: PRESENCE_POLICIES.join(',') },
      jobs: { type: 'string', default: String(availableParallelism()) },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const jobs = Number(values.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError('--jobs must be an integer ≥ 1');
  const options: RunOptions = {
    jobs,
    users: Number(values.users),
    friends: Number(values.friends),
    minutes: Number(values.minutes),
    seed: Number(values.seed),
    warmupMinutes: Number(values.warmup),
    policies: values.policies.split(',').map((p) => p.trim()) as PresencePolicyName[],
  };
  normalise(options);
  return { options, json: values.json };
}

async function main(): Promise<void> {
  const { options, json } = parseSimArgs(process.argv.slice(2));
  const started = performance.now();
  const phases: string[] = [];
  const result = await simulate(options, {
    onPhase: (phase, ms) => {
      phases.push(`${phase} ${(ms / 1000).toFixed(1)} s`);
      process.stderr.write(`[presence:sim] ${phase} done in ${(ms / 1000).toFixed(1)} s\n`);
    },
  });
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result));
  const rss = process.resourceUsage().maxRSS / 1024;
  process.stderr.write(
    `[presence:sim] timing (not part of the figures): ${((performance.now() - started) / 1000).toFixed(1)} s ` +
      `(${phases.join(', ')}), peak RSS ${rss.toFixed(0)} MB\n`,
  );
}

if (!isMainThread && workerData === WORKER_MARK) {
  workerMain();
} else if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
