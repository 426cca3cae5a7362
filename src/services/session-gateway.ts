import type { Group } from '../domain';
import { ChatRoomError, ValidationError } from '../domain';
import type { ClientFrame, DeliveredFrame, GroupFrame, SendFrame, ServerFrame } from '../protocol';
import { PROTOCOL_VERSION, parseClientFrame, refOf } from '../protocol';
import type { Connection, MessageStore, TransportHandler } from '../ports';
import type { ContactDirectory } from './contact-directory';
import type { ConversationDirectory } from './conversation-directory';
import type { DeliveryService } from './delivery-service';
import type { FeedService } from './feed-service';
import type { MediaService } from './media-service';
import type { SettingsService } from './settings-service';
import type { PresenceService } from './presence-service';
import type { NotificationCenter } from './notification-center';
import type { SessionRecord, SessionRegistry } from './session-registry';
import type { UserDirectory } from './user-directory';
import type { TaskTracker } from '../util/task-tracker';

/** What the gateway composes. */
export interface SessionGatewayDeps {
  readonly delivery: DeliveryService;
  readonly presence: PresenceService;
  readonly conversations: ConversationDirectory;
  readonly settings: SettingsService;
  readonly feeds: FeedService;
  readonly directory: ContactDirectory;
  /** The photo service, when the system has an image processor. */
  readonly media: () => MediaService | undefined;
  readonly sessions: SessionRegistry;
  readonly users: UserDirectory;
  readonly store: MessageStore;
  readonly events: NotificationCenter;
  readonly tasks: TaskTracker;
  /** Resolves once directory changes are durable (absent when the directory is kept in memory only). */
  readonly directoryWritten?: () => Promise<void>;
}

interface Open {
  readonly session: SessionRecord;
  /** Frames of one connection are handled one after another, in the order they arrived. */
  queue: Promise<void>;
  /**
   * `delivered` acks go in a lane of their own, in order among themselves: with a durable store a receipt costs
   * several writes, and the sends behind it need not wait for them (cursors and watermarks only move forward).
   */
  receipts: Promise<void>;
}

/** Where both lanes of a new connection start: one settled promise shared by all, not two per connection. */
const IDLE: Promise<void> = Promise.resolve();

/**
 * The server's side of every connection, whatever the transport: greets a device, checks each frame, calls
 * the delivery service as the connection's user (never as a user named in the frame) and answers.
 *
 * Pattern: Adapter — turns transport events and frames into service calls and their results into frames.
 */
