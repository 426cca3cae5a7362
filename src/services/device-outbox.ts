import type { InboxEntry, PresenceRecord } from '../domain';

/** Something a service hands to connected devices; the sessions wing turns each into a wire frame. */
export type DeviceNotice =
  | { readonly kind: 'entry'; readonly entry: InboxEntry }
  | { readonly kind: 'presence'; readonly updates: readonly PresenceRecord[]; readonly snapshot: boolean };

/**
 * Where the services send what connected devices should see now. Services say what happened; only the sessions
 * wing (`SessionOutbox`) knows connections and frames. A device that misses a notice loses nothing: inbox entries
 * wait in the store for its next sync.
 *
 * @example
 * ```ts
 * import type { DeviceOutbox } from 'chat-room'
 * const outbox: DeviceOutbox = {
 *   toUser: (userId, notice) => console.log(userId, notice.kind),
 *   toSession: () => {},
 *   sizeOf: (notice) => JSON.stringify(notice).length,
 * }
 * ```
 */
export interface DeviceOutbox {
  /**
   * Hands a notice to each of a user's foreground sessions, except one (the connection a message came from,
   * whose ack already stands for it).
   */
  toUser(userId: string, notice: DeviceNotice, exceptSessionId?: string): void;
  /** Hands a notice to one session, if it is still open. */
  toSession(sessionId: string, notice: DeviceNotice): void;
  /** What a notice weighs on the wire (bytes), for cost counters; only the edge knows the encoding. */
  sizeOf(notice: DeviceNotice): number;
}
