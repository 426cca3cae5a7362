import type {
  ChatRoomError,
  FeedEntry,
  InboxEntry,
  MediaRef,
  MessageChange,
  PresenceRecord,
  ReceiptData,
} from '../domain';
import {
  Message,
  ResyncRequiredError,
  TransportError,
  ValidationError,
  errorFromCode,
  requireId,
} from '../domain';
import type {
  ClientFrame,
  ContactResult,
  GroupSnapshot,
  ServerFrame,
  SettingsSetFrame,
  SettingsSnapshot,
} from '../protocol';
import type { ClientLink, ClientTransport, Clock, PushNotification, TimerHandle } from '../ports';
import type { FeedChange, HistoryPage } from '../services';
import { Observable } from '../util/observable';
import type { TaskTracker } from '../util/task-tracker';
import { ChatWindow } from './chat-window';

/** The server's answer to a send: the single check. */
export interface Ack {
  readonly clientMessageId: string;
  readonly messageId: string;
  readonly threadId: string;
  readonly seq: number;
  readonly sentAt: number;
}

/** One page of a sync, as the device received it. */
export interface SyncPage {
  /** The entries after the cursor asked from, in inbox order. */
  readonly entries: readonly InboxEntry[];
  /** The messages among them. */
  readonly messages: readonly Message[];
  /** Whether more entries follow. */
  readonly hasMore: boolean;
  /** The cursor to ask from next. */
  readonly cursor: number;
  /** The newest `inboxSeq` on the server. */
  readonly latest: number;
}

/** The fields a `settings.set` frame may change. */
type SettingsField = Exclude<keyof SettingsSetFrame, 'type' | 'ref'>;

/**
 * One settings change, as a `settings.set` frame carries it: exactly one field (`{ lastSeen: 'nobody' }`,
 * `{ mute: { threadId } }`, `{ block: 'mallory' }`), so a refusal never leaves a change half applied.
 */
export type SettingsChange = {
  [K in SettingsField]: { readonly [P in K]-?: Exclude<SettingsSetFrame[P], undefined> };
}[SettingsField];

/** What a session tells its listeners. */
export interface ChatSessionEvents {
  [event: string]: unknown[];
  /** A message from someone else arrived (live or by sync), once per message. */
  message: [message: Message];
  /** A message this user sent, from this or another device, is stored. */
  'message-sent': [message: Message];
  /** The single check for a send from this session. */
  ack: [ack: Ack];
  /**
   * A message was edited, deleted (for everyone, or for this user: `hide`) or reacted to — by anyone, this user on
   * another device included — once per change, in inbox order with the messages and receipts.
   */
  change: [change: MessageChange];
  /** This user's messages in a thread reached a status. */
  receipt: [receipt: ReceiptData];
  /** Statuses of users this session follows: live changes, or a snapshot (`snapshot` true). */
  presence: [updates: readonly PresenceRecord[], snapshot: boolean];
  /**
   * A thread's place in the chat list changed elsewhere: pinned, archived or marked unread on another device of
   * this user (or through the API), or its unread mark cleared by a read. The device that asked gets no event.
   */
  'feed-changed': [change: FeedChange];
  /** Someone in a thread this user is in started or stopped typing. */
  typing: [event: { threadId: string; userId: string; typing: boolean }];
  /** A push notification reached this device (while it is in the background). */
  push: [notification: PushNotification];
  /** The cursor was older than the server keeps: local state must be rebuilt. */
  'resync-required': [error: ChatRoomError];
  /** The server refused a frame that had no request waiting for it. */
  error: [error: ChatRoomError];
  /** The connection is gone. */
  disconnected: [reason: string];
}

/** How a session starts. */
export interface ChatSessionOptions {
  readonly userId: string;
  /** The device; a device resumes from the cursor the server saved for it. */
  readonly deviceId: string;
  /** Whether the app is in the foreground (online) or the background (away). */
  readonly foreground: boolean;
  /** Start after this `inboxSeq` instead of the device's saved cursor. */
  readonly cursor?: number;
  /** Acknowledge delivery of what arrives (default true), as a real app does. */
  readonly autoDelivered?: boolean;
  /** The clock request timeouts run on. */
  readonly clock: Clock;
  /** How long a request waits for its answer (ms). Default 30 000. */
  readonly requestTimeoutMs?: number;
  /** Where the session reports its work in flight. */
  readonly tasks?: TaskTracker;
}

interface Pending {
  resolve(frame: ServerFrame): void;
  reject(error: Error): void;
  /** The frame as sent, to send again when the server asks to slow down. */
  readonly frame: ClientFrame & { ref: string };
  /** Its place among the frames this session sent, so a frame sent again keeps its order. */
  readonly order: number;
  /** For a send: its text, to apply the sender's own entry from the ack. */
  readonly text?: string;
}

