import { ChatRoomError, ValidationError, requireId } from '../domain';
import type { ClientFrame, ServerFrame } from '../protocol';
import { PROTOCOL_VERSION } from '../protocol';
import type { Connection, MessageStore, TransportHandler } from '../ports';
import type { DeliveryService } from './delivery-service';
import type { PresenceService } from './presence-service';
import type { NotificationCenter } from './notification-center';
import type { SessionRecord, SessionRegistry } from './session-registry';
import type { UserDirectory } from './user-directory';
import type { TaskTracker } from '../util/task-tracker';

/** What the gateway composes. */
export interface SessionGatewayDeps {
  readonly delivery: DeliveryService;
  readonly presence: PresenceService;
  readonly sessions: SessionRegistry;
  readonly users: UserDirectory;
  readonly store: MessageStore;
  readonly events: NotificationCenter;
  readonly tasks: TaskTracker;
}

interface Open {
  readonly session: SessionRecord;
  /** Frames of one connection are handled one after another, in the order they arrived. */
  queue: Promise<void>;
}

const FRAME_TYPES = new Set<ClientFrame['type']>([
  'send',
  'sync',
  'delivered',
  'read',
  'state',
  'subscribe',
  'active',
]);

/**
 * The server's side of every connection, whatever the transport: greets a device, checks each frame, calls
 * the delivery service as the connection's user (never as a user named in the frame) and answers.
 *
 * Pattern: Adapter — turns transport events and frames into service calls and their results into frames.
 */
export class SessionGateway implements TransportHandler {
  readonly #d: SessionGatewayDeps;
  readonly #open = new Map<Connection, Open>();
  readonly #byId = new Map<string, Connection>();

  /**
   * Creates the gateway.
   *
   * @param deps - the services it calls
   */
  constructor(deps: SessionGatewayDeps) {
    this.#d = deps;
  }

  opened(connection: Connection): void {
    const { userId, deviceId, foreground } = connection.identity;
    if (!this.#d.users.has(userId)) {
      connection.send({ type: 'error', code: 'NOT_FOUND', message: `no user ${userId}` });
      connection.close('unknown user');
      return;
    }
    const session = this.#d.sessions.add(connection);
    const open: Open = { session, queue: Promise.resolve() };
    this.#open.set(connection, open);
    this.#byId.set(connection.id, connection);
    this.#d.presence.sessionOpened(connection.id, userId, foreground);
    this.#d.events.publish('session-opened', { userId, deviceId, connectionId: connection.id, foreground });
    this.#enqueue(open, async () => {
      const [latest, cursor] = await Promise.all([
        this.#d.store.latestInboxSeq(userId),
        this.#d.store.getCursor(userId, `device:${deviceId}`),
      ]);
      connection.send({ type: 'hello', v: PROTOCOL_VERSION, userId, deviceId, latest, cursor });
    });
  }

  received(connection: Connection, frame: unknown): void {
    const open = this.#open.get(connection);
    if (open === undefined) return;
    this.#enqueue(open, async () => {
      const ref = refOf(frame);
      try {
        const reply = await this.#handle(open.session, frame);
        if (reply !== undefined) connection.send(reply);
      } catch (error) {
        connection.send(toErrorFrame(error, ref));
      }
    });
  }

  closed(connection: Connection): void {
    const open = this.#open.get(connection);
    if (open === undefined) return;
    this.#open.delete(connection);
    this.#byId.delete(connection.id);
    this.#d.sessions.remove(open.session);
    this.#d.presence.sessionClosed(connection.id);
    const { userId, deviceId } = connection.identity;
    this.#d.events.publish('session-closed', { userId, deviceId, connectionId: connection.id });
  }

  /**
   * Sends a frame to one connection, if it is still open.
   *
   * @param connectionId - the connection
   * @param frame - the frame
   */
  sendTo(connectionId: string, frame: ServerFrame): void {
    this.#byId.get(connectionId)?.send(frame);
  }

  #enqueue(open: Open, work: () => Promise<void>): void {
    open.queue = this.#d.tasks.track(open.queue.then(work).catch(() => undefined));
  }

  async #handle(session: SessionRecord, raw: unknown): Promise<ServerFrame | undefined> {
    const frame = parseFrame(raw);
    const { userId, deviceId } = session;
    const { delivery } = this.#d;
    switch (frame.type) {
      case 'send': {
        const { ref, clientMessageId } = frame;
        const connection = session.connection;
        // The ack goes out as soon as the message is stored; routing to recipients continues on its own.
        await delivery.send(
          {
            from: userId,
            ...(frame.to === undefined ? {} : { to: frame.to }),
            ...(frame.groupId === undefined ? {} : { groupId: frame.groupId }),
            text: frame.text,
            clientMessageId,
          },
          {
            onStored: ({ id: messageId, threadId, seq, sentAt }) =>
              connection.send({ type: 'ack', ref, clientMessageId, messageId, threadId, seq, sentAt }),
          },
        );
        return undefined;
      }
      case 'sync': {
        const page = await delivery.sync(userId, frame.after, frame.limit ?? 100);
        return { type: 'synced', ref: frame.ref, ...page };
      }
      case 'delivered':
        await delivery.acknowledgeDelivered(userId, deviceId, frame.upTo);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      case 'read':
        await delivery.markRead(userId, frame.threadId, frame.upToSeq);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      case 'state':
        if (typeof frame.foreground !== 'boolean')
          throw new ValidationError('foreground must be true or false');
        this.#d.sessions.setForeground(session, frame.foreground);
        this.#d.presence.setForeground(session.connection.id, frame.foreground);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      case 'subscribe':
        await this.#d.presence.subscribe(session.connection.id, frame.userIds);
        return { type: 'ok', ref: frame.ref };
      case 'active':
        this.#d.presence.activity(userId);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
    }
  }
}

/** Checks the envelope of a frame; each service checks its own fields. */
function parseFrame(raw: unknown): ClientFrame {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationError('a frame must be a JSON object');
  }
  const frame = raw as { type?: unknown; ref?: unknown };
  if (typeof frame.type !== 'string' || !FRAME_TYPES.has(frame.type as ClientFrame['type'])) {
    throw new ValidationError(`unknown frame type ${JSON.stringify(frame.type)}`, {
      details: { field: 'type' },
    });
  }
  const needsRef = frame.type === 'send' || frame.type === 'sync' || frame.type === 'subscribe';
  if (needsRef || frame.ref !== undefined) requireId(frame.ref, 'ref');
  return raw as ClientFrame;
}

function refOf(raw: unknown): string | undefined {
  const ref = typeof raw === 'object' && raw !== null ? (raw as { ref?: unknown }).ref : undefined;
  return typeof ref === 'string' && ref.length <= 128 ? ref : undefined;
}

/** Turns any failure into an error frame; unexpected errors say nothing about internals. */
function toErrorFrame(error: unknown, ref: string | undefined): ServerFrame {
  const base = ChatRoomError.is(error)
    ? { code: error.code, message: error.message, details: error.details }
    : { code: 'STORAGE' as const, message: 'the server could not complete the request' };
  return { type: 'error', ...(ref === undefined ? {} : { ref }), ...base };
}
