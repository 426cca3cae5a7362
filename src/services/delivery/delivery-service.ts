import type {
  Watermark,
  AggregateMove,
  InboxEntry,
  InboxPage,
  MediaRef,
  MessageData,
  MessageKind,
  MessageStatus,
  ReceiptDetail,
  ReplyQuote,
} from '../../domain';
import {
  ChatThread,
  ConflictError,
  PermissionError,
  ReceiptLedger,
  ValidationError,
  parseMediaRef,
  parseMessageId,
  quoteOf,
  requireId,
  requireObject,
  requirePositiveInt,
  requireSeq,
  requireText,
} from '../../domain';
import type { Clock, MessageStore, PushNotifier } from '../../ports';
import type { TaskTracker } from '../../util/task-tracker';
import type { DeviceOutbox } from '../device-outbox';
import type { ConversationDirectory, DirectoryJournal, SettingsService, UserDirectory } from '../directory';
import { messageNotFound } from '../directory';
import type { NotificationCenter, RecipientState } from '../notification-center';
import type { SessionRegistry } from '../presence';
import type { DeliveryRoute } from './delivery-routes';
import { AwayRoute, OfflineRoute, OnlineRoute } from './delivery-routes';
import type { FeedService } from './feed-service';

/** Limits on what a send may carry. */
export interface DeliveryLimits {
  /** The longest message text (UTF-16 units). Default 4096. */
  readonly maxTextLength: number;
  /** The largest sync page. Default 500. */
  readonly maxSyncPage: number;
}

/** The defaults for `DeliveryLimits`. */
export const DEFAULT_DELIVERY_LIMITS: DeliveryLimits = { maxTextLength: 4096, maxSyncPage: 500 };

/** A message to send; exactly one of `to` and `groupId`. */
export interface SendInput {
  /** The authenticated sender. */
  readonly from: string;
  /** The recipient of a direct message. */
  readonly to?: string | undefined;
  /** The group of a group message. */
  readonly groupId?: string | undefined;
  /** The text; for a photo, its caption (may be empty). */
  readonly text?: string | undefined;
  /** `'text'` (the default) or `'photo'`. */
  readonly kind?: MessageKind | undefined;
  /** The stored photo of a `'photo'` message. */
  readonly media?: MediaRef | undefined;
  /** The sender's idempotency key; a retry with the same key stores nothing new. Generated when missing. */
  readonly clientMessageId?: string | undefined;
  /** The id of the message this one answers: a message of the same thread, not deleted. */
  readonly replyTo?: string | undefined;
}

/** How a caller hears of a send. */
export interface SendOptions {
  /**
   * Runs once the message is stored, before anyone else hears of it: the single check. `ownEntry` is the
   * sender's own inbox entry for it (absent for a retry of a message already stored).
   */
  readonly onStored?: (message: MessageData, ownEntry: InboxEntry | undefined) => void;
  /**
   * The session the message came from. It is not sent the sender's own entry: its ack stands for it (the ack
   * carries the entry's `inboxSeq`). The sender's other devices still get the entry.
   */
  readonly originSessionId?: string;
}

/** What a send did: the stored message, and whether it was a retry of one already stored. */
export interface SendResult {
  readonly message: MessageData;
  readonly duplicate: boolean;
  /** Settles once every recipient's route (live, push or inbox) has run. */
  readonly routed: Promise<void>;
}

/** What the delivery service composes. */
export interface DeliveryServiceDeps {
  readonly store: MessageStore;
  readonly clock: Clock;
  readonly users: UserDirectory;
  readonly conversations: ConversationDirectory;
  readonly sessions: SessionRegistry;
  readonly settings: SettingsService;
  readonly feeds: FeedService;
  readonly push: PushNotifier;
  /** Where entries for connected devices go. */
  readonly outbox: DeviceOutbox;
  readonly events: NotificationCenter;
  /** Limits to change; the others keep `DEFAULT_DELIVERY_LIMITS`. */
  readonly limits?: Partial<DeliveryLimits>;
  /** Makes a client message id when a send has none. */
  readonly newClientMessageId: () => string;
  /** Follows work the service starts on its own (receipts after a member leaves). */
  readonly tasks: TaskTracker;
  /** Writes directory changes (a new direct thread) to the directory store; a send waits for it before storing. */
  readonly journal?: DirectoryJournal | undefined;
}