const SYNC_PAGE = 500;

/**
 * How long an entry that makes no tick (a receipt, the user's own message) may wait before its `delivered` goes
 * out on its own. Such an ack only moves this device's cursor on the server, so it rides along with the next
 * ack that matters, or goes after this delay: a frame saved per receipt.
 */
const CURSOR_ACK_DELAY_MS = 1_000;

/** Marks a promise as handled for fire-and-forget callers; whoever awaits it still gets its rejection. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The thread an inbox entry is about. */
function threadOf(entry: InboxEntry): string {
  if (entry.type === 'message') return entry.message.threadId;
  return entry.type === 'receipt' ? entry.receipt.threadId : entry.change.threadId;
}

/** The group a `group` answer carries. */
function groupOf(frame: ServerFrame): GroupSnapshot {
  return (frame as Extract<ServerFrame, { type: 'group' }>).group;
}

/**
 * One device of a user: a connection to the server, a cursor into the user's inbox, and the chat windows open on
 * it. It applies each inbox entry exactly once and in order — live entries, sync pages, duplicates and gaps
 * alike — and acknowledges delivery the way the app would.
 *
 * Pattern: Observer — the session is the subject; its `ChatWindow`s and the app's listeners observe it.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * const bob = chat.connect('bob')
 * bob.on('message', m => console.log(`${m.senderId}: ${m.text}`))
 * ```
 */
export class ChatSession extends Observable<ChatSessionEvents> {
  readonly userId: string;
  readonly deviceId: string;
  /** Resolves once the server greeted the session and, in the foreground, it caught up with its inbox. */
  readonly ready: Promise<void>;

  readonly #link: ClientLink;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #tasks: TaskTracker | undefined;
  readonly #autoDelivered: boolean;
  readonly #pending = new Map<string, Pending>();
  readonly #windows = new Map<string, Set<ChatWindow>>();
  readonly #presence = new Map<string, PresenceRecord>();
  #nextRef = 1;
  #cursor: number | undefined;
  #acked = 0;
  #latest = 0;
  #foreground: boolean;
  #catchingUp: Promise<void> | undefined;
  #again = false;
  #ackScheduled = false;
  #cursorAck: TimerHandle | undefined;
  /** Frames waiting for the pause the server asked for (`RATE_LIMITED`) to end, in the order first sent. */
  readonly #held: { readonly order: number; readonly frame: ClientFrame }[] = [];
  /** While the server asked to slow down: the timer of the next frame let out, and the spacing (ms). */
  #pause: { timer: TimerHandle; spacingMs: number } | undefined;
  #sent = 0;
  /** Entries that arrived ahead of a gap (the sender's own, from an ack, or live ones), kept until it is filled. */
  readonly #early = new Map<number, InboxEntry>();
  #greeted!: () => void;

