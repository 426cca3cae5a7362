import type { Clock, Connection } from '../../ports';
import type { NotificationCenter, RecipientState } from '../notification-center';

/** The server's view of one connected device. */
export interface SessionRecord {
  /** The connection's id, which names the session. */
  readonly id: string;
  readonly connection: Connection;
  readonly userId: string;
  readonly deviceId: string;
  foreground: boolean;
}

/** What the registry keeps per user. */
interface UserRecord {
  /** The user's open sessions, in the order they opened. */
  sessions: SessionRecord[];
  /** Devices registered for push, with when each was last connected. */
  pushDevices: Map<string, number>;
  lastSeenAt: number;
  state: RecipientState;
}

/**
 * Who is connected, on which devices, in the foreground or the background, and so where a message for a user
 * should go: online (a foreground session), away (background sessions only, or a push device seen within the
 * away window), offline. It is the one record of open sessions: presence and delivery read it, and it publishes
 * `session-opened`, `session-closed` and `session-foreground` as they change.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.connect('bob', { foreground: false })
 * chat.presenceOf('bob') // 'away'
 * ```
 */
export class SessionRegistry {
  readonly #clock: Clock;
  readonly #events: NotificationCenter;
  readonly #awayWindowMs: number;
  readonly #users = new Map<string, UserRecord>();
  readonly #sessions = new Map<string, SessionRecord>();

  /**
   * Creates the registry.
   *
   * @param clock - for last-seen times
   * @param events - where state changes are published
   * @param awayWindowMs - how long after its last connection a push device still makes its user away
   */
  constructor(clock: Clock, events: NotificationCenter, awayWindowMs: number) {
    this.#clock = clock;
    this.#events = events;
    this.#awayWindowMs = awayWindowMs;
  }

  /**
   * Records a new connection.
   *
   * @param connection - the server end of the connection
   */
  add(connection: Connection): SessionRecord {
    const { userId, deviceId, foreground } = connection.identity;
    const session: SessionRecord = { id: connection.id, connection, userId, deviceId, foreground };
    this.#sessions.set(session.id, session);
    this.#user(userId).sessions.push(session);
    this.#touch(userId);
    this.#events.publish('session-opened', { userId, deviceId, connectionId: session.id, foreground });
    return session;
  }

  /**
   * Forgets a closed connection.
   *
   * @param session - the session to drop
   */
  remove(session: SessionRecord): void {
    const user = this.#users.get(session.userId);
    if (user === undefined || this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    user.sessions = user.sessions.filter((s) => s !== session);
    if (user.pushDevices.has(session.deviceId)) user.pushDevices.set(session.deviceId, this.#clock.now());
    this.#touch(session.userId);
    const { userId, deviceId } = session;
    this.#events.publish('session-closed', { userId, deviceId, connectionId: session.id });
    // Away on the strength of a push device lasts only the away window; then the user is offline, and says so.
    if (user.sessions.length === 0 && user.state === 'away') {
      this.#clock.setTimeout(() => this.#touch(session.userId), this.#awayWindowMs + 1);
    }
  }

  /**
   * Moves a session to the foreground or the background.
   *
   * @param session - the session
   * @param foreground - where the app is now
   */
  setForeground(session: SessionRecord, foreground: boolean): void {
    if (session.foreground === foreground) return;
    session.foreground = foreground;
    this.#touch(session.userId);
    this.#events.publish('session-foreground', {
      userId: session.userId,
      connectionId: session.id,
      foreground,
    });
  }

  /**
   * An open session by id.
   *
   * @param sessionId - the session (its connection's id)
   */
  get(sessionId: string): SessionRecord | undefined {
    return this.#sessions.get(sessionId);
  }

  /**
   * A user's open sessions, foreground and background, in the order they opened.
   *
   * @param userId - the user
   */
  sessionsOf(userId: string): readonly SessionRecord[] {
    return this.#users.get(userId)?.sessions ?? [];
  }

  /**
   * Registers a device to receive push notifications while its user is away.
   *
   * @param userId - the user
   * @param deviceId - the device
   */
  registerPushDevice(userId: string, deviceId: string): void {
    this.#user(userId).pushDevices.set(deviceId, this.#clock.now());
    this.#touch(userId);
  }

  /**
   * The devices a user registered for push notifications, in registration order.
   *
   * @param userId - the user
   */
  pushDevices(userId: string): string[] {
    return [...(this.#users.get(userId)?.pushDevices.keys() ?? [])];
  }

  /**
   * Where a message for this user goes now.
   *
   * @param userId - the user
   */
  stateOf(userId: string): RecipientState {
    const user = this.#users.get(userId);
    return user === undefined ? 'offline' : this.#derive(user);
  }

  /**
   * When the user was last connected (now, while connected); 0 if never.
   *
   * @param userId - the user
   */
  lastSeenAt(userId: string): number {
    const user = this.#users.get(userId);
    if (user === undefined) return 0;
    return user.sessions.length > 0 ? this.#clock.now() : user.lastSeenAt;
  }

  /**
   * The user's foreground sessions, which receive messages live.
   *
   * @param userId - the user
   */
  foregroundSessions(userId: string): SessionRecord[] {
    return this.sessionsOf(userId).filter((s) => s.foreground);
  }

  /**
   * The devices a push notification for this user goes to: those with a background session, and those
   * registered for push.
   *
   * @param userId - the user
   */
  pushTargets(userId: string): string[] {
    const user = this.#users.get(userId);
    if (user === undefined) return [];
    const devices = new Set(user.pushDevices.keys());
    for (const s of user.sessions) if (!s.foreground) devices.add(s.deviceId);
    return [...devices];
  }

  #user(userId: string): UserRecord {
    let user = this.#users.get(userId);
    if (user === undefined) {
      user = { sessions: [], pushDevices: new Map(), lastSeenAt: 0, state: 'offline' };
      this.#users.set(userId, user);
    }
    return user;
  }

  #derive(user: UserRecord): RecipientState {
    if (user.sessions.length > 0) {
      for (const s of user.sessions) if (s.foreground) return 'online';
      return 'away';
    }
    const now = this.#clock.now();
    for (const seen of user.pushDevices.values()) if (now - seen <= this.#awayWindowMs) return 'away';
    return 'offline';
  }

  #touch(userId: string): void {
    const user = this.#user(userId);
    const now = this.#clock.now();
    user.lastSeenAt = now;
    const state = this.#derive(user);
    if (state === user.state) return;
    user.state = state;
    this.#events.publish('presence', { userId, state, at: now });
  }
}
