import type { Group } from '../../domain';
import { ChatRoomError, ValidationError } from '../../domain';
import type { ClientFrame, DeliveredFrame, GroupFrame, SendFrame, ServerFrame } from '../../protocol';
import { PROTOCOL_VERSION, parseClientFrame, refOf } from '../../protocol';
import type { Connection, TransportHandler } from '../../ports';
import type { TaskTracker } from '../../util/task-tracker';
import type { DeliveryService, FeedService, MessageActions, SendOptions } from '../delivery';
import type {
  ConversationDirectory,
  DirectoryJournal,
  PeopleSearch,
  SettingsService,
  UserDirectory,
} from '../directory';
import type { MediaService } from '../media';
import type { PresenceService, SessionRecord, SessionRegistry } from '../presence';
import type { SessionOutbox } from './session-outbox';
import type { TypingRelay } from './typing-relay';

/** What the gateway composes. */
export interface SessionGatewayDeps {
  readonly delivery: DeliveryService;
  /** Edits, deletes, reactions and history. */
  readonly actions: MessageActions;
  readonly presence: PresenceService;
  readonly conversations: ConversationDirectory;
  readonly settings: SettingsService;
  readonly feeds: FeedService;
  /** Contact search: the user's contacts, or the discoverable users with `global`. */
  readonly people: PeopleSearch;
  /** Forwards typing to the other members (blocks, expiry, throttle). */
  readonly typing: TypingRelay;
  /** The photo service, when the system has an image processor. */
  readonly media: MediaService | undefined;
  readonly sessions: SessionRegistry;
  readonly outbox: SessionOutbox;
  readonly users: UserDirectory;
  readonly tasks: TaskTracker;
  /** Writes directory changes behind (absent when the directory is kept in memory only). */
  readonly journal: DirectoryJournal | undefined;
}

/** A connection the gateway serves: its session, and the two lanes its frames are handled in. */
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

const IDLE: Promise<void> = Promise.resolve();

