/**
 * The seeded presence workload: a friend graph and a population of users who come and go, switch their app
 * between the foreground and the background, act (send or read), and look at some friends. The defaults are
 * fixed by the issue so that results compare; `npm run presence:sim` replays them against each fanout policy.
 *
 * Interpretation of the defaults (also in docs/presence.md):
 *
 * - **Friend graph**: symmetric and random with average degree F: n·F/2 distinct friendships between uniformly
 *   drawn pairs (self-pairs and duplicates are redrawn), so degrees are binomial around F. Each user's friends
 *   are a sorted array of the shared id strings (`u0` … `u{n-1}`).
 * - **Sessions**: each user alternates an offline gap and one session (one session per user). Session lengths:
 *   30% flaps (exponential, mean 15 s, capped at 60 s), 70% long (exponential, mean chosen so that all sessions
 *   average 20 min: (20 min − 0.3 · E[flap]) / 0.7 ≈ 28.5 min). Offline gaps are exponential with mean
 *   4 × 20 min = 80 min, so 20% of users are online in steady state ("peak").
 * - **Start in steady state**: at t = 0 each user is online with probability 20%; an online user's session is a
 *   flap with the probability that a random online moment falls in a flap (0.3 · E[flap] / 20 min), with an
 *   exponential (memoryless) remainder; it is in the background with the steady-state probability
 *   30 s / (5 min + 30 s). Offline users start an exponential gap. A warm-up (10 simulated minutes by default)
 *   runs before counting, so idleness and pending timers settle.
 * - **Foreground / background**: a session starts in the foreground. While in the foreground the app goes to the
 *   background at a rate of once per 5 minutes (exponential) and comes back after an exponential time with mean
 *   30 s; one such trip is "one background/foreground switch per 5 minutes of session".
 * - **Activity**: while in the foreground, a send or a read is a Poisson process with mean interval 2 minutes
 *   (`PresenceService.activity`). A user becomes idle after 5 minutes without activity (`idleAfterMs`).
 * - **Interest**: a foreground session subscribes to 10 random friends when it comes to the foreground (opening,
 *   or back from the background), and replaces that set by 10 new random friends at each activity.
 * - **Privacy** (last seen): 80% everyone, 15% contacts, 5% nobody. Friends are mutual contacts, so only `nobody`
 *   hides a user from their friends; `maySee(viewer, subject)` checks the subject's setting and, for `contacts`,
 *   whether the viewer is among the subject's friends.
 *
 * Determinism: every user draws from a random generator of their own (mulberry32, seeded from the seed and the
 * user's index), in the order of that user's own events. The workload never reads the service's state, so every
 * policy sees exactly the same events at the same times; `WorkloadStats` lets the simulator check that.
 *
 * @module
 */
import type { Clock, PresenceService, SessionRecord, SessionRegistry, TimerHandle } from 'chat-room';
import { seededRandom } from 'chat-room';

/** The workload the issue fixes, so that results compare. All durations in ms. */
export const WORKLOAD_DEFAULTS = Object.freeze({
  /** Share of users online at peak (steady state). */
  onlineShare: 0.2,
  /** Mean session length, flaps included. */
  meanSessionMs: 20 * 60_000,
  /** Share of sessions that are flaps (shorter than one minute). */
  flapShare: 0.3,
  /** Mean of a flap's exponential length, before the cap. */
  flapMeanMs: 15_000,
  /** A flap lasts at most this long. */
  flapCapMs: 60_000,
  /** While in the foreground, the app goes to the background once per this much time (exponential). */
  backgroundEveryMs: 5 * 60_000,
  /** Mean time in the background before coming back (exponential). */
  backgroundMeanMs: 30_000,
  /** Mean interval between activities (a send or a read) in the foreground (Poisson). */
  activityEveryMs: 2 * 60_000,
  /** No activity for this long makes an online user idle. */
  idleAfterMs: 5 * 60_000,
  /** Users a foreground session subscribes to. */
  subscriptionsPerSession: 10,
  /** Last-seen privacy shares. */
  privacy: Object.freeze({ everyone: 0.8, contacts: 0.15, nobody: 0.05 }),
  /** Simulated time before counting starts. */
  warmupMs: 10 * 60_000,
});

