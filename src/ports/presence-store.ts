import type { PresenceRecord } from '../domain';

/**
 * Keeps each user's presence where every node can read it. A record that is not offline lives only as long as
 * its node keeps it fresh: past its expiry it reads as offline, last seen at its last write or heartbeat — so a
 * node that dies leaves no "ghost online" users behind.
 *
 * @example
 * ```ts
 * import { InMemoryPresenceStore, ManualClock } from 'chat-room'
 * const store = new InMemoryPresenceStore({ clock: new ManualClock() })
 * await store.set({ userId: 'bob', status: 'online', lastActiveAt: 0, lastSeenAt: 0 }, 90_000)
 * ```
 */
export interface PresenceStore {
  /** Saves a user's record, to expire `ttlMs` after this write unless a heartbeat extends it (0: never). */
  set(record: PresenceRecord, ttlMs: number): Promise<void>;
  /** Extends the life of a user's record by `ttlMs` from now; false when there is none or it already expired. */
  heartbeat(userId: string, ttlMs: number): Promise<boolean>;
  /** A user's record (expired ones read as offline); `undefined` if the user never had one. */
  get(userId: string): Promise<PresenceRecord | undefined>;
  /** Several users' records at once, keyed by user id; users without a record are left out. */
  getMany(userIds: readonly string[]): Promise<Map<string, PresenceRecord>>;
}
