import type {
  ChatFeed,
  FeedEntry,
  Group,
  MediaInfo,
  MediaLimits,
  MessageData,
  MessageStatus,
  PresenceRecord,
  PresenceStatus,
  ReceiptDetail,
  User,
  UserProfile,
} from './domain';
import type { Message } from './domain';
import { ValidationError, requireId } from './domain';
import type { CameraController, Clock, MessageStore, PushNotifier, Transport } from './ports';
import type { InMemoryTransport } from './adapters/in-memory';
import type {
  ChangeOptions,
  ContactMatch,
  DeleteOptions,
  HistoryOptions,
  HistoryPage,
  MediaService,
  NewGroup,
  NotificationCenter,
  PresenceService,
  RecipientState,
  SendInput,
  SendPhotoInput,
  SendResult,
  SettingsController,
} from './services';
import type { ChatSession, ConnectOptions } from './session';
import type { ChatSystemDeps, SystemParts } from './compose-system';
import { composeSystem } from './compose-system';

/**
 * The chat system: the one object an app talks to. A facade over the services that `composeSystem` builds from
 * the ports (store, transport, push, clock), with in-memory defaults.
 *
 * Pattern: Singleton — `ChatSystem.getInstance()` is the app's one system; `ChatSystem.create()` makes an
 * isolated one for tests and servers.
 * Pattern: Facade — one small API over the services behind it.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.registerUser({ id: 'alice', name: 'Alice' })
 * chat.registerUser({ id: 'bob', name: 'Bob' })
 * const bob = chat.connect('bob')
 * bob.on('message', m => console.log(m.text))
 * const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'Hello Gainlo' })
 * m.status // 'delivered'
 * ```
 */
export class ChatSystem {
  static #instance: ChatSystem | undefined;

  /** The system's events (message stored and routed, receipts, pushes, presence, sessions). */
  readonly notifications: NotificationCenter;
  readonly clock: Clock;
  readonly store: MessageStore;
  readonly pushNotifier: PushNotifier;
  readonly transport: InMemoryTransport;
  /** Presence: who is online, idle, away or offline, and who hears of it (with its cost counters). */
  readonly presence: PresenceService;
  /** The camera and gallery, when the app has one. */
  readonly camera: CameraController | undefined;
  readonly #parts: SystemParts;

  /** The limits photos must keep to, when the system takes photos (an image processor was given). */
  get mediaLimits(): MediaLimits | undefined {
    return this.#parts.media?.limits;
  }

  /**
   * Composes a system (see `composeSystem`); parts not given are the in-memory defaults.
   *
   * @param deps - the parts to use instead of the defaults
   * @throws ValidationError when a limit is malformed
   */
  constructor(deps: ChatSystemDeps = {}) {
    const parts = composeSystem(deps);
    this.#parts = parts;
    this.notifications = parts.events;
    this.clock = parts.clock;
    this.store = parts.store;
    this.pushNotifier = parts.pushNotifier;
    this.transport = parts.transport;
    this.presence = parts.presence;
    this.camera = parts.camera;
  }

  /**
   * An isolated system with in-memory defaults (tests, servers, several systems in one process).
   *
   * @param deps - parts to use instead of the defaults
   */
  static create(deps: ChatSystemDeps = {}): ChatSystem {
    return new ChatSystem(deps);
  }

  /**
   * A system that carries on from what its stores hold: users, contacts, groups, settings and direct threads
   * from the `directoryStore`; each thread's last seq, receipt watermarks and every member's feed (unread
   * counts, previews) from the message `store`. `create` starts empty instead.
   *
   * @param deps - parts to use instead of the defaults, usually durable stores
   * @throws StorageError when a store cannot be read
   *
   * @example
   * ```ts
   * import { ChatSystem } from 'chat-room'
   * import { SqliteDirectoryStore, SqliteMessageStore } from 'chat-room/sqlite'
   * const store = new SqliteMessageStore({ path: 'chat.db' })
   * const directoryStore = new SqliteDirectoryStore({ path: 'chat.db' })
   * const chat = await ChatSystem.open({ store, directoryStore })
   * ```
   */
  static async open(deps: ChatSystemDeps = {}): Promise<ChatSystem> {
    const chat = new ChatSystem(deps);
    await chat.#parts.restorer?.restore();
    return chat;
  }