/** The workload's settings. */
export type WorkloadSettings = typeof WORKLOAD_DEFAULTS;

/** Figures derived from the settings. */
export interface DerivedWorkload {
  /** E[min(Exp(flapMean), cap)] = flapMean · (1 − e^(−cap/flapMean)). */
  readonly flapExpectedMs: number;
  /** Mean of a long session, so that all sessions average `meanSessionMs`. */
  readonly longMeanMs: number;
  /** Mean offline gap, so that `onlineShare` of users are online in steady state. */
  readonly gapMeanMs: number;
  /** Probability that a session online at a random moment is a flap. */
  readonly flapShareOfOnline: number;
  /** Probability that a session online at a random moment is in the background. */
  readonly backgroundShareOfOnline: number;
}

/**
 * Works out the means the defaults imply.
 *
 * @param w - the settings
 */
export function deriveWorkload(w: WorkloadSettings = WORKLOAD_DEFAULTS): DerivedWorkload {
  const flapExpectedMs = w.flapMeanMs * (1 - Math.exp(-w.flapCapMs / w.flapMeanMs));
  const longMeanMs = (w.meanSessionMs - w.flapShare * flapExpectedMs) / (1 - w.flapShare);
  const gapMeanMs = (w.meanSessionMs * (1 - w.onlineShare)) / w.onlineShare;
  return {
    flapExpectedMs,
    longMeanMs,
    gapMeanMs,
    flapShareOfOnline: (w.flapShare * flapExpectedMs) / w.meanSessionMs,
    backgroundShareOfOnline: w.backgroundMeanMs / (w.backgroundEveryMs + w.backgroundMeanMs),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------------------------

/** One step of mulberry32 on a 32-bit state; returns the new state and a float in [0, 1). */
function mulberry(state: number): { state: number; value: number } {
  const s = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return { state: s, value: ((t ^ (t >>> 14)) >>> 0) / 4294967296 };
}

/** Mixes a few integers into one 32-bit seed (murmur3's finaliser over a running hash). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const GRAPH_STREAM = 1;
const PRIVACY_STREAM = 2;
const USER_STREAM = 3;

// ---------------------------------------------------------------------------------------------------------------
// The friend graph
// ---------------------------------------------------------------------------------------------------------------

/** Last-seen visibility, as a byte per user. */
export const EVERYONE = 0;
export const CONTACTS = 1;
export const NOBODY = 2;

/** The users, their friends and their privacy. */
export interface FriendGraph {
  /** `u0` … `u{n-1}`: the only copies of the id strings. */
  readonly ids: readonly string[];
  /** CSR adjacency: the friends of user i are `neighbors[offsets[i] .. offsets[i+1])`, sorted. */
  readonly offsets: Int32Array;
  readonly neighbors: Int32Array;
  /** The friends of each user as id strings (sharing `ids`), in the same order. */
  readonly friendIds: readonly (readonly string[])[];
  /** Each user's last-seen visibility: `EVERYONE`, `CONTACTS` or `NOBODY`. */
  readonly privacy: Uint8Array;
  /** Distinct friendships (each counted once). */
  readonly friendships: number;
}

/**
 * Builds a symmetric random friend graph with `round(users · friends / 2)` distinct friendships, and draws each
 * user's last-seen privacy.
 *
 * @param users - how many users
 * @param friends - the average number of friends
 * @param seed - the seed
 * @param settings - the privacy shares
 * @throws RangeError when the graph cannot be that dense
 */
export function buildFriendGraph(
  users: number,
  friends: number,
  seed: number,
  settings: WorkloadSettings = WORKLOAD_DEFAULTS,
): FriendGraph {
  if (!Number.isInteger(users) || users < 2) throw new RangeError('users must be an integer ≥ 2');
  if (!Number.isInteger(friends) || friends < 0 || friends > (users - 1) / 2) {
    throw new RangeError(`friends must be an integer between 0 and (users − 1) / 2 = ${(users - 1) / 2}`);
  }
  const n = users;
  const m = Math.round((n * friends) / 2);
  const random = seededRandom(mixSeed(seed, GRAPH_STREAM));
  const draw = (): number => Math.floor(random() * n);

  // 1. m random pairs (no self-pairs), laid out both ways, each user's list sorted, duplicates dropped.
  const src = new Int32Array(m);
  const dst = new Int32Array(m);
  const degree = new Int32Array(n);
  for (let k = 0; k < m; k++) {
    const u = draw();
    let v = draw();
    while (v === u) v = draw();
    src[k] = u;
    dst[k] = v;
    degree[u]!++;
    degree[v]!++;
  }
  let offsets: Int32Array = prefixSums(degree);
  let neighbors: Int32Array = new Int32Array(2 * m);
  const fill = offsets.slice(0, n);
  for (let k = 0; k < m; k++) {
    const u = src[k]!;
    const v = dst[k]!;
    neighbors[fill[u]!++] = v;
    neighbors[fill[v]!++] = u;
  }
  ({ offsets, neighbors } = sortAndDedupe(offsets, neighbors));

  // 2. Redraw the friendships lost to duplicates, so there are exactly m.
  let missing = m - neighbors.length / 2;
  if (missing > 0) {
    const extra = new Set<number>();
    const extras: number[] = [];
    while (missing > 0) {
      const u = draw();
      const v = draw();
      if (u === v) continue;
      const key = Math.min(u, v) * n + Math.max(u, v);
      if (extra.has(key) || contains(neighbors, offsets[u]!, offsets[u + 1]!, v)) continue;
      extra.add(key);
      extras.push(u, v);
      missing--;
    }
    const grown = new Int32Array(n);
    for (let i = 0; i < n; i++) grown[i] = offsets[i + 1]! - offsets[i]!;
    for (const u of extras) grown[u]!++;
    const merged = prefixSums(grown);
    const out = new Int32Array(neighbors.length + extras.length);
    const at = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      out.set(neighbors.subarray(offsets[i]!, offsets[i + 1]!), merged[i]!);
      at[i] = merged[i]! + offsets[i + 1]! - offsets[i]!;
    }
    for (let k = 0; k < extras.length; k += 2) {
      const u = extras[k]!;
      const v = extras[k + 1]!;
      out[at[u]!++] = v;
      out[at[v]!++] = u;
    }
    for (let i = 0; i < n; i++)
      if (merged[i + 1]! - merged[i]! !== offsets[i + 1]! - offsets[i]!) {
        out.subarray(merged[i]!, merged[i + 1]!).sort();
      }
    offsets = merged;
    neighbors = out;
  }

  const ids = Array.from({ length: n }, (_, i) => `u${i}`);
  const friendIds: string[][] = new Array<string[]>(n);
  for (let i = 0; i < n; i++) {
    const start = offsets[i]!;
    const list = new Array<string>(offsets[i + 1]! - start);
    for (let k = 0; k < list.length; k++) list[k] = ids[neighbors[start + k]!]!;
    friendIds[i] = list;
  }

  const privacyRandom = seededRandom(mixSeed(seed, PRIVACY_STREAM));
  const privacy = new Uint8Array(n);
  const { everyone, contacts } = settings.privacy;
  for (let i = 0; i < n; i++) {
    const r = privacyRandom();
    privacy[i] = r < everyone ? EVERYONE : r < everyone + contacts ? CONTACTS : NOBODY;
  }
  return { ids, offsets, neighbors, friendIds, privacy, friendships: neighbors.length / 2 };
}

/**
 * Whether a viewer may see a subject's presence: the subject's setting, and for `contacts` whether the viewer is
 * among the subject's friends.
 *
 * @param graph - the friend graph
 * @param viewerId - who looks
 * @param subjectId - whom
 */
export function maySee(graph: FriendGraph, viewerId: string, subjectId: string): boolean {
  const subject = userIndex(graph, subjectId);
  if (subject === -1) return false;
  const setting = graph.privacy[subject];
  if (setting === EVERYONE) return true;
  if (setting === NOBODY) return false;
  const viewer = userIndex(graph, viewerId);
  return (
    viewer !== -1 && contains(graph.neighbors, graph.offsets[subject]!, graph.offsets[subject + 1]!, viewer)
  );
}

/**
 * The friends of a user, as id strings (none for an unknown id).
 *
 * @param graph - the friend graph
 * @param userId - the user
 */
export function friendsOf(graph: FriendGraph, userId: string): readonly string[] {
  return graph.friendIds[userIndex(graph, userId)] ?? [];
}

/**
 * The index of a user id (`u` and the index in decimal, as `buildFriendGraph` names them), or -1. Parsing the
 * digits is cheaper than a lookup in a map of 100 000 ids, and the simulator asks for every recipient.
 *
 * @param graph - the friend graph
 * @param id - the user id
 */
export function userIndex(graph: FriendGraph, id: string): number {
  const length = id.length;
  if (length < 2 || length > 11 || id.charCodeAt(0) !== 117 /* u */) return -1;
  if (length > 2 && id.charCodeAt(1) === 48 /* no leading zero */) return -1;
  let index = 0;
  for (let k = 1; k < length; k++) {
    const digit = id.charCodeAt(k) - 48;
    if (digit < 0 || digit > 9) return -1;
    index = index * 10 + digit;
  }
  return index < graph.ids.length ? index : -1;
}

function prefixSums(counts: Int32Array): Int32Array {
  const out = new Int32Array(counts.length + 1);
  for (let i = 0; i < counts.length; i++) out[i + 1] = out[i]! + counts[i]!;
  return out;
}

/** Sorts each user's list and removes repeated entries, compacting the arrays. */
function sortAndDedupe(
  offsets: Int32Array,
  neighbors: Int32Array,
): { offsets: Int32Array; neighbors: Int32Array } {
  const n = offsets.length - 1;
  const outOffsets = new Int32Array(n + 1);
  let write = 0;
  for (let i = 0; i < n; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    neighbors.subarray(start, end).sort();
    outOffsets[i] = write;
    for (let k = start; k < end; k++) {
      const v = neighbors[k]!;
      if (write > outOffsets[i]! && neighbors[write - 1] === v) continue;
      neighbors[write++] = v;
    }
  }
  outOffsets[n] = write;
  return { offsets: outOffsets, neighbors: neighbors.slice(0, write) };
}

/** Binary search for `value` in the sorted range `[start, end)` of `array`. */
function contains(array: Int32Array, start: number, end: number, value: number): boolean {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = array[mid]!;
    if (x === value) return true;
    if (x < value) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// The population
// ---------------------------------------------------------------------------------------------------------------

/** What the workload drives: the part of `PresenceService` a user's device reaches. */
export interface PresenceTarget {
  sessionOpened(sessionId: string, userId: string, foreground: boolean): void;
  sessionClosed(sessionId: string): void;
  setForeground(sessionId: string, foreground: boolean): void;
  activity(userId: string): void;
  subscribe(sessionId: string, userIds: readonly string[]): Promise<unknown>;
}

/**
 * The workload's target on a real `SessionRegistry` and `PresenceService`: sessions open, close and change ground
 * in the registry (over connections that drop what they are sent), and presence hears of it from the registry's
 * events, as it does in a server.
 *
 * @param sessions - the registry the presence service reads
 * @param presence - the presence service
 */
export function registryTarget(sessions: SessionRegistry, presence: PresenceService): PresenceTarget {
  const open = new Map<string, SessionRecord>();
  return {
    sessionOpened(sessionId, userId, foreground) {
      const connection = {
        id: sessionId,
        identity: { userId, deviceId: sessionId, foreground },
        send: () => undefined,
        close: () => undefined,
      };
      open.set(sessionId, sessions.add(connection));
    },
    sessionClosed(sessionId) {
      const session = open.get(sessionId);
      open.delete(sessionId);
      if (session !== undefined) sessions.remove(session);
    },
    setForeground(sessionId, foreground) {
      const session = open.get(sessionId);
      if (session !== undefined) sessions.setForeground(session, foreground);
    },
    activity: (userId) => presence.activity(userId),
    subscribe: (sessionId, userIds) => presence.subscribe(sessionId, userIds),
  };
}

/** What the workload did since the last reset: the same for every policy. */
export interface WorkloadStats {
  sessionsOpened: number;
  /** Of the sessions opened, how many were drawn as flaps. */
  flaps: number;
  sessionsClosed: number;
  /** Trips to the background (each followed, unless the session ends first, by a return). */
  backgroundTrips: number;
  foregroundReturns: number;
  activities: number;
  subscriptions: number;
}

const emptyStats = (): WorkloadStats => ({
  sessionsOpened: 0,
  flaps: 0,
  sessionsClosed: 0,
  backgroundTrips: 0,
  foregroundReturns: 0,
  activities: 0,
  subscriptions: 0,
});

/**
 * The users of a friend graph living their seeded lives on a clock, driving a `PresenceTarget`. Every event is a
 * timer on the clock the service uses, so the service's own timers (graces, batches, idle checks) interleave
 * with the users' events in time order.
 */
export class PresenceWorkload {
  readonly stats: WorkloadStats = emptyStats();
  /** Users with a session now. */
  connected = 0;
  /** Users with their session in the foreground now. */
  foreground = 0;

  readonly #graph: FriendGraph;
  readonly #clock: Clock;
  readonly #target: PresenceTarget;
  readonly #w: WorkloadSettings;
  readonly #d: DerivedWorkload;
  readonly #rng: Int32Array;
  readonly #sessionNo: Uint32Array;
  readonly #inForeground: Uint8Array;
  readonly #sessionId: (string | undefined)[];
  /** The pending in-session event (activity, background trip, return). */
  readonly #step: (TimerHandle | undefined)[];
  #pending: Promise<unknown>[] = [];
  #lastDrawWasFlap = false;

  /**
   * Prepares the population; nothing happens until `start`.
   *
   * @param graph - the users and their friends
   * @param clock - the clock the service runs on
   * @param target - the service
   * @param seed - the seed (the same as the graph's)
   * @param settings - the workload settings
   */
  constructor(
    graph: FriendGraph,
    clock: Clock,
    target: PresenceTarget,
    seed: number,
    settings: WorkloadSettings = WORKLOAD_DEFAULTS,
  ) {
    const n = graph.ids.length;
    this.#graph = graph;
    this.#clock = clock;
    this.#target = target;
    this.#w = settings;
    this.#d = deriveWorkload(settings);
    this.#rng = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#rng[i] = mixSeed(seed, USER_STREAM, i) | 0;
    this.#sessionNo = new Uint32Array(n);
    this.#inForeground = new Uint8Array(n);
    this.#sessionId = new Array<string | undefined>(n).fill(undefined);
    this.#step = new Array<TimerHandle | undefined>(n).fill(undefined);
  }

  /** Puts the population in steady state at the clock's current time. */
  start(): void {
    const d = this.#d;
    for (let i = 0; i < this.#graph.ids.length; i++) {
      if (this.#random(i) < this.#w.onlineShare) {
        const flap = this.#random(i) < d.flapShareOfOnline;
        const remaining = flap ? this.#flapLength(i) : this.#exp(i, d.longMeanMs);
        const background = this.#random(i) < d.backgroundShareOfOnline;
        this.#open(i, remaining, !background, flap);
      } else {
        this.#afterGap(i);
      }
    }
  }

  /** Subscriptions made since the last call, for the caller to await. */
  takePending(): Promise<unknown>[] {
    const out = this.#pending;
    this.#pending = [];
    return out;
  }

  /** Zeroes the stats (after the warm-up). */
  resetStats(): void {
    Object.assign(this.stats, emptyStats());
  }

  #random(i: number): number {
    const next = mulberry(this.#rng[i]!);
    this.#rng[i] = next.state;
    return next.value;
  }

  /** An exponential delay in whole ms (at least 1). */
  #exp(i: number, mean: number): number {
    return Math.max(1, Math.round(-mean * Math.log(1 - this.#random(i))));
  }

  #flapLength(i: number): number {
    return Math.min(this.#exp(i, this.#w.flapMeanMs), this.#w.flapCapMs);
  }

  #sessionLength(i: number): number {
    this.#lastDrawWasFlap = this.#random(i) < this.#w.flapShare;
    return this.#lastDrawWasFlap ? this.#flapLength(i) : this.#exp(i, this.#d.longMeanMs);
  }

  #afterGap(i: number): void {
    this.#clock.setTimeout(
      () => {
        const length = this.#sessionLength(i);
        this.#open(i, length, true, this.#lastDrawWasFlap);
      },
      this.#exp(i, this.#d.gapMeanMs),
    );
  }

  #open(i: number, length: number, foreground: boolean, flap: boolean): void {
    const userId = this.#graph.ids[i]!;
    const sessionId = `${userId}/${++this.#sessionNo[i]!}`;
    this.#sessionId[i] = sessionId;
    this.stats.sessionsOpened++;
    if (flap) this.stats.flaps++;
    this.connected++;
    this.#target.sessionOpened(sessionId, userId, foreground);
    this.#clock.setTimeout(() => this.#close(i), length);
    if (foreground) {
      this.#inForeground[i] = 1;
      this.foreground++;
      this.#subscribe(i);
      this.#scheduleForegroundStep(i);
    } else {
      this.#scheduleReturn(i);
    }
  }

  #close(i: number): void {
    const sessionId = this.#sessionId[i]!;
    const step = this.#step[i];
    if (step !== undefined) this.#clock.clearTimeout(step);
    this.#step[i] = undefined;
    this.#sessionId[i] = undefined;
    if (this.#inForeground[i] === 1) this.foreground--;
    this.#inForeground[i] = 0;
    this.connected--;
    this.stats.sessionsClosed++;
    this.#target.sessionClosed(sessionId);
    this.#afterGap(i);
  }

  /** In the foreground, the next event is an activity or a trip to the background (competing exponentials). */
  #scheduleForegroundStep(i: number): void {
    const activityRate = 1 / this.#w.activityEveryMs;
    const backgroundRate = 1 / this.#w.backgroundEveryMs;
    const delay = this.#exp(i, 1 / (activityRate + backgroundRate));
    this.#step[i] = this.#clock.setTimeout(() => {
      const sessionId = this.#sessionId[i]!;
      if (this.#random(i) < activityRate / (activityRate + backgroundRate)) {
        this.stats.activities++;
        this.#target.activity(this.#graph.ids[i]!);
        this.#subscribe(i);
        this.#scheduleForegroundStep(i);
      } else {
        this.stats.backgroundTrips++;
        this.#inForeground[i] = 0;
        this.foreground--;
        this.#target.setForeground(sessionId, false);
        this.#scheduleReturn(i);
      }
    }, delay);
  }

  #scheduleReturn(i: number): void {
    this.#step[i] = this.#clock.setTimeout(
      () => {
        this.stats.foregroundReturns++;
        this.#inForeground[i] = 1;
        this.foreground++;
        this.#target.setForeground(this.#sessionId[i]!, true);
        this.#subscribe(i);
        this.#scheduleForegroundStep(i);
      },
      this.#exp(i, this.#w.backgroundMeanMs),
    );
  }

  /** Replaces the session's interest by `subscriptionsPerSession` distinct random friends. */
  #subscribe(i: number): void {
    const friends = this.#graph.friendIds[i]!;
    const want = this.#w.subscriptionsPerSession;
    let picks: string[];
    if (friends.length <= want) {
      picks = [...friends];
    } else {
      const chosen: number[] = [];
      while (chosen.length < want) {
        const k = Math.floor(this.#random(i) * friends.length);
        if (!chosen.includes(k)) chosen.push(k);
      }
      picks = chosen.map((k) => friends[k]!);
    }
    this.stats.subscriptions++;
    this.#pending.push(this.#target.subscribe(this.#sessionId[i]!, picks));
  }
}
