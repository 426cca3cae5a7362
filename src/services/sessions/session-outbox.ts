import type { ServerFrame } from '../../protocol';
import type { DeviceNotice, DeviceOutbox } from '../device-outbox';
import type { SessionRegistry } from '../presence';

/**
 * Turns what the services hand to devices into wire frames, and sends them over the sessions' connections. It is
 * the one place that reaches a user's foreground sessions.
 *
 * Pattern: Adapter — the services' `DeviceOutbox` on top of the registry's connections.
 *
 * @example
 * ```ts
 * import { NotificationCenter, SessionOutbox, SessionRegistry, SystemClock } from 'chat-room'
 * const outbox = new SessionOutbox(new SessionRegistry(new SystemClock(), new NotificationCenter(), 600_000))
 * ```
 */
export class SessionOutbox implements DeviceOutbox {
  readonly #sessions: SessionRegistry;

  /**
   * Creates the outbox.
   *
   * @param sessions - the open sessions
   */
  constructor(sessions: SessionRegistry) {
    this.#sessions = sessions;
  }

  toUser(userId: string, notice: DeviceNotice, exceptSessionId?: string): void {
    if (notice.kind !== 'feed') return this.sendToUser(userId, frameOf(notice), exceptSessionId);
    // A background device keeps its list too, and no sync would bring it the change later.
    const frame = frameOf(notice);
    for (const s of this.#sessions.sessionsOf(userId)) if (s.id !== exceptSessionId) s.connection.send(frame);
  }

  toSession(sessionId: string, notice: DeviceNotice): void {
    this.#sessions.get(sessionId)?.connection.send(frameOf(notice));
  }

  sizeOf(notice: DeviceNotice): number {
    return Buffer.byteLength(JSON.stringify(frameOf(notice)));
  }

  /**
   * Sends a frame to each of a user's foreground sessions, except one.
   *
   * @param userId - the user
   * @param frame - the frame
   * @param exceptSessionId - a session that must not get it
   */
  sendToUser(userId: string, frame: ServerFrame, exceptSessionId?: string): void {
    for (const s of this.#sessions.foregroundSessions(userId)) {
      if (s.id !== exceptSessionId) s.connection.send(frame);
    }
  }
}

function frameOf(notice: DeviceNotice): ServerFrame {
  if (notice.kind === 'entry') return { type: 'entry', entry: notice.entry };
  if (notice.kind === 'feed') return { type: 'feed.changed', ...notice.change };
  const { updates, snapshot } = notice;
  return snapshot ? { type: 'presence', updates, snapshot } : { type: 'presence', updates };
}