export class SessionGateway implements TransportHandler {
  readonly #d: SessionGatewayDeps;
  /** Open connections by id (the session record holds the connection). */
  readonly #open = new Map<string, Open>();

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
    const open: Open = { session, queue: IDLE, receipts: IDLE };
    this.#open.set(connection.id, open);
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
    const open = this.#openOf(connection);
    if (open === undefined) return;
    const lane = (frame as { type?: unknown } | null)?.type === 'delivered' ? 'receipts' : 'queue';
    this.#enqueue(
      open,
      async () => {
        try {
          const reply = await this.#handle(open.session, frame);
          // A frame that changed the directory (a group, a contact, a setting) is answered once that is durable.
          if (this.#d.directoryWritten !== undefined) await this.#d.directoryWritten();
          if (reply !== undefined) connection.send(reply);
        } catch (error) {
          connection.send(toErrorFrame(error, refOf(frame)));
        }
      },
      lane,
    );
  }

  closed(connection: Connection): void {
    const open = this.#openOf(connection);
    if (open === undefined) return;
    this.#open.delete(connection.id);
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
    this.#open.get(connectionId)?.session.connection.send(frame);
  }

  #openOf(connection: Connection): Open | undefined {
    const open = this.#open.get(connection.id);
    return open?.session.connection === connection ? open : undefined;
  }

  #enqueue(open: Open, work: () => Promise<void>, lane: 'queue' | 'receipts' = 'queue'): void {
    open[lane] = this.#d.tasks.track(open[lane].then(work).catch(() => undefined));
  }

  /**
   * Answers one frame. The two frames every message brings (`send`, `delivered`) have small handlers of their own:
   * an async function keeps all its locals while it waits, so one big handler would cost each frame all of them.
   */
  #handle(session: SessionRecord, raw: unknown): Promise<ServerFrame | undefined> {
    const frame = parseClientFrame(raw);
    if (frame.type === 'send') return this.#send(session, frame);
    if (frame.type === 'delivered') return this.#delivered(session, frame);
    return this.#handleOther(session, frame);
  }

  async #send(session: SessionRecord, frame: SendFrame): Promise<undefined> {
    const { userId } = session;
    const { delivery } = this.#d;
    const { ref, clientMessageId } = frame;
    const connection = session.connection;
    const target = { to: frame.to, groupId: frame.groupId };
    // A photo was uploaded first; only its uploader may send it, and what the message carries comes from the
    // store, never from the frame.
    let media = frame.media;
    if (frame.kind === 'photo' && media !== undefined) {
      const photos = this.#d.media();
      if (photos === undefined) throw new ValidationError('this server does not take photos');
      const thread = delivery.threadFor(userId, target);
      media = await photos.claim(userId, media.mediaId, thread.id);
    }
    // The ack goes out as soon as the message is stored; routing to recipients continues on its own.
    await delivery.send(
      {
        from: userId,
        to: frame.to,
        groupId: frame.groupId,
        text: frame.text,
        kind: frame.kind,
        media,
        clientMessageId,
      },
      {
        // The ack stands for the sender's own inbox entry on this connection, which is not sent it again.
        onStored: ({ id: messageId, threadId, seq, sentAt }, own) =>
          connection.send({
            type: 'ack',
            ref,
            clientMessageId,
            messageId,
            threadId,
            seq,
            sentAt,
            ...(own === undefined ? {} : { inboxSeq: own.inboxSeq }),
          }),
        origin: connection,
      },
    );
    return undefined;
  }

  async #delivered(session: SessionRecord, frame: DeliveredFrame): Promise<ServerFrame | undefined> {
    await this.#d.delivery.acknowledgeDelivered(session.userId, session.deviceId, frame.upTo);
    return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
  }

  async #handleOther(
    session: SessionRecord,
    frame: Exclude<ClientFrame, SendFrame | DeliveredFrame>,
  ): Promise<ServerFrame | undefined> {
    const { userId } = session;
    const { delivery } = this.#d;
    switch (frame.type) {
      case 'sync': {
        const page = await delivery.sync(userId, frame.after, frame.limit ?? 100);
        return { type: 'synced', ref: frame.ref, ...page };
      }
      case 'read':
        await delivery.markRead(userId, frame.threadId, frame.upToSeq);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      case 'state':
        this.#d.sessions.setForeground(session, frame.foreground);
        this.#d.presence.setForeground(session.connection.id, frame.foreground);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      case 'subscribe':
        await this.#d.presence.subscribe(session.connection.id, frame.userIds);
        return { type: 'ok', ref: frame.ref };
      case 'active':
        this.#d.presence.activity(userId);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      case 'ping':
        return frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref };
      case 'typing': {
        const thread = this.#d.conversations.thread(frame.threadId);
        this.#d.conversations.requireMember(userId, thread);
        this.#d.presence.activity(userId);
        const note = { type: 'typing', threadId: thread.id, userId, typing: frame.typing } as const;
        for (const member of this.#d.conversations.membersOf(thread)) {
          if (member === userId) continue;
          for (const s of this.#d.sessions.foregroundSessions(member)) s.connection.send(note);
        }
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      }
      case 'group.create':
        return groupFrame(
          frame.ref,
          this.#d.conversations.createGroup({
            ownerId: userId,
            name: frame.name,
            memberIds: frame.memberIds,
          }),
        );
      case 'group.add':
        this.#d.conversations.addMembers(userId, frame.groupId, frame.userIds);
        return groupFrame(frame.ref, this.#d.conversations.group(frame.groupId));
      case 'group.remove':
        this.#d.conversations.removeMember(userId, frame.groupId, frame.userId);
        return groupFrame(frame.ref, this.#d.conversations.group(frame.groupId));
      case 'group.leave':
        this.#d.conversations.leave(userId, frame.groupId);
        return groupFrame(frame.ref, this.#d.conversations.group(frame.groupId));
      case 'group.promote':
        this.#d.conversations.promote(userId, frame.groupId, frame.userId);
        return groupFrame(frame.ref, this.#d.conversations.group(frame.groupId));
      case 'contacts.add':
        this.#d.users.addContact(userId, frame.userId);
        return { type: 'ok', ref: frame.ref };
      case 'contacts.search': {
        const results = this.#d.directory.searchAs(this.#d.users.get(userId), frame.query, {
          ...(frame.limit === undefined ? {} : { limit: frame.limit }),
          ...(frame.global === undefined ? {} : { global: frame.global }),
        });
        return { type: 'contacts', ref: frame.ref, results };
      }
      case 'settings.get':
        return { type: 'settings', ref: frame.ref, settings: this.#d.settings.snapshot(userId) };
      case 'settings.set': {
        const c = this.#d.settings.controller(userId);
        if (frame.readReceipts !== undefined) c.setReadReceipts(frame.readReceipts);
        if (frame.previews !== undefined) c.setPreviews(frame.previews);
        if (frame.lastSeen !== undefined) c.setLastSeen(frame.lastSeen);
        if (frame.mute !== undefined) {
          c.mute(frame.mute.threadId, frame.mute.until === undefined ? {} : { until: frame.mute.until });
        }
        if (frame.unmute !== undefined) c.unmute(frame.unmute.threadId);
        if (frame.block !== undefined) c.block(frame.block);
        if (frame.unblock !== undefined) c.unblock(frame.unblock);
        return { type: 'settings', ref: frame.ref, settings: this.#d.settings.snapshot(userId) };
      }
      case 'feed.top':
        return { type: 'feed', ref: frame.ref, entries: this.#d.feeds.feedOf(userId).top(frame.limit ?? 20) };
    }
  }
}

/** A group as a frame carries it. */
function groupFrame(ref: string, group: Group): GroupFrame {
  const { id, name, ownerId, memberIds, adminIds } = group.toJSON();
  return {
    type: 'group',
    ref,
    group: {
      id,
      name,
      ...(ownerId === undefined ? {} : { ownerId }),
      memberIds,
      adminIds,
      sizeLimit: group.sizeLimit,
    },
  };
}

/** Turns any failure into an error frame; unexpected errors say nothing about internals. */
function toErrorFrame(error: unknown, ref: string | undefined): ServerFrame {
  const base = ChatRoomError.is(error)
    ? { code: error.code, message: error.message, details: error.details }
    : { code: 'STORAGE' as const, message: 'the server could not complete the request' };
  return { type: 'error', ...(ref === undefined ? {} : { ref }), ...base };
}