/**
 * The server's side of every connection, whatever the transport: greets a device, checks each frame, calls
 * the services as the connection's user (never as a user named in the frame) and answers. The in-process API
 * (`ChatSystem`) calls the same service methods.
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
    const { userId, deviceId } = connection.identity;
    if (!this.#d.users.has(userId)) {
      connection.send({ type: 'error', code: 'NOT_FOUND', message: `no user ${userId}` });
      connection.close('unknown user');
      return;
    }
    const open: Open = { session: this.#d.sessions.add(connection), queue: IDLE, receipts: IDLE };
    this.#open.set(connection.id, open);
    this.#enqueue(open, async () => {
      const { latest, cursor } = await this.#d.delivery.position(userId, deviceId);
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
          await this.#d.journal?.flush();
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
  }

  #openOf(connection: Connection): Open | undefined {
    const open = this.#open.get(connection.id);
    return open?.session.connection === connection ? open : undefined;
  }

  #enqueue(open: Open, work: () => Promise<void>, lane: 'queue' | 'receipts' = 'queue'): void {
    open[lane] = this.#d.tasks.track(open[lane].then(work).catch(() => undefined));
  }

  /** Answers one frame; the two frames every message brings (`send`, `delivered`) have handlers of their own. */
  #handle(session: SessionRecord, raw: unknown): Promise<ServerFrame | undefined> {
    const frame = parseClientFrame(raw);
    if (frame.type === 'send') return this.#send(session, frame);
    if (frame.type === 'delivered') return this.#delivered(session, frame);
    return this.#handleOther(session, frame);
  }

  async #send(session: SessionRecord, frame: SendFrame): Promise<undefined> {
    const { ref, clientMessageId } = frame;
    const connection = session.connection;
    const input = {
      from: session.userId,
      to: frame.to,
      groupId: frame.groupId,
      text: frame.text,
      kind: frame.kind,
      media: frame.media,
      clientMessageId,
      replyTo: frame.replyTo,
    };
    const options: SendOptions = {
      // The ack stands for the sender's own inbox entry on this connection, which is not sent it again.
      onStored: ({ id: messageId, threadId, seq, sentAt, replyTo }, own) =>
        connection.send({
          type: 'ack',
          ref,
          clientMessageId,
          messageId,
          threadId,
          seq,
          sentAt,
          ...(own === undefined ? {} : { inboxSeq: own.inboxSeq }),
          ...(replyTo === undefined ? {} : { replyTo }),
        }),
      originSessionId: session.id,
    };
    // The ack goes out as soon as the message is stored; routing to recipients continues on its own. A photo was
    // uploaded first: the media service checks that its uploader sends it.
    if (frame.kind === 'photo') {
      if (this.#d.media === undefined) throw new ValidationError('this server does not take photos');
      await this.#d.media.sendUploaded(input, options);
    } else {
      await this.#d.delivery.send(input, options);
    }
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
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      case 'subscribe':
        await this.#d.presence.subscribe(session.id, frame.userIds);
        return { type: 'ok', ref: frame.ref };
      case 'active':
        this.#d.presence.activity(userId);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
      case 'ping':
        return frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref };
      case 'typing':
        // Answered `ok` even when the relay forwards nothing (a block, a throttled repeat): blocks stay private.
        this.#d.typing.update(userId, frame.threadId, frame.typing);
        this.#d.presence.activity(userId);
        return frame.ref === undefined ? undefined : { type: 'ok', ref: frame.ref };
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
        const results = this.#d.people.search(userId, frame.query, {
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
        if (frame.discoverable !== undefined) c.setDiscoverable(frame.discoverable);
        if (frame.mute !== undefined) {
          c.mute(frame.mute.threadId, frame.mute.until === undefined ? {} : { until: frame.mute.until });
        }
        if (frame.unmute !== undefined) c.unmute(frame.unmute.threadId);
        if (frame.block !== undefined) c.block(frame.block);
        if (frame.unblock !== undefined) c.unblock(frame.unblock);
        return { type: 'settings', ref: frame.ref, settings: this.#d.settings.snapshot(userId) };
      }
      // The change itself reaches this connection as an `entry`, before this `ok`; without a clientChangeId the
      // frame's ref is the idempotency key.
      case 'edit':
        await this.#d.actions.edit(userId, frame.messageId, frame.text, {
          clientChangeId: frame.clientChangeId ?? frame.ref,
        });
        return { type: 'ok', ref: frame.ref };
      case 'delete':
        await this.#d.actions.delete(userId, frame.messageId, {
          forEveryone: frame.forEveryone,
          clientChangeId: frame.clientChangeId ?? frame.ref,
        });
        return { type: 'ok', ref: frame.ref };
      case 'react':
        await this.#d.actions.react(userId, frame.messageId, frame.emoji, {
          clientChangeId: frame.clientChangeId ?? frame.ref,
        });
        return { type: 'ok', ref: frame.ref };
      case 'history': {
        const page = await this.#d.actions.history(userId, frame.threadId, {
          before: frame.before,
          limit: frame.limit,
        });
        return { type: 'history', ref: frame.ref, ...page };
      }
      case 'feed.top': {
        const entries = this.#d.feeds.top(userId, frame.limit ?? 20, frame.archived ?? false);
        return { type: 'feed', ref: frame.ref, entries };
      }
      // A chat-list choice: the answer stands for it on this device; the user's other sessions get `feed.changed`.
      case 'feed.pin':
        this.#d.feeds.setPinned(userId, frame.threadId, frame.pinned, { originSessionId: session.id });
        return { type: 'ok', ref: frame.ref };
      case 'feed.unread':
        this.#d.feeds.setMarkedUnread(userId, frame.threadId, frame.unread, { originSessionId: session.id });
        return { type: 'ok', ref: frame.ref };
      case 'feed.archive':
        this.#d.feeds.setArchived(userId, frame.threadId, frame.archived, { originSessionId: session.id });
        return { type: 'ok', ref: frame.ref };
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