  /**
   * Opens a session over a transport.
   *
   * @param transport - the device side of a transport
   * @param options - user, device, foreground, cursor, clock
   */
  constructor(transport: ClientTransport, options: ChatSessionOptions) {
    super();
    this.userId = options.userId;
    this.deviceId = options.deviceId;
    this.#foreground = options.foreground;
    this.#cursor = options.cursor;
    this.#clock = options.clock;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#tasks = options.tasks;
    this.#autoDelivered = options.autoDelivered ?? true;
    const greeted = new Promise<void>((resolve) => (this.#greeted = resolve));
    this.ready = this.#track(greeted.then(() => (this.#foreground ? this.#catchUp() : undefined)));
    this.#link = transport.open(
      { userId: this.userId, deviceId: this.deviceId, foreground: this.#foreground },
      { received: (frame) => this.#receive(frame), closed: (reason) => this.#closed(reason) },
    );
  }

  /** The last `inboxSeq` this device applied. */
  get cursor(): number {
    return this.#cursor ?? 0;
  }

  /** Whether the app is in the foreground. */
  get foreground(): boolean {
    return this.#foreground;
  }

  /** Whether the connection is open. */
  get connected(): boolean {
    return this.#link.open;
  }

  /**
   * Sends a message; resolves with the server's ack (the single check). Retrying with the same
   * `clientMessageId` stores nothing new.
   *
   * @param input - `to` (a user) or `groupId`, the text, an optional idempotency key, and `replyTo`: the id of the
   *   message of the same thread it answers (the stored message quotes it)
   * @throws ValidationError, NotFoundError, PermissionError as the server refuses
   * @throws TransportError when the connection is closed
   */
  async send(input: {
    to?: string;
    groupId?: string;
    text: string;
    clientMessageId?: string;
    replyTo?: string;
  }): Promise<Ack> {
    if (typeof input !== 'object' || input === null) throw new ValidationError('send needs an object');
    // Random, not a counter: a counter restarts with each session and would collide with an earlier send.
    const clientMessageId = input.clientMessageId ?? globalThis.crypto.randomUUID();
    requireId(clientMessageId, 'clientMessageId');
    const frame = await this.#request(
      {
        type: 'send',
        ref: this.#ref(),
        clientMessageId,
        ...(input.to === undefined ? {} : { to: input.to }),
        ...(input.groupId === undefined ? {} : { groupId: input.groupId }),
        text: input.text,
        ...(input.replyTo === undefined ? {} : { replyTo: input.replyTo }),
      },
      input.text,
    );
    const { messageId, threadId, seq, sentAt } = frame as Extract<ServerFrame, { type: 'ack' }>;
    return { clientMessageId, messageId, threadId, seq, sentAt };
  }

  /**
   * Fetches one page of the inbox after a cursor, applies what is new to this device (events, cursor) and
   * acknowledges delivery of it.
   *
   * @param options - `after` (default: this device's cursor) and `limit` (default 100)
   * @throws ResyncRequiredError when the cursor is older than the server keeps
   */
  async sync(options: { after?: number; limit?: number } = {}): Promise<SyncPage> {
    const after = options.after ?? this.cursor;
    const frame = (await this.#request({
      type: 'sync',
      ref: this.#ref(),
      after,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    })) as Extract<ServerFrame, { type: 'synced' }>;
    this.#latest = Math.max(this.#latest, frame.latest);
    this.#apply(frame.entries);
    await this.#acknowledge();
    const messages = frame.entries.flatMap((e) => (e.type === 'message' ? [new Message(e.message)] : []));
    return {
      entries: frame.entries,
      messages,
      hasMore: frame.hasMore,
      cursor: frame.cursor,
      latest: frame.latest,
    };
  }

  /**
   * Marks a thread read up to a seq (the blue checks for its senders); resolves when the server applied it.
   *
   * @param threadId - the thread
   * @param upToSeq - the highest seq seen
   * @throws NotFoundError, PermissionError, ValidationError as the server refuses
   */
  markRead(threadId: string, upToSeq: number): Promise<void> {
    return handled(
      this.#request({ type: 'read', ref: this.#ref(), threadId, upToSeq }).then(() => undefined),
    );
  }

  /**
   * Edits a text message this user sent, within the edit window (15 minutes by default). Resolves when the server
   * applied it; the change arrives as a `change` event, on this device too.
   *
   * @param messageId - the message
   * @param text - the new text
   * @param options - `clientChangeId`, to retry without editing twice (a random one by default)
   * @throws ValidationError, NotFoundError, PermissionError as the server refuses
   */
  edit(messageId: string, text: string, options: { clientChangeId?: string } = {}): Promise<void> {
    return this.#change({ type: 'edit', ref: this.#ref(), messageId, text }, options);
  }

  /**
   * Deletes a message for everyone (this user's own, within the delete window; any, for a group admin) or, with
   * `forEveryone: false`, for this user only, on all their devices. Resolves when the server applied it.
   *
   * @param messageId - the message
   * @param options - `forEveryone`, and `clientChangeId`
   * @throws ValidationError, NotFoundError, PermissionError as the server refuses
   */
  deleteMessage(
    messageId: string,
    options: { forEveryone: boolean; clientChangeId?: string },
  ): Promise<void> {
    if (typeof options !== 'object' || options === null) throw new ValidationError('options are required');
    const { forEveryone } = options;
    return this.#change({ type: 'delete', ref: this.#ref(), messageId, forEveryone }, options);
  }

  /**
   * Sets this user's reaction to a message (one emoji; a new one replaces the old), or takes it back (`null`).
   *
   * @param messageId - the message
   * @param emoji - exactly one emoji, or `null`
   * @param options - `clientChangeId`
   * @throws ValidationError (not one emoji), NotFoundError, PermissionError as the server refuses
   */
  react(messageId: string, emoji: string | null, options: { clientChangeId?: string } = {}): Promise<void> {
    return this.#change({ type: 'react', ref: this.#ref(), messageId, emoji }, options);
  }