  /** The app's one system, created with the defaults on first use. */
  static getInstance(): ChatSystem {
    ChatSystem.#instance ??= new ChatSystem();
    return ChatSystem.#instance;
  }

  /** Closes and forgets the singleton, so the next `getInstance()` starts afresh (tests). */
  static async resetInstance(): Promise<void> {
    const instance = ChatSystem.#instance;
    ChatSystem.#instance = undefined;
    await instance?.close();
  }

  /**
   * Serves devices over another transport too (WebSocket, long-poll).
   *
   * @param transport - the transport to listen on
   */
  attach(transport: Transport): void {
    transport.listen(this.#parts.gateway);
  }

  /**
   * Registers a user.
   *
   * @param profile - id and display name
   * @throws ValidationError when the profile is malformed
   * @throws ConflictError when the id is taken
   */
  registerUser(profile: UserProfile): User {
    const user = this.#parts.users.register(profile);
    this.#parts.contacts.add(user);
    return user;
  }

  /**
   * Searches people to start a chat with: a case- and accent-insensitive prefix search over name words and
   * handles ("jo" finds "José Álvarez" and "Mary Jones"), exact matches first. Only the user's own contacts,
   * unless `global` asks for everyone who chose to be discoverable (`settings(id).setDiscoverable(true)`), except
   * whoever blocked the searcher; a global query needs a word of at least 3 characters, returns at most 20 people
   * and is limited to 30 a minute per user.
   *
   * @param userId - who searches
   * @param query - what they typed
   * @param options - `limit` (1–100, default 20; for global any, clamped to 20) and `global`
   * @throws NotFoundError when the user is unknown
   * @throws ValidationError when the query is blank, too long or (global) too short, or the limit out of range
   * @throws RateLimitError (`details.retryAfterMs`) past the user's budget of global searches
   */
  searchContacts(
    userId: string,
    query: string,
    options: { limit?: number; global?: boolean } = {},
  ): ContactMatch[] {
    return this.#parts.people.search(userId, query, options);
  }

  /**
   * A registered user.
   *
   * @param userId - the user's id
   * @throws NotFoundError when no such user is registered
   */
  getUser(userId: string): User {
    return this.#parts.users.get(userId);
  }

  /**
   * Whether a user is registered.
   *
   * @param userId - the user's id
   */
  hasUser(userId: string): boolean {
    return this.#parts.users.has(userId);
  }

  /**
   * Adds a contact to a user's list.
   *
   * @param userId - whose list
   * @param contactId - the contact
   * @returns whether the contact is new
   * @throws NotFoundError when either user is unknown
   */
  addContact(userId: string, contactId: string): boolean {
    return this.#parts.users.addContact(userId, contactId);
  }

  /**
   * Removes a contact from a user's list.
   *
   * @param userId - whose list
   * @param contactId - the contact
   * @returns whether it was a contact
   * @throws NotFoundError when the user is unknown
   */
  removeContact(userId: string, contactId: string): boolean {
    return this.#parts.users.removeContact(userId, contactId);
  }

  /**
   * Blocks a user: they can no longer message `userId` directly.
   *
   * @param userId - who blocks
   * @param blockedId - who is blocked
   * @throws NotFoundError when either user is unknown
   */
  block(userId: string, blockedId: string): boolean {
    return this.#parts.users.block(userId, blockedId);
  }

  /**
   * Lifts a block.
   *
   * @param userId - who blocked
   * @param blockedId - who was blocked
   */
  unblock(userId: string, blockedId: string): boolean {
    return this.#parts.users.unblock(userId, blockedId);
  }

  /**
   * A user's settings: read receipts, previews, mutes, blocks.
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  settings(userId: string): SettingsController {
    return this.#parts.settings.controller(userId);
  }

  /**
   * Connects a device of a user: a `ChatSession`. In the foreground the user is online and messages arrive
   * live; in the background the user is away and gets push notifications.
   *
   * @param userId - the user
   * @param options - foreground, device id, cursor
   * @throws NotFoundError when the user is unknown
   * @throws ValidationError when an option is malformed
   */
  connect(userId: string, options: ConnectOptions = {}): ChatSession {
    return this.#parts.devices.connect(userId, options);
  }

  /**
   * Registers a device for push notifications: while its user is away (or was connected within the away
   * window), messages reach it as pushes.
   *
   * @param userId - the user
   * @param deviceId - the device
   * @throws NotFoundError when the user is unknown
   */
  registerPushDevice(userId: string, deviceId: string): void {
    this.#parts.users.get(userId);
    this.#parts.sessions.registerPushDevice(userId, requireId(deviceId, 'deviceId'));
    this.notifications.publish('record-changed', { kind: 'user', id: userId });
  }

  /**
   * A user's status now: online, idle, away or offline (what friends are told follows the presence policy).
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  presenceOf(userId: string): PresenceStatus {
    this.#parts.users.get(userId);
    return this.presence.statusOf(userId);
  }

  /**
   * What a viewer may see of some users' presence: status, last active, last seen (privacy applied).
   *
   * @param viewerId - who looks
   * @param userIds - whom
   * @throws NotFoundError when a user is unknown
   */
  presenceSnapshot(viewerId: string, userIds: readonly string[]): Promise<PresenceRecord[]> {
    this.#parts.users.get(viewerId);
    if (!Array.isArray(userIds)) throw new ValidationError('userIds must be an array of user ids');
    for (const id of userIds) this.#parts.users.get(id);
    return this.presence.snapshot(viewerId, userIds);
  }

  /**
   * Where a message for this user goes now: online (live), away (push) or offline (kept in the inbox).
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  deliveryStateOf(userId: string): RecipientState {
    this.#parts.users.get(userId);
    return this.#parts.sessions.stateOf(userId);
  }

  /**
   * Sends a message as `from` (the caller vouches for who `from` is). Resolves once the message is stored
   * and in-process delivery has settled; its `status` keeps moving as receipts arrive.
   *
   * @param input - sender, `to` or `groupId`, text, optional idempotency key, and `replyTo` (the id of a message
   *   of the same thread it answers, which it then quotes); a `photo` names an upload of the sender's
   *   (`uploadMedia`), which is then kept for good
   * @throws ValidationError, NotFoundError, PermissionError, ConflictError — see `DeliveryService.send`; and
   *   NotFoundError for a photo whose upload expired
   */
  async sendMessage(input: SendInput): Promise<Message> {
    const media = input?.kind === 'photo' ? this.#parts.media : undefined;
    return this.#handle(media ? media.sendUploaded(input) : this.#parts.delivery.send(input));
  }

  /** A live handle on a sent message, once in-process delivery has settled: its status follows receipts. */
  async #handle(sending: Promise<SendResult>): Promise<Message> {
    const { message, routed } = await this.#parts.tasks.track(sending);
    await routed;
    return this.#parts.live.handle(message);
  }

