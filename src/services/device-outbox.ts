import type { InboxEntry, PresenceRecord } from '../domain';

/** Something a service hands to connected devices; the sessions wing turns each into a wire frame. */
export type DeviceNotice =
  | { readonly kind: 'entry'; readonly entry: InboxEntry }
  | { readonly kind: 'presence'; readonly updates: readonly PresenceRecord[]; readonly snapshot: boolean }
  | { readonly kind: 'feed'; readonly change: FeedChange };

/** A thread's place in its user's chat list changed (pinned, archived, marked unread): what the other devices show. */
export interface FeedChange {
  readonly threadId: string;
  readonly pinned: boolean;
  readonly archived: boolean;
  readonly markedUnread: boolean;
}

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
   * whose ack already stands for it). A chat-list change (`feed`) goes to background sessions too: no sync
   * brings it later.
   */
  toUser(userId: string, notice: DeviceNotice, exceptSessionId?: string): void;
  /** Hands a notice to one session, if it is still open. */
  toSession(sessionId: string, notice: DeviceNotice): void;
  /** What a notice weighs on the wire (bytes), for cost counters; only the edge knows the encoding. */
  sizeOf(notice: DeviceNotice): number;
}