/** A promise already settled, for paths with nothing to wait for. */
const SETTLED: Promise<void> = Promise.resolve();

/** The id of the thread a send names, to compare a retry with what was stored under its key. */
function namedThread(senderId: string, input: { to?: unknown; groupId?: unknown }): string {
  return input.to !== undefined
    ? ChatThread.direct(senderId, requireId(input.to, 'to')).id
    : ChatThread.group(requireId(input.groupId, 'groupId')).id;
}

/**
 * The delivery contract: validate, store, ack, route by recipient state, and turn receipts into ticks.
 *
 * A send is checked in full before anything is written, so a refused send changes nothing. The store assigns
 * the thread's `seq` and each recipient's `inboxSeq` atomically, and records the idempotency key; only then is
 * the sender acked. Routing happens after: a recipient who is online gets the entry now, one who is away gets a
 * push, one who is offline gets it on their next sync — in every case it is already in their inbox.
 *
 * Receipts are watermarks (`ReceiptLedger`), so they are monotonic and idempotent; when the thread-wide
 * watermark moves, each sender whose messages it covers gets a `receipt` entry in their inbox.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'Hello Gainlo' })
 * ```
 */
export class DeliveryService {
  readonly #d: DeliveryServiceDeps;
  readonly #limits: DeliveryLimits;
  readonly #routes: Record<RecipientState, DeliveryRoute>;
  readonly #ledgers = new Map<string, ReceiptLedger>();
  /** Announcements of one thread go out one after another, so each sender sees its receipts in order. */
  readonly #announcing = new Map<string, Promise<void>>();