  #requireMedia(): MediaService {
    if (this.#parts.media === undefined) {
      throw new ValidationError(
        'this system has no image processor: create it with { imageProcessor: new SharpImageProcessor() } ' +
          "from 'chat-room/sharp'",
        { details: { reason: 'NO_IMAGE_PROCESSOR' } },
      );
    }
    return this.#parts.media;
  }

  /**
   * Sends a photo: checked (who may send where), then identified by its bytes, limited in size and pixels,
   * turned upright, stripped of metadata (GPS included) and thumbnailed, stored, and sent as a `photo` message
   * through the same flow and ticks as text. A retry with the same `clientMessageId` stores nothing new.
   *
   * @param input - sender, `to` or `groupId`, the photo, an optional caption and idempotency key
   * @throws ValidationError for a file that is not a JPEG, PNG, WebP or GIF image, or over the pixel limit, or
   *   when the system has no image processor
   * @throws PayloadTooLargeError over the byte limit
   * @throws NotFoundError, PermissionError as a text send would
   */
  async sendPhoto(input: SendPhotoInput): Promise<Message> {
    return this.#handle(this.#requireMedia().sendPhoto(input));
  }

  /**
   * Uploads a photo ahead of its message (the HTTP upload route): checked, made safe and stored as `sendPhoto`
   * does, owned by the uploader, and fetchable by the uploader alone until a photo message refers to it; one not
   * sent within `uploadTtlMs` (default one hour) expires.
   *
   * @param userId - the uploader
   * @param bytes - the image
   * @param claimedType - the type the client claims (never trusted)
   * @throws ValidationError, PayloadTooLargeError as `sendPhoto`
   */
  uploadMedia(userId: string, bytes: Uint8Array, claimedType?: string): Promise<MediaInfo> {
    return this.#requireMedia().upload(userId, bytes, claimedType);
  }

  /**
   * A photo's bytes (or its thumbnail's), for its uploader or a member of a thread it was sent in.
   *
   * @param userId - who asks
   * @param mediaId - the photo's (or the thumbnail's) media id
   * @throws NotFoundError when there is no such photo, or it expired unsent
   * @throws PermissionError when the user neither uploaded it nor is a member of any thread it was sent in
   */
  getMedia(userId: string, mediaId: string): Promise<{ info: MediaInfo; bytes: Uint8Array }> {
    return this.#requireMedia().fetch(userId, mediaId);
  }

  /**
   * Marks a thread read by a user up to a seq.
   *
   * @param userId - the reader
   * @param threadId - the thread
   * @param upToSeq - the highest seq seen
   * @throws NotFoundError when the thread is unknown or the user not in it (the same error either way)
   * @throws ValidationError when the seq is malformed or beyond the newest message
   */
  async markRead(userId: string, threadId: string, upToSeq: number): Promise<void> {
    await this.#parts.tasks.track(this.#parts.delivery.markRead(userId, threadId, upToSeq));
    await this.#parts.tasks.idle();
  }

  /**
   * Who received and read a message; only its sender may ask. Someone not in the message's thread is told it does
   * not exist, exactly as for a message that does not.
   *
   * @param userId - the sender
   * @param messageId - the message
   * @throws NotFoundError when there is no such message or the user is not in its thread (the same error)
   * @throws PermissionError when a member who is not the sender asks
   */
  messageInfo(
    userId: string,
    messageId: string,
  ): Promise<{ message: MessageData; status: MessageStatus; members: ReceiptDetail[] }> {
    return this.#parts.delivery.messageInfo(userId, messageId);
  }

  /**
   * Edits a text message: only its sender, within `editWindowMs` (15 minutes by default) of sending, not once
   * deleted. Every member who has the message gets the change (an inbox entry, live or on sync); its ticks stay.
   *
   * @param userId - the sender
   * @param messageId - the message
   * @param text - the new text, checked as a send's
   * @param options - `clientChangeId`, the change's idempotency key
   * @returns the message as it is now (`editedAt` set)
   * @throws ValidationError, NotFoundError, PermissionError — see `MessageActions.edit`
   *
   * @example
   * ```ts
   * import { ChatSystem } from 'chat-room'
   * const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'See you at 7' })
   * await chat.editMessage('alice', m.id, 'See you at 8')
   * ```
   */
  async editMessage(
    userId: string,
    messageId: string,
    text: string,
    options: ChangeOptions = {},
  ): Promise<MessageData> {
    return this.#settled(this.#parts.actions.edit(userId, messageId, text, options));
  }

  /**
   * Deletes a message for everyone (its sender within `deleteWindowMs`, 48 hours by default, or a group admin at
   * any time: a tombstone in every store, its photo erased) or, with `forEveryone: false`, for the user only (gone
   * from their history on all their devices).
   *
   * @param userId - who deletes
   * @param messageId - the message
   * @param options - `forEveryone`, and `clientChangeId`
   * @returns the message as it is now
   * @throws ValidationError, NotFoundError, PermissionError — see `MessageActions.delete`
   */
  async deleteMessage(userId: string, messageId: string, options: DeleteOptions): Promise<MessageData> {
    return this.#settled(this.#parts.actions.delete(userId, messageId, options));
  }

  /**
   * Sets a member's reaction to a message: one emoji per user (a new one replaces it), `null` takes it back. A
   * reaction reaches every member's devices, but makes no push, no unread count and no move in the chat list.
   *
   * @param userId - who reacts
   * @param messageId - the message
   * @param emoji - exactly one emoji, or `null`
   * @param options - `clientChangeId`
   * @returns the message as it is now
   * @throws ValidationError, NotFoundError, PermissionError — see `MessageActions.react`
   */
  async react(
    userId: string,
    messageId: string,
    emoji: string | null,
    options: ChangeOptions = {},
  ): Promise<MessageData> {
    return this.#settled(this.#parts.actions.react(userId, messageId, emoji, options));
  }

  /**
   * A page of a thread's history, newest first: messages older than `before` (a seq), at most `limit` (default
   * 50, at most 200), only since the user joined, without those they deleted for themselves.
   *
   * @param userId - who reads
   * @param threadId - the thread
   * @param options - `before` and `limit`
   * @throws ValidationError when an option is out of range
   * @throws NotFoundError when the thread is unknown or the user not in it (the same error either way)
   */
  history(userId: string, threadId: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    return this.#parts.actions.history(userId, threadId, options);
  }

  /** Resolves with what a change answered once in-process devices applied it. */
  async #settled<T>(work: Promise<T>): Promise<T> {
    const result = await this.#parts.tasks.track(work);
    await this.#parts.tasks.idle();
    return result;
  }

  /**
   * Creates a group; its creator is owner and admin.
   *
   * @param init - owner, name, members, optional size limit
   * @throws NotFoundError when a member is unknown
   * @throws ValidationError when the group is malformed
   */
  createGroup(init: NewGroup): Group {
    return this.#parts.conversations.createGroup(init);
  }

  /**
   * A group by id.
   *
   * @param groupId - the group
   * @throws NotFoundError when there is no such group
   */
  getGroup(groupId: string): Group {
    return this.#parts.conversations.group(groupId);
  }

  /**
   * Adds members to a group (admins only).
   *
   * @param actorId - the admin
   * @param groupId - the group
   * @param userIds - who joins
   * @throws PermissionError, NotFoundError, ConflictError, ValidationError
   */
  addGroupMembers(actorId: string, groupId: string, userIds: readonly string[]): readonly string[] {
    return this.#parts.conversations.addMembers(actorId, groupId, userIds);
  }

  /**
   * Removes a member from a group (admins only; only the owner removes admins).
   *
   * @param actorId - the admin
   * @param groupId - the group
   * @param userId - who is removed
   * @throws PermissionError, NotFoundError
   */
  removeGroupMember(actorId: string, groupId: string, userId: string): void {
    this.#parts.conversations.removeMember(actorId, groupId, userId);
  }

  /**
   * A member leaves a group.
   *
   * @param userId - who leaves
   * @param groupId - the group
   * @throws NotFoundError
   */
  leaveGroup(userId: string, groupId: string): void {
    this.#parts.conversations.leave(userId, groupId);
  }

  /**
   * Makes a member an admin (admins only).
   *
   * @param actorId - the admin
   * @param groupId - the group
   * @param userId - the member
   * @throws PermissionError, NotFoundError
   */
  promoteGroupMember(actorId: string, groupId: string, userId: string): boolean {
    return this.#parts.conversations.promote(actorId, groupId, userId);
  }

  /**
   * The id of the direct thread between two users (the thread is created if it does not exist yet).
   *
   * @param a - one user
   * @param b - the other
   * @throws NotFoundError when a user is unknown
   */
  directThreadId(a: string, b: string): string {
    return this.#parts.conversations.directThread(a, b).id;
  }

  /**
   * The id of a group's thread.
   *
   * @param groupId - the group
   * @throws NotFoundError when there is no such group
   */
  groupThreadId(groupId: string): string {
    return this.#parts.conversations.groupThread(groupId).id;
  }

  /**
   * A user's chat feed: threads by latest activity, pinned first, with unread counts; `top(k, { archived: true })`
   * reads the archive. Change pins, marks and the archive with `pinThread`, `markThreadUnread` and
   * `archiveThread`, which save them and tell the user's devices; a change made on the feed itself does neither.
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  getFeed(userId: string): ChatFeed {
    this.#parts.users.get(userId);
    return this.#parts.feeds.feedOf(userId);
  }

  /**
   * Pins a thread to the top of a user's chat list, or unpins it; pinning brings an archived thread back. Saved
   * with the directory, and the user's connected devices get `feed.changed`.
   *
   * @param userId - the user
   * @param threadId - a thread of theirs that is in their chat list
   * @param pinned - pin (true) or unpin (false)
   * @returns the thread's entry as it is now
   * @throws ValidationError when an argument is malformed
   * @throws NotFoundError when the thread does not exist or the user is not in it (the same error either way), or
   *   it is not in their chat list yet
   *
   * @example
   * ```ts
   * import { ChatSystem } from 'chat-room'
   * const chat = ChatSystem.create()
   * chat.registerUser({ id: 'alice', name: 'Alice' })
   * chat.registerUser({ id: 'bob', name: 'Bob' })
   * const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hi' })
   * chat.pinThread('bob', m.threadId, true).pinned // true
   * ```
   */
  pinThread(userId: string, threadId: string, pinned: boolean): FeedEntry {
    return this.#parts.feeds.setPinned(userId, threadId, pinned);
  }

  /**
   * Marks a thread unread for a user (it shows at least 1 unread until they read it), or clears the mark. Saved
   * with the directory, and the user's connected devices get `feed.changed`.
   *
   * @param userId - the user
   * @param threadId - a thread of theirs that is in their chat list
   * @param unread - mark (true) or clear the mark (false)
   * @returns the thread's entry as it is now
   * @throws ValidationError, NotFoundError as `pinThread`
   */
  markThreadUnread(userId: string, threadId: string, unread: boolean): FeedEntry {
    return this.#parts.feeds.setMarkedUnread(userId, threadId, unread);
  }

  /**
   * Archives a thread for a user (out of the main list, unpinned; new messages keep it archived), or brings it
   * back. Saved with the directory, and the user's connected devices get `feed.changed`.
   *
   * @param userId - the user
   * @param threadId - a thread of theirs that is in their chat list
   * @param archived - archive (true) or unarchive (false)
   * @returns the thread's entry as it is now
   * @throws ValidationError, NotFoundError as `pinThread`
   */
  archiveThread(userId: string, threadId: string, archived: boolean): FeedEntry {
    return this.#parts.feeds.setArchived(userId, threadId, archived);
  }

  /** Resolves once nothing is in flight in this process (sends, receipts, syncs, directory writes). */
  async idle(): Promise<void> {
    do {
      await this.#parts.tasks.idle();
      await this.#parts.journal?.flush();
    } while (this.#parts.tasks.size > 0 || (this.#parts.journal?.pending ?? 0) > 0);
  }

  /** Waits for work in flight, then disconnects every device. */
  async close(): Promise<void> {
    await this.idle();
    await this.transport.close();
    this.presence.close();
    await this.#parts.media?.close();
  }
}
