import { ValidationError, requireId, requireObject, requireSeq } from '../domain';
import type { Clock, ClientTransport } from '../ports';
import type { NotificationCenter, UserDirectory } from '../services';
import type { TaskTracker } from '../util/task-tracker';
import { ChatSession } from './chat-session';

/** How a device connects. */
export interface ConnectOptions {
  /** In the foreground (online, the default) or the background (away). */
  readonly foreground?: boolean;
  /** The device; a device resumes from its saved cursor. Default `'default'`. */
  readonly deviceId?: string;
  /** Start after this `inboxSeq` instead of the device's saved cursor. */
  readonly cursor?: number;
  /** Acknowledge delivery automatically (default true). */
  readonly autoDelivered?: boolean;
}

/** What in-process devices are made from. */
export interface LocalDevicesDeps {
  /** The in-process transport the sessions connect over. */
  readonly transport: ClientTransport;
  readonly clock: Clock;
  readonly users: UserDirectory;
  /** Where push notifications are published: each reaches the session of its device. */
  readonly events: NotificationCenter;
  readonly tasks: TaskTracker;
}

/**
 * The devices an app connects in process (`ChatSystem.connect`): each is a `ChatSession` over the in-process
 * transport, speaking the same frames a network client does. A push notification for a device reaches its
 * session, as a phone's would.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.registerUser({ id: 'bob', name: 'Bob' })
 * const phone = chat.connect('bob', { deviceId: 'phone', foreground: false })
 * phone.on('push', (n) => console.log(n.title))
 * ```
 */
export class LocalDevices {
  readonly #d: LocalDevicesDeps;
  readonly #sessions = new Map<string, Set<ChatSession>>();

  /**
   * Creates the devices' home and forwards push notifications to them.
   *
   * @param deps - transport, clock, users, events, tasks
   */
  constructor(deps: LocalDevicesDeps) {
    this.#d = deps;
    deps.events.on('push', (n) => {
      for (const s of this.#sessions.get(n.userId) ?? []) if (s.deviceId === n.deviceId) s.deliverPush(n);
    });
  }

  /**
   * Connects a device of a user.
   *
   * @param userId - the user
   * @param options - foreground, device id, cursor
   * @throws NotFoundError when the user is unknown
   * @throws ValidationError when an option is malformed
   */
  connect(userId: string, options: ConnectOptions = {}): ChatSession {
    this.#d.users.get(userId);
    requireObject(options, 'options');
    const foreground = options.foreground ?? true;
    if (typeof foreground !== 'boolean') throw new ValidationError('foreground must be true or false');
    const deviceId = requireId(options.deviceId ?? 'default', 'deviceId');
    if (options.cursor !== undefined) requireSeq(options.cursor, 'cursor');
    const session = new ChatSession(this.#d.transport, {
      userId,
      deviceId,
      foreground,
      clock: this.#d.clock,
      tasks: this.#d.tasks,
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      ...(options.autoDelivered === undefined ? {} : { autoDelivered: options.autoDelivered }),
    });
    const devices = this.#sessions.get(userId) ?? new Set();
    devices.add(session);
    this.#sessions.set(userId, devices);
    session.once('disconnected', () => devices.delete(session));
    return session;
  }
}