  /**
   * Creates the service and subscribes to group membership changes.
   *
   * @param deps - the stores, directories and services it composes
   * @throws ValidationError when a limit is not a positive integer
   */
  constructor(deps: DeliveryServiceDeps) {
    this.#d = deps;
    this.#limits = { ...DEFAULT_DELIVERY_LIMITS, ...deps.limits };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new ValidationError(`limits.${name} must be a positive integer`, {
          details: { field: `limits.${name}` },
        });
      }
    }
    this.#routes = {
      online: new OnlineRoute(deps.outbox),
      away: new AwayRoute(deps),
      offline: new OfflineRoute(),
    };
    deps.events.on('group-changed', (e) => this.#onGroupChanged(e.groupId, e.added, e.removed));
  }

  /** The limits in force. */
  get limits(): DeliveryLimits {
    return this.#limits;
  }

  /**
   * Sends a message: validates, stores, acks, then routes it to each recipient by state. A reply (`replyTo`)
   * stores a quote of the message it answers (sender, kind, first 100 characters).
   *
   * A retry (same sender and `clientMessageId`) is answered with the stored message before any permission
   * check: it was accepted once, and a block or a membership change since does not un-send it.
   *
   * @param input - sender, recipient or group, text, idempotency key
   * @param options - `onStored` runs once the message is stored, before anyone else hears of it: the single check;
   *   `originSessionId` is the session the message came from, which is not sent the sender's own entry
   * @returns the stored message (the first one, for a retry) and `routed`, which settles once every recipient's
   *   route has run
   * @throws ValidationError for malformed input (empty or oversized text, both or neither of to/groupId), or a
   *   `replyTo` of another thread or deleted
   * @throws NotFoundError for an unknown sender or recipient, or a group the sender is not in (which answers as
   *   one that does not exist), or a `replyTo` the sender cannot see (none such, or sent before they joined)
   * @throws PermissionError when a block stands between them
   * @throws ConflictError when the idempotency key was used for a different message
   */
  async send(input: SendInput, options: SendOptions = {}): Promise<SendResult> {
    const i = requireObject(input, 'message');
    const { users, conversations, store, clock } = this.#d;
    const sender = users.get(requireId(i.from, 'from'));
    const kind = i.kind ?? 'text';
    if (kind !== 'text' && kind !== 'photo') throw new ValidationError(`kind must be 'text' or 'photo'`);
    const media = kind === 'photo' ? parseMediaRef(i.media) : undefined;
    if (kind === 'text' && i.media !== undefined)
      throw new ValidationError('a text message carries no media');
    const text =
      kind === 'photo' && (i.text === undefined || i.text === '')
        ? ''
        : requireText(i.text, kind === 'photo' ? 'caption' : 'text', this.#limits.maxTextLength);
    const clientMessageId =
      i.clientMessageId === undefined
        ? this.#d.newClientMessageId()
        : requireId(i.clientMessageId, 'clientMessageId');
    if ((i.to === undefined) === (i.groupId === undefined)) {
      throw new ValidationError('a message needs exactly one of `to` and `groupId`');
    }
    if (i.to !== undefined) requireId(i.to, 'to');
    else requireId(i.groupId, 'groupId');
    const replyTo = i.replyTo === undefined ? undefined : requireMessageRef(i.replyTo);

    const earlier = await store.findByClientMessageId(sender.id, clientMessageId);
    if (earlier !== undefined)
      return this.#retried(earlier, namedThread(sender.id, i), text, media, options.onStored);

    // Read before the membership checks, which then decide first what a stranger is told.
    const quoted = replyTo === undefined ? undefined : await store.getMessage(replyTo);
    let quote: ReplyQuote | undefined;
    const thread = this.#threadFor(
      sender.id,
      i.to as string | undefined,
      i.groupId as string | undefined,
      (threadId, joinedAtSeq) => {
        if (replyTo !== undefined) quote = quoteFor(replyTo, quoted, threadId, joinedAtSeq);
      },
    );
    // The first message of a direct thread is acked only once the thread is on record, or a restart after the
    // ack would not know the conversation.
    await this.#d.journal?.flush();

    const members = conversations.membersOf(thread);
    const ledger = this.#ledger(thread, members);
    const recipientIds = members.filter((id) => id !== sender.id);
    const result = await store.appendMessage({
      threadId: thread.id,
      senderId: sender.id,
      kind,
      text,
      ...(media === undefined ? {} : { media }),
      clientMessageId,
      sentAt: clock.now(),
      recipientIds,
      ...(quote === undefined ? {} : { replyTo: quote }),
    });
    if (result.duplicate)
      return this.#retried(result.message, namedThread(sender.id, i), text, media, options.onStored); // a racing retry
    const { message } = result;
    thread.observe(message.seq);
    this.#d.events.publish('message-stored', { message, recipientIds });
    options.onStored?.(
      message,
      result.entries.find((e) => e.userId === sender.id),
    );
    const routed = this.#d.tasks.track(
      this.#afterStore(thread, members, ledger, message, result.entries, options.originSessionId),
    );
    return { message, duplicate: false, routed };
  }

  /**
   * The thread a message from `from` to a user or a group would go to, after the checks a send makes: both
   * exist, no block stands between them, the sender is a member.
   *
   * @param from - the sender
   * @param target - `to` (a user) or `groupId`
   * @throws ValidationError, NotFoundError, PermissionError as a send would
   */
  threadFor(from: string, target: { to?: string | undefined; groupId?: string | undefined }): ChatThread {
    const sender = this.#d.users.get(requireId(from, 'from'));
    const t = requireObject(target, 'target');
    if ((t.to === undefined) === (t.groupId === undefined)) {
      throw new ValidationError('a message needs exactly one of `to` and `groupId`');
    }
    if (t.to !== undefined) requireId(t.to, 'to');
    else requireId(t.groupId, 'groupId');
    return this.#threadFor(sender.id, t.to as string | undefined, t.groupId as string | undefined);
  }

  /**
   * The message a sender stored under an idempotency key, if any.
   *
   * @param senderId - the sender
   * @param clientMessageId - the key
   */
  findSent(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    return this.#d.store.findByClientMessageId(senderId, requireId(clientMessageId, 'clientMessageId'));
  }

  /**
   * The thread a send goes to, after checking users, blocks and membership. `check` runs after those and before a
   * new direct thread is created, with the thread's id and where the sender's view of it starts, so a send it
   * refuses leaves nothing behind.
   */
  #threadFor(
    senderId: string,
    to: string | undefined,
    groupId: string | undefined,
    check?: (threadId: string, joinedAtSeq: number) => void,
  ): ChatThread {
    const { users, conversations } = this.#d;
    if (to !== undefined) {
      const recipient = users.get(to);
      if (recipient.id === senderId) throw new ValidationError('a direct message needs another user');
      if (recipient.hasBlocked(senderId))
        throw new PermissionError(`${recipient.id} does not accept your messages`);
      if (users.get(senderId).hasBlocked(recipient.id)) {
        throw new PermissionError(`unblock ${recipient.id} to message them`);
      }
      check?.(ChatThread.direct(senderId, recipient.id).id, 0);
      return conversations.directThread(senderId, recipient.id);
    }
    // A group one is not in answers as one that does not exist.
    const group = conversations.memberGroup(senderId, groupId as string);
    const thread = conversations.groupThread(groupId as string);
    check?.(thread.id, group.joinedAtSeq(senderId));
    return thread;
  }

  /** What follows storing: feeds, the sender's own watermark, routing to every inbox, receipts it completes. */
  async #afterStore(
    thread: ChatThread,
    members: readonly string[],
    ledger: ReceiptLedger,
    message: MessageData,
    entries: readonly InboxEntry[],
    originSessionId: string | undefined,
  ): Promise<void> {
    const { senderId } = message;
    for (const id of members) this.#d.feeds.recordMessage(id, thread, message);
    // Sending implies having seen the thread up to here: the sender's own watermark moves, which may complete
    // receipts of messages they are answering.
    const moves = ledger.advance(senderId, 'read', message.seq, message.sentAt) ?? [];
    const announced = this.#announce(thread, moves, this.#saveWatermark(thread.id, ledger, senderId));
    this.#d.feeds.markRead(senderId, thread.id, message.seq);
    // Routes to connected devices finish at once; only pushes leave something to wait for.
    let pending: Promise<void>[] | undefined;
    for (const entry of entries) {
      let routed: Promise<void> | undefined;
      try {
        routed = this.#route(entry, message, thread, originSessionId);
      } catch (error) {
        routed = Promise.reject(error); // the other recipients are still routed
      }
      if (routed !== undefined) (pending ??= []).push(routed);
    }
    if (pending !== undefined) await Promise.all(pending);
    await announced;
  }

  /**
   * A page of a user's inbox after a cursor.
   *
   * @param userId - the user
   * @param after - the cursor (last `inboxSeq` the device applied)
   * @param limit - the page size
   * @throws ResyncRequiredError when the cursor is older than what the inbox keeps
   */
  async sync(userId: string, after: number, limit = 100): Promise<InboxPage> {
    this.#d.users.get(userId);
    requireSeq(after, 'after');
    requirePositiveInt(limit, 'limit', this.#limits.maxSyncPage);
    return this.#d.store.readInbox(userId, after, limit);
  }

  /**
   * Where a device stands: the newest entry of its user's inbox, and the device's own cursor (what it last
   * acknowledged), for the greeting a connecting device gets.
   *
   * @param userId - the user
   * @param deviceId - the device
   */
  async position(userId: string, deviceId: string): Promise<{ latest: number; cursor: number }> {
    const { store } = this.#d;
    const [latest, cursor] = await Promise.all([
      store.latestInboxSeq(userId),
      store.getCursor(userId, `device:${deviceId}`),
    ]);
    return { latest, cursor };
  }

  /**
   * A device has every inbox entry up to `upTo`: the double check for each message it covers.
   *
   * @param userId - the user
   * @param deviceId - the device
   * @param upTo - the highest `inboxSeq` received
   * @throws ValidationError when `upTo` is beyond the newest entry
   */
  async acknowledgeDelivered(userId: string, deviceId: string, upTo: number): Promise<void> {
    const { store, users } = this.#d;
    users.get(userId);
    requireId(deviceId, 'deviceId');
    requireSeq(upTo, 'upTo');
    const latest = await store.latestInboxSeq(userId);
    if (upTo > latest) throw new ValidationError(`upTo ${upTo} is beyond the newest inbox entry (${latest})`);
    // Both cursors move in one go (a durable store writes them in one batch).
    const [, from] = await Promise.all([
      store.advanceCursor(userId, `device:${deviceId}`, upTo),
      store.advanceCursor(userId, 'delivered', upTo),
    ]);
    const highest = await store.highestReceived(userId, from, upTo);
    await Promise.all(
      [...highest].map(([threadId, seq]) => this.#receipt(userId, threadId, 'delivered', seq)),
    );
  }

  /**
   * The user saw a thread up to a seq: the blue checks.
   *
   * @param userId - the reader
   * @param threadId - the thread
   * @param upToSeq - the highest seq seen
   * @throws NotFoundError when the thread is unknown or the user not a member (the same error either way)
   * @throws ValidationError when the seq is malformed or beyond the thread's newest message
   */
  async markRead(userId: string, threadId: string, upToSeq: number): Promise<void> {
    this.#d.users.get(userId);
    requireSeq(upToSeq, 'upToSeq');
    this.#d.conversations.memberThread(userId, threadId);
    const last = await this.#d.store.lastSeq(threadId);
    if (upToSeq > last)
      throw new ValidationError(`upToSeq ${upToSeq} is beyond the thread's newest message (${last})`);
    this.#d.feeds.markRead(userId, threadId, upToSeq);
    this.#d.events.publish('read', { userId, threadId, upToSeq });
    await this.#receipt(userId, threadId, 'read', upToSeq);
  }

  /**
   * The ticks a message's sender sees now.
   *
   * @param message - the stored message
   */
  statusOf(message: MessageData): MessageStatus {
    const thread = this.#d.conversations.thread(message.threadId);
    const status = this.#ledger(thread).statusOf(message.seq);
    return status === 'read' && !this.#readReceiptsFlow(thread) ? 'delivered' : status;
  }

  /**
   * Who has received and read a message (WhatsApp's "message info"); only its sender may ask. Someone who is not
   * a member of the message's thread is told it does not exist, exactly as for a message that does not.
   *
   * @param userId - the asker
   * @param messageId - the message
   * @throws NotFoundError when the message is unknown or the asker not a member of its thread (the same error)
   * @throws PermissionError when the asker is a member but not the sender
   */
  async messageInfo(
    userId: string,
    messageId: string,
  ): Promise<{ message: MessageData; status: MessageStatus; members: ReceiptDetail[] }> {
    this.#d.users.get(userId);
    this.#d.conversations.memberMessage(userId, messageId);
    const message = await this.#d.store.getMessage(messageId);
    if (message === undefined) throw messageNotFound(messageId);
    if (message.senderId !== userId) throw new PermissionError('only the sender sees who read a message');
    const thread = this.#d.conversations.thread(message.threadId);
    const hideReads = !this.#readReceiptsFlow(thread);
    const members = this.#ledger(thread)
      .detail(message.seq, userId)
      .map((d) => (hideReads ? { ...d, read: false, readAt: undefined } : d));
    return { message, status: this.statusOf(message), members };
  }

  /**
   * Sends an inbox entry to the user's foreground sessions, or pushes, or leaves it: one route per state.
   * Returns a promise only while the route has work left (a push).
   */
  #route(
    entry: InboxEntry,
    message: MessageData,
    thread: ChatThread,
    originSessionId: string | undefined,
  ): Promise<void> | undefined {
    const { userId } = entry;
    // The sender's other devices get their own message live, never as a push.
    const state = this.#d.sessions.stateOf(userId);
    const route =
      userId === message.senderId && state !== 'online' ? this.#routes.offline : this.#routes[state];
    const pending = route.deliver({ userId, entry, message, thread, originSessionId });
    if (userId === message.senderId) return pending ?? undefined;
    if (pending === undefined) return this.#routed(message, userId, route);
    return pending.then(() => this.#routed(message, userId, route));
  }

  #routed(message: MessageData, userId: string, route: DeliveryRoute): undefined {
    this.#d.events.publish('message-routed', { messageId: message.id, userId, route: route.state });
    return undefined;
  }

  /** Moves one member's watermark and announces what it completed. */
  async #receipt(userId: string, threadId: string, kind: 'delivered' | 'read', seq: number): Promise<void> {
    const thread = this.#d.conversations.thread(threadId);
    const ledger = this.#ledger(thread);
    const moves = ledger.advance(userId, kind, seq, this.#d.clock.now());
    if (moves === undefined) return; // no longer a member
    await this.#announce(thread, moves, this.#saveWatermark(threadId, ledger, userId));
  }

  /**
   * Tells each sender whose messages a move of the thread-wide watermark covers, once `saved` (the watermark
   * write) is done. Moves are computed in order (the aggregate only grows); callers queue them here at once,
   * before any await, so each sender sees its receipts in that order.
   */
  #announce(thread: ChatThread, moves: readonly AggregateMove[], saved: Promise<void>): Promise<void> {
    if (moves.length === 0) return saved;
    const announcing = this.#announcing;
    const before = announcing.get(thread.id) ?? SETTLED;
    const run = before.then(() => saved).then(() => this.#tellSenders(thread, moves));
    // The queue's tail settles either way; the last one out forgets the thread.
    const done = (): void => {
      if (announcing.get(thread.id) === tail) announcing.delete(thread.id);
    };
    const tail: Promise<void> = run.then(done, done);
    announcing.set(thread.id, tail);
    return run;
  }

  async #tellSenders(thread: ChatThread, moves: readonly AggregateMove[]): Promise<void> {
    const { store, clock, events, outbox } = this.#d;
    for (const move of moves) {
      const upTo = Math.min(move.to, thread.lastSeq);
      if (move.kind === 'read' && !this.#readReceiptsFlow(thread)) continue;
      const senders = await store.sendersBetween(thread.id, move.from, upTo);
      const at = clock.now();
      for (const userId of senders) {
        const receipt = { threadId: thread.id, status: move.kind, upToSeq: upTo, at };
        const entry = await store.appendEntry(userId, { type: 'receipt', receipt });
        outbox.toUser(userId, { kind: 'entry', entry });
        events.publish('receipt', { userId, threadId: thread.id, status: move.kind, upToSeq: upTo, at });
      }
    }
  }

  /** Read receipts flow in a direct thread only while both users keep them on; groups always show them. */
  #readReceiptsFlow(thread: ChatThread): boolean {
    if (thread.kind === 'group') return true;
    return thread.participantIds.every((id) => this.#d.settings.readReceipts(id));
  }

  /**
   * Puts back a thread's receipt watermarks after a restart; members without a saved watermark start at 0.
   *
   * @param thread - the thread (its `lastSeq` already restored)
   * @param watermarks - what the store saved for it
   */
  restoreReceipts(thread: ChatThread, watermarks: readonly Watermark[]): void {
    const saved = new Map(watermarks.map((w) => [w.userId, w]));
    const members = this.#d.conversations.membersOf(thread);
    this.#ledgers.set(thread.id, new ReceiptLedger(members.map((id) => saved.get(id) ?? id)));
  }

  #ledger(thread: ChatThread, members?: readonly string[]): ReceiptLedger {
    let ledger = this.#ledgers.get(thread.id);
    if (ledger === undefined) {
      ledger = new ReceiptLedger(members ?? this.#d.conversations.membersOf(thread));
      this.#ledgers.set(thread.id, ledger);
    }
    return ledger;
  }

  #saveWatermark(threadId: string, ledger: ReceiptLedger, userId: string): Promise<void> {
    const w = ledger.watermark(userId);
    if (w === undefined) return SETTLED;
    try {
      return this.#d.store.saveWatermark(threadId, w);
    } catch (error) {
      return Promise.reject(error); // a store that throws at once fails the same way as one that rejects
    }
  }

  /** A retry must carry the same message; anything else reuses a key by mistake. */
  #retried(
    earlier: MessageData,
    threadId: string,
    text: string,
    media: MediaRef | undefined,
    onStored: SendOptions['onStored'],
  ): SendResult {
    if (earlier.threadId !== threadId || earlier.text !== text || earlier.media?.mediaId !== media?.mediaId) {
      throw new ConflictError(
        `clientMessageId ${earlier.clientMessageId} was already used for another message`,
        {
          details: { clientMessageId: earlier.clientMessageId },
        },
      );
    }
    onStored?.(earlier, undefined);
    return { message: earlier, duplicate: true, routed: Promise.resolve() };
  }

  #onGroupChanged(groupId: string, added: readonly string[], removed: readonly string[]): void {
    const thread = this.#d.conversations.groupThread(groupId);
    const ledger = this.#ledgers.get(thread.id);
    if (ledger === undefined) return; // created on first use with the members of that time
    const at = this.#d.clock.now();
    // A newcomer never received the history, so they start at the thread's current seq.
    for (const id of added) {
      // Saved, so a restart knows the newcomer's history starts here.
      if (ledger.addMember(id, thread.lastSeq, at)) {
        void this.#d.tasks.track(this.#saveWatermark(thread.id, ledger, id)).catch(() => undefined);
      }
    }
    const moves = removed.flatMap((id) => ledger.removeMember(id));
    if (moves.length > 0)
      void this.#d.tasks.track(this.#announce(thread, moves, SETTLED)).catch(() => undefined);
  }
}

/** Checks the shape of a `replyTo`: a message id is a string of a sane length. */
function requireMessageRef(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1000) {
    throw new ValidationError('replyTo must be a message id', { details: { field: 'replyTo' } });
  }
  return value;
}

/**
 * The quote a reply stores of the message it answers, once the sender is known to be in `threadId`: the message
 * must be of that thread (else VALIDATION), one the sender can see (else NOT_FOUND, as for none), not deleted.
 */
function quoteFor(
  replyTo: string,
  quoted: MessageData | undefined,
  threadId: string,
  joinedAtSeq: number,
): ReplyQuote {
  const key = parseMessageId(replyTo);
  if (key !== undefined && key.threadId !== threadId) {
    throw new ValidationError('replyTo must be a message of the same conversation', {
      details: { field: 'replyTo' },
    });
  }
  if (key === undefined || quoted === undefined || key.seq <= joinedAtSeq) throw messageNotFound(replyTo);
  if (quoted.deletedAt !== undefined) {
    throw new ValidationError('a deleted message cannot be answered', { details: { field: 'replyTo' } });
  }
  return quoteOf(quoted);
}
