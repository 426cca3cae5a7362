import type { Clock, Connection } from '../ports';
import type { NotificationCenter, RecipientState } from './notification-center';
import { withAdded, without } from '../util/lists';

/** The server's view of one connected device. */
export interface SessionRecord {
  readonly connection: Connection;
  readonly userId: string;
  readonly deviceId: string;
  foreground: boolean;
}

/**
 * What the registry keeps per user, for as long as the server runs: kept small, since every connected user has
 * one.
 */
interface UserRecord {
  /**
   * The user's sessions, in the order they opened: an array replaced (never changed) on open and close, so it is
   * exactly as long as it needs to be (a user has a device or two; a pushed-to array reserves 17 slots).
   */
  sessions: readonly SessionRecord[];
  /**
   * Devices registered for push, with when each was last connected; made on the first registration, since most
   * users never register one and an empty map costs ~180 bytes.
   */
  pushDevices: Map<string, number> | undefined;
  lastSeenAt: number;
  state: RecipientState;
}

const NO_SESSIONS: readonly SessionRecord[] = Object.freeze([]);

/**
 * Who is connected, on which devices, in the foreground or the background, and so where a message for a user
 * should go: online (a foreground session), away (background sessions only, or a push device seen within the
 * away window), offline.
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
    const session: SessionRecord = { connection, userId, deviceId, foreground };
    const user = this.#user(userId);
    user.sessions = withAdded(user.sessions, session);
    this.#touch(userId);
    return session;
  }

  /**
   * Forgets a closed connection.
   *
   * @param session - the session to drop
   */
  remove(session: SessionRecord): void {
    const user = this.#users.get(session.userId);
    if (user === undefined || !user.sessions.includes(session)) return;
    user.sessions = without(user.sessions, session);
    if (user.pushDevices?.has(session.deviceId) === true)
      user.pushDevices.set(session.deviceId, this.#clock.now());
    this.#touch(session.userId);
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
    session.foreground = foreground;
    this.#touch(session.userId);
  }

  /**
   * Registers a device to receive push notifications while its user is away.
   *
   * @param userId - the user
   * @param deviceId - the device
   */
  registerPushDevice(userId: string, deviceId: string): void {
    const user = this.#user(userId);
    user.pushDevices ??= new Map();
    user.pushDevices.set(deviceId, this.#clock.now());
    this.#touch(userId);
  }

  /**
   * The devices a user registered for push notifications, in registration order.
   *
   * @param userId - the user
   */
  pushDevices(userId: string): string[] {
    return [...(this.#users.get(userId)?.pushDevices?.keys() ?? [])];
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
   * The user's foreground sessions, which receive messages live. Read it at once: while every session is in the
   * foreground (the usual case, and once per message) it is the registry's own list, which the next change
   * replaces rather than edits.
   *
   * @param userId - the user
   */
  foregroundSessions(userId: string): readonly SessionRecord[] {
    const sessions = this.#users.get(userId)?.sessions ?? NO_SESSIONS;
    for (const s of sessions) if (!s.foreground) return sessions.filter((f) => f.foreground);
    return sessions;
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
    const devices = new Set(user.pushDevices?.keys());
    for (const s of user.sessions) if (!s.foreground) devices.add(s.deviceId);
    return [...devices];
  }

  #user(userId: string): UserRecord {
    let user = this.#users.get(userId);
    if (user === undefined) {
      user = { sessions: [], pushDevices: undefined, lastSeenAt: 0, state: 'offline' };
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
    for (const seen of user.pushDevices?.values() ?? []) if (now - seen <= this.#awayWindowMs) return 'away';
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
