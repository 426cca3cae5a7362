import type { PresenceRecord, PresenceStatus } from '../domain';

/** The kinds of directory record a `directory` notice may name (the `record-changed` kinds). */
export type DirectoryRecordKind = 'user' | 'group' | 'settings' | 'thread' | 'feed';

/**
 * What one node tells the others. Plain JSON, so it crosses Redis as it is; a receiving bus checks it with
 * `parseClusterNotice` and drops (and counts) anything else.
 *
 * - `entry`: a user's inbox grew to `inboxSeq`; nodes with that user connected read the store after their cursors.
 * - `presence`: a user's presence changed; nodes push it to the devices that follow that user.
 * - `directory`: a directory record changed; nodes drop or reload their copy of it.
 */
export type ClusterNotice =
  | { readonly kind: 'entry'; readonly userId: string; readonly inboxSeq: number }
  | { readonly kind: 'presence'; readonly record: PresenceRecord }
  | { readonly kind: 'directory'; readonly record: DirectoryRecordKind; readonly id: string };

/** Receives the notices of one channel: the notice, and the id of the node that published it (never this node). */
export type ClusterNoticeHandler = (notice: ClusterNotice, fromNodeId: string) => void;

/** What a bus has counted since it was made. */
export interface ClusterBusStats {
  /** Notices handed to the medium. */
  readonly published: number;
  /** Notices `publish` dropped because the medium was unreachable (it resolved `false`). */
  readonly dropped: number;
  /** Notices from other nodes handed to at least one handler's channel. */
  readonly received: number;
  /** Messages that arrived but were not a well-formed notice: dropped. */
  readonly malformed: number;
  /** Handlers that threw: the error is swallowed, the other handlers still run. */
  readonly handlerErrors: number;
}

/**
 * Carries notices between the nodes of a cluster, fast and at most once. Correctness never rests on it: the
 * durable stores and the cursors do, and the bus only saves the wait. A notice may be lost (Redis down, a
 * reconnect), so after `onReconnect` fires a node repairs what it may have missed (re-reads the inbox positions
 * of its connected users, reloads its cached records).
 *
 * A bus never throws into the node: a failed publish resolves `false`, a malformed message is dropped and
 * counted, a throwing handler is counted. A node never hears its own notices.
 *
 * @example
 * ```ts
 * import { InMemoryClusterBus, InMemoryClusterHub } from 'chat-room'
 * const hub = new InMemoryClusterHub()
 * const a = new InMemoryClusterBus({ hub, nodeId: 'a' })
 * const b = new InMemoryClusterBus({ hub, nodeId: 'b' })
 * await b.subscribe('inbox', (notice, from) => console.log(from, notice))
 * await a.publish('inbox', { kind: 'entry', userId: 'bob', inboxSeq: 7 }) // b prints: a {kind: 'entry', ...}
 * ```
 */
export interface ClusterBus {
  /** This node's id, unique in the cluster. */
  readonly nodeId: string;
  /**
   * Sends a notice to every other node subscribed to `channel`.
   *
   * @param channel - the channel's name (the bus may prefix it)
   * @param notice - the notice
   * @returns true once handed to the medium; false when it was dropped (medium unreachable, bus closed)
   */
  publish(channel: string, notice: ClusterNotice): Promise<boolean>;
  /**
   * Calls `handler` for each notice other nodes publish on `channel`. Resolves once the subscription is active
   * (or, with the medium unreachable, at once: it becomes active on reconnect).
   *
   * @param channel - the channel's name
   * @param handler - called for each notice
   * @returns a function that ends this subscription
   */
  subscribe(channel: string, handler: ClusterNoticeHandler): Promise<() => Promise<void>>;
  /**
   * Calls `handler` each time the bus is connected again after losing its medium, once its subscriptions are
   * back: notices sent in between may be lost, so this is when to repair.
   *
   * @param handler - called after each reconnect
   * @returns a function that removes the handler
   */
  onReconnect(handler: () => void): () => void;
  /** What the bus has counted. */
  stats(): ClusterBusStats;
  /** Ends every subscription and stops delivering; publishing afterwards resolves false. Idempotent. */
  close(): Promise<void>;
}

