/**
 * Presence: what a user's friends see of them — online, idle, away or offline, when they were last active and
 * when last seen — and who may see it.
 *
 * @module
 */

/**
 * A user's status: `online` (a foreground session), `idle` (online, but no activity for a while), `away` (only
 * background sessions), `offline` (no session).
 */
export type PresenceStatus = 'online' | 'idle' | 'away' | 'offline';

/** Who may see a user's status and last-seen time. */
export type LastSeenVisibility = 'everyone' | 'contacts' | 'nobody';

/** A user's presence as others see it. */
export interface PresenceRecord {
  readonly userId: string;
  readonly status: PresenceStatus;
  /** When the user last did something (sent, read, or told the server they are active), ms; 0 if never. */
  readonly lastActiveAt: number;
  /** When the user was last connected (now while connected), ms; 0 if never. */
  readonly lastSeenAt: number;
  /** With the idle ladder: the rung reached (1, 2, 5 or 10 minutes idle). */
  readonly idleMinutes?: number;
}

/** A user's sessions, as presence needs them. */
export interface SessionCounts {
  readonly foreground: number;
  readonly background: number;
}

/**
 * Derives a status from a user's sessions and activity: any foreground session → online (idle once
 * `idleAfterMs` has passed without activity); only background sessions → away; none → offline.
 *
 * @param sessions - how many foreground and background sessions the user has
 * @param lastActiveAt - when the user was last active (ms)
 * @param now - the time to derive for (ms)
 * @param idleAfterMs - how long without activity makes an online user idle
 *
 * @example
 * ```ts
 * import { deriveStatus } from 'chat-room'
 * deriveStatus({ foreground: 1, background: 0 }, 0, 6 * 60_000, 5 * 60_000) // 'idle'
 * ```
 */
export function deriveStatus(
  sessions: SessionCounts,
  lastActiveAt: number,
  now: number,
  idleAfterMs: number,
): PresenceStatus {
  if (sessions.foreground > 0) return now - lastActiveAt >= idleAfterMs ? 'idle' : 'online';
  return sessions.background > 0 ? 'away' : 'offline';
}

/**
 * Renders a record for a reader, as an app would: "online", "idle for 7 min", "away", "last seen 09:12".
 * Idleness comes from `lastActiveAt`, so the server never has to push a user's going idle.
 *
 * @param record - the presence record
 * @param now - the reader's clock (ms)
 * @param idleAfterMs - how long without activity reads as idle
 *
 * @example
 * ```ts
 * import { describePresence } from 'chat-room'
 * describePresence({ userId: 'bob', status: 'online', lastActiveAt: 0, lastSeenAt: 0 }, 7 * 60_000, 5 * 60_000)
 * // 'idle for 7 min'
 * ```
 */
export function describePresence(record: PresenceRecord, now: number, idleAfterMs: number): string {
  const idleMs = now - record.lastActiveAt;
  switch (record.status) {
    case 'online':
    case 'idle':
      if (record.idleMinutes !== undefined) return `idle for ${record.idleMinutes} min`;
      return idleMs >= idleAfterMs ? `idle for ${Math.floor(idleMs / 60_000)} min` : 'online';
    case 'away':
      return 'away';
    case 'offline':
      return record.lastSeenAt > 0 ? `last seen ${new Date(record.lastSeenAt).toISOString()}` : 'offline';
  }
}

/**
 * Tells whether a viewer may see a subject's presence under the subject's last-seen visibility.
 *
 * @param visibility - the subject's setting
 * @param viewerIsContact - whether the subject keeps the viewer among their contacts
 */
export function maySeePresence(visibility: LastSeenVisibility, viewerIsContact: boolean): boolean {
  return visibility === 'everyone' || (visibility === 'contacts' && viewerIsContact);
}