  /**
   * Reads a page of a thread's history from the server, newest first: messages older than `before` (a seq), at
   * most `limit` (default 50, at most 200), since this user joined, without those they deleted for themselves.
   *
   * @param threadId - the thread
   * @param options - `before` and `limit`
   * @throws ValidationError, NotFoundError as the server refuses
   */
  async history(threadId: string, options: { before?: number; limit?: number } = {}): Promise<HistoryPage> {
    const frame = (await this.#request({
      type: 'history',
      ref: this.#ref(),
      threadId,
      ...(options.before === undefined ? {} : { before: options.before }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    })) as Extract<ServerFrame, { type: 'history' }>;
    return { threadId: frame.threadId, messages: frame.messages, hasMore: frame.hasMore };
  }

  /**
   * Asks for a change to a message, with an idempotency key of its own: random, not the ref, which restarts with
   * each session and would make a later change look like a retry of an earlier one.
   */
  async #change(
    frame: Extract<ClientFrame, { type: 'edit' | 'delete' | 'react' }>,
    options: { clientChangeId?: string },
  ): Promise<void> {
    const clientChangeId = options?.clientChangeId ?? globalThis.crypto.randomUUID();
    requireId(clientChangeId, 'clientChangeId');
    await this.#request({ ...frame, clientChangeId });
  }

  /**
   * Moves the app to the foreground (online: messages arrive live, and it catches up) or the background (away:
   * push notifications instead).
   *
   * @param foreground - where the app is now
   */
  setForeground(foreground: boolean): Promise<void> {
    if (typeof foreground !== 'boolean') throw new ValidationError('foreground must be true or false');
    return handled(
      this.#request({ type: 'state', ref: this.#ref(), foreground }).then(() => {
        this.#foreground = foreground;
        return foreground ? this.#catchUp() : undefined;
      }),
    );
  }

  /**
   * Follows the presence of the users this device is showing (the open chat, the visible feed rows); replaces
   * the set followed before. Resolves after the snapshot arrived (as a `presence` event).
   *
   * @param userIds - every user shown now
   * @throws ValidationError when the list is malformed or too long
   */
  subscribePresence(userIds: readonly string[]): Promise<void> {
    return handled(this.#request({ type: 'subscribe', ref: this.#ref(), userIds }).then(() => undefined));
  }

  /** Tells the server the user is active (scrolling, typing), so friends do not see them idle. */
  active(): void {
    if (this.#link.open) this.#out({ type: 'active' });
  }

  /**
   * Sends a photo uploaded before (`POST /media` answers its `MediaRef`); resolves with the server's ack. Retrying
   * with the same `clientMessageId` stores nothing new.
   *
   * @param input - `to` (a user) or `groupId`, the uploaded `media`, an optional caption and idempotency key
   * @throws ValidationError, NotFoundError, PermissionError as the server refuses (a photo this user did not
   *   upload, or that expired unsent, is `NOT_FOUND`)
   * @throws TransportError when the connection is closed
   */
  async sendPhoto(input: {
    to?: string;
    groupId?: string;
    media: MediaRef;
    caption?: string;
    clientMessageId?: string;
  }): Promise<Ack> {
    if (typeof input !== 'object' || input === null) throw new ValidationError('sendPhoto needs an object');
    const clientMessageId = input.clientMessageId ?? globalThis.crypto.randomUUID();
    requireId(clientMessageId, 'clientMessageId');
    const frame = (await this.#request({
      type: 'send',
      ref: this.#ref(),
      clientMessageId,
      ...(input.to === undefined ? {} : { to: input.to }),
      ...(input.groupId === undefined ? {} : { groupId: input.groupId }),
      kind: 'photo',
      media: input.media,
      ...(input.caption === undefined ? {} : { text: input.caption }),
    })) as Extract<ServerFrame, { type: 'ack' }>;
    const { messageId, threadId, seq, sentAt, inboxSeq } = frame;
    if (inboxSeq !== undefined) {
      // As for a text, the server does not send this device its own photo back: the ack stands for the entry.
      const { userId } = this;
      const text = input.caption ?? '';
      const message = {
        id: messageId,
        threadId,
        seq,
        senderId: userId,
        kind: 'photo' as const,
        text,
        clientMessageId,
        sentAt,
        media: input.media,
      };
      this.#live({ type: 'message', message, userId, inboxSeq });
    }
    return { clientMessageId, messageId, threadId, seq, sentAt };
  }

  /**
   * Tells the other members of a thread that the user started (`true`) or stopped typing; repeat `true` every few
   * seconds while typing (a state ends by itself 5 s after the last one). Resolves when the server took it.
   *
   * @param threadId - the thread
   * @param typing - whether the user is typing
   * @throws NotFoundError when the user is not in the thread
   */
  typing(threadId: string, typing: boolean): Promise<void> {
    return handled(
      this.#request({ type: 'typing', ref: this.#ref(), threadId, typing }).then(() => undefined),
    );
  }

  /**
   * Creates a group owned by this user.
   *
   * @param input - the group's name and its other first members
   * @returns the group as created
   * @throws ValidationError, NotFoundError as the server refuses (an unknown member, a name too long)
   */
  async createGroup(input: { name: string; memberIds?: readonly string[] }): Promise<GroupSnapshot> {
    if (typeof input !== 'object' || input === null) throw new ValidationError('createGroup needs an object');
    const { name, memberIds = [] } = input;
    return groupOf(await this.#request({ type: 'group.create', ref: this.#ref(), name, memberIds }));
  }

  /**
   * Adds members to a group (admins only).
   *
   * @param groupId - the group
   * @param userIds - who joins
   * @returns the group as it is now
   * @throws NotFoundError, PermissionError, ValidationError as the server refuses
   */
  async addGroupMembers(groupId: string, userIds: readonly string[]): Promise<GroupSnapshot> {
    return groupOf(await this.#request({ type: 'group.add', ref: this.#ref(), groupId, userIds }));
  }

  /**
   * Removes a member from a group (admins only).
   *
   * @param groupId - the group
   * @param userId - who is removed
   * @returns the group as it is now
   * @throws NotFoundError, PermissionError as the server refuses
   */
  async removeGroupMember(groupId: string, userId: string): Promise<GroupSnapshot> {
    return groupOf(await this.#request({ type: 'group.remove', ref: this.#ref(), groupId, userId }));
  }

  /**
   * Leaves a group.
   *
   * @param groupId - the group
   * @returns the group as it is now, without this user
   * @throws NotFoundError when the user is not in the group
   */
  async leaveGroup(groupId: string): Promise<GroupSnapshot> {
    return groupOf(await this.#request({ type: 'group.leave', ref: this.#ref(), groupId }));
  }

  /**
   * Makes a member an admin (admins only).
   *
   * @param groupId - the group
   * @param userId - the member
   * @returns the group as it is now
   * @throws NotFoundError, PermissionError as the server refuses
   */
  async promoteGroupMember(groupId: string, userId: string): Promise<GroupSnapshot> {
    return groupOf(await this.#request({ type: 'group.promote', ref: this.#ref(), groupId, userId }));
  }

  /**
   * Adds a user to this user's contacts.
   *
   * @param userId - the user
   * @throws NotFoundError when there is no such user
   */
  async addContact(userId: string): Promise<void> {
    await this.#request({ type: 'contacts.add', ref: this.#ref(), userId });
  }

  /**
   * Searches users by name or handle: among this user's contacts, or with `global` among the users who chose to
   * be discoverable (a word of at least 3 characters, at most 20 results).
   *
   * @param query - the words
   * @param options - the most results, and whether to search globally
   * @returns the best matches first
   * @throws ValidationError, RateLimitError as the server refuses
   */
  async searchContacts(
    query: string,
    options: { limit?: number; global?: boolean } = {},
  ): Promise<readonly ContactResult[]> {
    const frame = await this.#request({
      type: 'contacts.search',
      ref: this.#ref(),
      query,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.global === undefined ? {} : { global: options.global }),
    });
    return (frame as Extract<ServerFrame, { type: 'contacts' }>).results;
  }

  /** This user's settings (read receipts, previews, last seen, discoverable, mutes, blocks). */
  async getSettings(): Promise<SettingsSnapshot> {
    const frame = await this.#request({ type: 'settings.get', ref: this.#ref() });
    return (frame as Extract<ServerFrame, { type: 'settings' }>).settings;
  }

  /**
   * Changes one setting.
   *
   * @param change - exactly one field: `{ readReceipts: false }`, `{ mute: { threadId, until } }`, `{ block: id }`…
   * @returns the settings as they are now
   * @throws ValidationError when the change is malformed or carries more than one field
   */
  async updateSettings(change: SettingsChange): Promise<SettingsSnapshot> {
    if (typeof change !== 'object' || change === null)
      throw new ValidationError('updateSettings needs an object');
    const frame = await this.#request({ ...change, type: 'settings.set', ref: this.#ref() });
    return (frame as Extract<ServerFrame, { type: 'settings' }>).settings;
  }

  /**
   * Pins a thread to the top of this user's chat list, or unpins it (pinning brings an archived thread back).
   * Resolves when the server saved it; the user's other devices get a `feed-changed` event.
   *
   * @param threadId - a thread in this user's chat list
   * @param pinned - pin (true) or unpin (false)
   * @throws NotFoundError when the user is not in the thread (as for one that does not exist)
   * @throws ValidationError when an argument is malformed
   */
  pin(threadId: string, pinned: boolean): Promise<void> {
    return handled(
      this.#request({ type: 'feed.pin', ref: this.#ref(), threadId, pinned }).then(() => undefined),
    );
  }

  /**
   * Marks a thread unread (it shows at least 1 unread until read again), or clears the mark. Resolves when the
   * server saved it; the user's other devices get a `feed-changed` event.
   *
   * @param threadId - a thread in this user's chat list
   * @param unread - mark (true) or clear the mark (false)
   * @throws NotFoundError, ValidationError as `pin`
   */
  markUnread(threadId: string, unread: boolean): Promise<void> {
    return handled(
      this.#request({ type: 'feed.unread', ref: this.#ref(), threadId, unread }).then(() => undefined),
    );
  }

  /**
   * Archives a thread (out of the main list, unpinned; new messages keep it there), or brings it back. Resolves
   * when the server saved it; the user's other devices get a `feed-changed` event.
   *
   * @param threadId - a thread in this user's chat list
   * @param archived - archive (true) or unarchive (false)
   * @throws NotFoundError, ValidationError as `pin`
   */
  archive(threadId: string, archived: boolean): Promise<void> {
    return handled(
      this.#request({ type: 'feed.archive', ref: this.#ref(), threadId, archived }).then(() => undefined),
    );
  }

  /**
   * Reads the top of this user's chat list from the server (pinned first, then latest activity, with unread
   * counts and each thread's `pinned`, `archived` and `markedUnread`), or of the archive with `archived: true`.
   * A device that was offline reads the choices made meanwhile this way.
   *
   * @param options - `limit` (default 20) and `archived`
   * @throws ValidationError when an option is malformed
   */
  async feedTop(options: { limit?: number; archived?: boolean } = {}): Promise<readonly FeedEntry[]> {
    const frame = await this.#request({
      type: 'feed.top',
      ref: this.#ref(),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.archived === undefined ? {} : { archived: options.archived }),
    });
    return (frame as Extract<ServerFrame, { type: 'feed' }>).entries;
  }

  /**
   * The latest presence this device heard for a user it follows.
   *
   * @param userId - the user
   */
  presenceOf(userId: string): PresenceRecord | undefined {
    return this.#presence.get(userId);
  }

  /**
   * Opens a window on a thread: it observes the thread's messages and receipts on this device.
   *
   * @param threadId - the thread
   */
  openWindow(threadId: string): ChatWindow {
    if (typeof threadId !== 'string' || threadId.length === 0)
      throw new ValidationError('threadId is required');
    const window = new ChatWindow(this, threadId, () => this.#windows.get(threadId)?.delete(window));
    const set = this.#windows.get(threadId) ?? new Set();
    set.add(window);
    this.#windows.set(threadId, set);
    return window;
  }

  /** Closes the connection. */
  disconnect(): void {
    // A cursor ack still waiting (receipts, own messages) goes out first, so the next start resumes after them.
    void this.#acknowledge(false).catch(() => undefined);
    this.#link.close();
  }

  /**
   * Hands a push notification to this device, as the phone's OS would.
   *
   * @internal
   */
  deliverPush(notification: PushNotification): void {
    this.emit('push', notification);
  }

  #receive(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.#latest = frame.latest;
        if (this.#cursor === undefined) this.#cursor = frame.cursor;
        this.#acked = Math.max(this.#acked, frame.cursor);
        this.#greeted();
        return;
      case 'entry':
        this.#live(frame.entry);
        return;
      case 'ack': {
        // The single check shows the moment it arrives, before anything the server sent after it.
        const { clientMessageId, messageId, threadId, seq, sentAt, inboxSeq } = frame;
        const pending = this.#pending.get(frame.ref);
        if (pending !== undefined) this.emit('ack', { clientMessageId, messageId, threadId, seq, sentAt });
        this.#settle(frame.ref, frame);
        // The server does not send this device its own message back: the ack stands for that inbox entry.
        if (inboxSeq !== undefined && pending?.text !== undefined) {
          const { userId } = this;
          const message = {
            id: messageId,
            threadId,
            seq,
            senderId: userId,
            kind: 'text' as const,
            text: pending.text,
            clientMessageId,
            sentAt,
            ...(frame.replyTo === undefined ? {} : { replyTo: frame.replyTo }),
          };
          this.#live({ type: 'message', message, userId, inboxSeq });
        }
        return;
      }
      case 'feed.changed': {
        const { threadId, pinned, archived, markedUnread } = frame;
        this.emit('feed-changed', { threadId, pinned, archived, markedUnread });
        return;
      }
      case 'typing':
        this.emit('typing', { threadId: frame.threadId, userId: frame.userId, typing: frame.typing });
        return;
      case 'pong':
        if (frame.ref !== undefined) this.#settle(frame.ref, frame);
        return;
      case 'presence':
        for (const record of frame.updates) this.#presence.set(record.userId, record);
        this.emit('presence', frame.updates, frame.snapshot === true);
        return;
      case 'error':
        if (frame.code === 'RATE_LIMITED') return this.#slowDown(frame);
        if (frame.ref !== undefined && this.#settle(frame.ref, undefined, frame)) return;
        this.emit('error', errorFromCode(frame.code, frame.message, { ...frame.details }));
        return;
      default:
        this.#settle(frame.ref, frame);
    }
  }

  /** An entry that arrived live (or from an ack): applied now, or kept until the gap before it is filled. */
  #live(entry: InboxEntry): void {
    this.#latest = Math.max(this.#latest, entry.inboxSeq);
    if (this.#apply([entry]) > 0) return;
    if (entry.inboxSeq > this.cursor + 1) {
      this.#early.set(entry.inboxSeq, entry);
      void this.#catchUp();
    }
  }

  /**
   * Applies entries that extend the cursor, in order, then any kept early entries they reach; skips those already
   * applied. Schedules the `delivered` ack. Returns how many applied.
   */
  #apply(entries: readonly InboxEntry[]): number {
    let applied = 0;
    let ticks = false;
    for (const entry of entries) {
      if (entry.inboxSeq <= this.cursor) continue;
      if (entry.inboxSeq !== this.cursor + 1) break; // a gap: catch-up fetches it in order
      this.#cursor = entry.inboxSeq;
      applied++;
      if (entry.type === 'message' && entry.message.senderId !== this.userId) ticks = true;
      const windows = this.#windows.get(threadOf(entry));
      if (entry.type === 'message') {
        // What arrives here is delivered by definition; the user's own messages start at the single check.
        const own = entry.message.senderId === this.userId;
        const message = new Message(entry.message, own ? 'sent' : 'delivered');
        this.emit(own ? 'message-sent' : 'message', message);
        for (const w of windows ?? []) w.receiveMessage(message);
      } else if (entry.type === 'receipt') {
        this.emit('receipt', entry.receipt);
        for (const w of windows ?? []) w.receiveReceipt(entry.receipt);
      } else {
        // A change makes no tick: like a receipt, its ack only moves this device's cursor.
        this.emit('change', entry.change);
        for (const w of windows ?? []) w.receiveChange(entry.change);
      }
    }
    if (applied > 0) this.#scheduleAck(ticks);
    if (this.#early.size > 0) {
      for (const seq of this.#early.keys()) if (seq <= this.cursor) this.#early.delete(seq);
      const next = this.#early.get(this.cursor + 1);
      if (next !== undefined) {
        this.#early.delete(next.inboxSeq);
        return applied + this.#apply([next]);
      }
    }
    return applied;
  }

  /** Fetches pages until the device has everything; concurrent calls join the running one. */
  #catchUp(): Promise<void> {
    if (this.#catchingUp !== undefined) {
      this.#again = true;
      return this.#catchingUp;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#again = false;
          let page: SyncPage;
          do {
            try {
              page = await this.sync({ after: this.cursor, limit: SYNC_PAGE });
            } catch (e) {
              if (!(e instanceof ResyncRequiredError)) throw e;
              this.emit('resync-required', e);
              const oldest = typeof e.details.oldest === 'number' ? e.details.oldest : 1;
              this.#cursor = Math.max(0, oldest - 1);
              page = await this.sync({ after: this.cursor, limit: SYNC_PAGE });
            }
          } while (page.hasMore && this.#link.open);
        } while (this.#again && this.#link.open);
      } finally {
        this.#catchingUp = undefined;
      }
    };
    this.#catchingUp = this.#track(run().catch((e: unknown) => this.#reportBackground(e)));
    return this.#catchingUp;
  }

  /**
   * Acknowledges a burst of live entries once, after the burst, when it holds a message from someone else (its
   * sender is waiting for the double check); otherwise within `CURSOR_ACK_DELAY_MS`, or with the next ack.
   *
   * @param ticks - whether the entries hold a message from someone else
   */
  #scheduleAck(ticks: boolean): void {
    if (!this.#autoDelivered) return;
    if (!ticks) {
      this.#cursorAck ??= this.#clock.setTimeout(() => {
        this.#cursorAck = undefined;
        this.#acknowledge(false).catch((e: unknown) => this.#reportBackground(e));
      }, CURSOR_ACK_DELAY_MS);
      return;
    }
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    this.#track(
      Promise.resolve()
        .then(() => {
          this.#ackScheduled = false;
          return this.#acknowledge(false);
        })
        .catch((e: unknown) => this.#reportBackground(e)),
    );
  }

  /**
   * Acknowledges delivery up to the cursor. After a sync the session waits for the server's answer, so that
   * `await sync()` returns with the sender's double check applied; live bursts need no answer.
   */
  async #acknowledge(wait = true): Promise<void> {
    if (!this.#autoDelivered || this.cursor <= this.#acked || !this.#link.open) return;
    const upTo = this.cursor;
    this.#acked = upTo;
    if (wait) await this.#request({ type: 'delivered', ref: this.#ref(), upTo });
    else this.#out({ type: 'delivered', upTo });
  }

  #request(frame: ClientFrame & { ref: string }, text?: string): Promise<ServerFrame> {
    if (!this.#link.open) return Promise.reject(new TransportError('the session is disconnected'));
    const answer = new Promise<ServerFrame>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(frame.ref);
        reject(new TransportError(`no answer to ${frame.type} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      const done = (): void => {
        this.#clock.clearTimeout(timer);
        this.#pending.delete(frame.ref);
      };
      this.#pending.set(frame.ref, {
        resolve: (f) => (done(), resolve(f)),
        reject: (e) => (done(), reject(e)),
        frame,
        order: this.#sent + 1,
        ...(text === undefined ? {} : { text }),
      });
    });
    this.#out(frame);
    // A caller may fire and forget (`markRead(...); disconnect()`): the server still applies what it received,
    // so an unanswered request must not crash the process as an unhandled rejection. Awaiting callers still
    // see the error.
    answer.catch(() => undefined);
    return this.#track(answer);
  }

  /** Sends a frame now, or holds it while the server asked this session to slow down. */
  #out(frame: ClientFrame, order = ++this.#sent): void {
    if (this.#pause === undefined) return this.#link.send(frame);
    const at = this.#held.findIndex((h) => h.order > order);
    this.#held.splice(at === -1 ? this.#held.length : at, 0, { order, frame });
  }

  /**
   * The server refused a frame with `RATE_LIMITED`: it goes again, unchanged (a send keeps its `clientMessageId`),
   * and from now frames leave one per `retryAfterMs` until none are held, so a burst never reaches the app as an
   * error. A refused frame without a `ref` cannot be named; if it was a `delivered`, the next one covers it.
   */
  #slowDown(error: Extract<ServerFrame, { type: 'error' }>): void {
    const wait = Number(error.details?.retryAfterMs);
    const spacingMs = Number.isFinite(wait) && wait > 0 ? Math.min(wait, 60_000) : 1_000;
    const pending = error.ref === undefined ? undefined : this.#pending.get(error.ref);
    if (this.#pause === undefined) {
      this.#pause = { timer: this.#clock.setTimeout(() => this.#release(), spacingMs), spacingMs };
    } else {
      this.#pause.spacingMs = spacingMs;
    }
    if (pending !== undefined) return this.#out(pending.frame, pending.order);
    // Held once: a later `delivered` covers every earlier one.
    const covered = this.#held.some((h) => h.frame.type === 'delivered' && h.frame.ref === undefined);
    if (this.#autoDelivered && this.#acked > 0 && !covered)
      this.#out({ type: 'delivered', upTo: this.#acked });
  }

  /** Lets the next held frame out, and ends the pause once none are left. */
  #release(): void {
    const next = this.#held.shift();
    if (next === undefined || !this.#link.open) {
      this.#pause = undefined;
      this.#held.length = 0;
      return;
    }
    this.#link.send(next.frame);
    const spacingMs = this.#pause?.spacingMs ?? 1_000;
    this.#pause = { timer: this.#clock.setTimeout(() => this.#release(), spacingMs), spacingMs };
  }

  #settle(ref: string, frame?: ServerFrame, error?: Extract<ServerFrame, { type: 'error' }>): boolean {
    const pending = this.#pending.get(ref);
    if (pending === undefined) return false;
    if (error !== undefined) pending.reject(errorFromCode(error.code, error.message, { ...error.details }));
    else pending.resolve(frame as ServerFrame);
    return true;
  }

  #closed(reason: string): void {
    if (this.#cursorAck !== undefined) this.#clock.clearTimeout(this.#cursorAck);
    this.#cursorAck = undefined;
    if (this.#pause !== undefined) this.#clock.clearTimeout(this.#pause.timer);
    this.#pause = undefined;
    this.#held.length = 0;
    this.#early.clear();
    for (const p of [...this.#pending.values()]) p.reject(new TransportError(`disconnected: ${reason}`));
    this.#greeted();
    this.emit('disconnected', reason);
  }

  #reportBackground(error: unknown): void {
    if (!this.#link.open) return; // the disconnect says it all
    this.emit('error', error as ChatRoomError);
  }

  #ref(): string {
    return `r${this.#nextRef++}`;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    return this.#tasks === undefined ? promise : this.#tasks.track(promise);
  }
}