const STATUSES: ReadonlySet<string> = new Set<PresenceStatus>(['online', 'idle', 'away', 'offline']);
const RECORD_KINDS: ReadonlySet<string> = new Set<DirectoryRecordKind>([
  'user',
  'group',
  'settings',
  'thread',
  'feed',
]);

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function parsePresence(v: unknown): PresenceRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (!isId(r.userId) || typeof r.status !== 'string' || !STATUSES.has(r.status)) return undefined;
  if (!isTime(r.lastActiveAt) || !isTime(r.lastSeenAt)) return undefined;
  if (r.idleMinutes !== undefined && !isTime(r.idleMinutes)) return undefined;
  const record = {
    userId: r.userId,
    status: r.status as PresenceStatus,
    lastActiveAt: r.lastActiveAt,
    lastSeenAt: r.lastSeenAt,
  };
  return r.idleMinutes === undefined ? record : { ...record, idleMinutes: r.idleMinutes };
}

/**
 * Checks that a value received from another node is a `ClusterNotice`, and copies only its known fields.
 *
 * @param value - the parsed JSON
 * @returns the notice, or `undefined` when it is malformed
 * @example
 * ```ts
 * import { parseClusterNotice } from 'chat-room'
 * parseClusterNotice({ kind: 'entry', userId: 'bob', inboxSeq: 3 }) // the notice
 * parseClusterNotice({ kind: 'entry', userId: 'bob' }) // undefined
 * ```
 */
export function parseClusterNotice(value: unknown): ClusterNotice | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case 'entry':
      return isId(v.userId) && Number.isSafeInteger(v.inboxSeq) && (v.inboxSeq as number) > 0
        ? { kind: 'entry', userId: v.userId, inboxSeq: v.inboxSeq as number }
        : undefined;
    case 'presence': {
      const record = parsePresence(v.record);
      return record === undefined ? undefined : { kind: 'presence', record };
    }
    case 'directory':
      return typeof v.record === 'string' && RECORD_KINDS.has(v.record) && isId(v.id)
        ? { kind: 'directory', record: v.record as DirectoryRecordKind, id: v.id }
        : undefined;
    default:
      return undefined;
  }
}

/** The message a bus sends: who sent it, and the notice. */
export interface ClusterEnvelope {
  readonly from: string;
  readonly notice: ClusterNotice;
}

/**
 * Reads one message off the medium: JSON `{from, notice}` with a well-formed notice.
 *
 * @param raw - the message as received
 * @returns the envelope, or `undefined` when it is malformed
 */
export function parseClusterEnvelope(raw: string): ClusterEnvelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { from, notice } = value as Record<string, unknown>;
  const parsed = parseClusterNotice(notice);
  return isId(from) && parsed !== undefined ? { from, notice: parsed } : undefined;
}

/** The counts a bus keeps as it hands messages out; `dispatchClusterMessage` and `callReconnectHandlers` add to them. */
export type ClusterBusCounts = { -readonly [K in keyof ClusterBusStats]: ClusterBusStats[K] };

/**
 * Hands one message of a channel to its handlers, as every bus must: a malformed message is counted and dropped,
 * the node's own is ignored, and a handler that throws is counted while the others still run.
 *
 * @param raw - the message as received
 * @param nodeId - the receiving node
 * @param handlers - the channel's handlers
 * @param counts - the bus's counts
 */
export function dispatchClusterMessage(
  raw: string,
  nodeId: string,
  handlers: Iterable<ClusterNoticeHandler>,
  counts: ClusterBusCounts,
): void {
  const envelope = parseClusterEnvelope(raw);
  if (envelope === undefined) {
    counts.malformed++;
    return;
  }
  if (envelope.from === nodeId) return;
  counts.received++;
  for (const handler of [...handlers]) {
    try {
      handler(envelope.notice, envelope.from);
    } catch {
      counts.handlerErrors++;
    }
  }
}

/**
 * Tells the reconnect handlers the medium is back; one that throws is counted, the others still run.
 *
 * @param handlers - the handlers given to `onReconnect`
 * @param counts - the bus's counts
 */
export function callReconnectHandlers(handlers: Iterable<() => void>, counts: ClusterBusCounts): void {
  for (const handler of [...handlers]) {
    try {
      handler();
    } catch {
      counts.handlerErrors++;
    }
  }
}
