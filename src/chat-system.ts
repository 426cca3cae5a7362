import { randomUUID } from 'node:crypto';
import type {
  ChatFeed,
  Group,
  MessageData,
  Watermark,
  MessageStatus,
  PresenceRecord,
  PresenceStatus,
  ReceiptDetail,
  User,
  UserProfile,
} from './domain';
import type { MediaInfo, MediaLimits } from './domain';
import {
  Message,
  NotFoundError,
  PermissionError,
  ValidationError,
  maySeePresence,
  requireId,
  requireObject,
  requireSeq,
  toMediaRef,
} from './domain';
import type {
  CameraController,
  CapturedImage,
  Clock,
  DirectoryStore,
  ImageProcessor,
  MediaStore,
  MessageStore,
  PresenceStore,
  PushNotifier,
  Transport,
} from './ports';
import {
  InMemoryMediaStore,
  InMemoryMessageStore,
  InMemoryPresenceStore,
  InMemoryPushNotifier,
  InMemoryTransport,
  SystemClock,
} from './adapters/in-memory';
import type {
  ContactMatch,
  DeliveryLimits,
  NewGroup,
  PresencePolicy,
  PresencePolicyName,
  RecipientState,
  SendInput,
  SettingsController,
} from './services';
import {
  ContactDirectory,
  MediaService,
  PresenceService,
  createPresencePolicy,
  ConversationDirectory,
  DEFAULT_DELIVERY_LIMITS,
  DirectoryJournal,
  DeliveryService,
  FeedService,
  NotificationCenter,
  SessionGateway,
  SessionRegistry,
  SettingsService,
  UserDirectory,
} from './services';
import { ChatSession } from './session';
import { TaskTracker } from './util/task-tracker';

/** The most unread messages per thread a restart counts again (a feed shows more as "999+" anyway). */
const RESTORE_UNREAD = 1000;

/** What a `ChatSystem` is composed of; every part has an in-memory default. */
export interface ChatSystemDeps {
  /** Time; inject a `ManualClock` in tests. */
  readonly clock?: Clock;
  /** Where messages, inboxes and receipts are kept. */
  readonly store?: MessageStore;
  /**
   * Where users, contacts, groups, settings and direct threads are kept. Without one the directory lives in
   * memory only. Use `ChatSystem.open` to load what it holds.
   */
  readonly directoryStore?: DirectoryStore;
  /** Where push notifications go. */
  readonly pushNotifier?: PushNotifier;
  /** The in-process transport `connect()` uses; inject one to add faults. */
  readonly transport?: InMemoryTransport;
  /** Makes group ids (a random UUID by default). */
  readonly newId?: () => string;
  /** Limits on message size and sync pages. */
  readonly limits?: Partial<DeliveryLimits>;
  /** How long after its last connection a push-registered device keeps its user 'away' (ms). Default 10 min. */
  readonly awayWindowMs?: number;
  /** Where presence is kept for every node to read. */
  readonly presenceStore?: PresenceStore;
  /** How presence changes reach others: a policy, or one's name (default `'interest'`). */
  readonly presencePolicy?: PresencePolicy | PresencePolicyName;
  /** How long without activity makes an online user idle (ms). Default 5 minutes. */
  readonly idleAfterMs?: number;
  /** Where photos are kept. */
  readonly mediaStore?: MediaStore;
  /** What checks and rewrites photos; without one, `sendPhoto` is refused (`SharpImageProcessor`, `chat-room/sharp`). */
  readonly imageProcessor?: ImageProcessor;
  /** Limits on photos (bytes, pixels, thumbnail size). */
  readonly mediaLimits?: Partial<MediaLimits>;
  /** The device camera and gallery the app uses (the seed's camera access control). */
  readonly camera?: CameraController;
}

/** A photo to send; exactly one of `to` and `groupId`. */
export interface SendPhotoInput {
  readonly from: string;
  readonly to?: string;
  readonly groupId?: string;
  /** The image: raw bytes, or what the camera or gallery handed over. Its type is told from the bytes. */
  readonly photo: Uint8Array | CapturedImage;
  readonly caption?: string;
  readonly clientMessageId?: string;
}

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

/**
 * The chat system: the one object an app talks to. It composes the directories, the delivery and feed services,
 * settings and notifications over the ports (store, transport, push, clock), with in-memory defaults.
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
  readonly notifications = new NotificationCenter();
  readonly clock: Clock;
  readonly store: MessageStore;
  readonly pushNotifier: PushNotifier;
  readonly transport: InMemoryTransport;
  /** Presence: who is online, idle, away or offline, and who hears of it (with its cost counters). */
  readonly presence: PresenceService;
  /** The camera and gallery, when the app has one. */
  readonly camera: CameraController | undefined;

  /** The limits photos must keep to, when the system takes photos (an image processor was given). */
  get mediaLimits(): MediaLimits | undefined {
    return this.#media?.limits;
  }

  readonly #tasks = new TaskTracker();
  readonly #users = new UserDirectory(this.notifications);
  readonly #directory = new ContactDirectory();
  readonly #conversations: ConversationDirectory;
  readonly #sessions: SessionRegistry;
  readonly #settings: SettingsService;
  readonly #feeds: FeedService;
  readonly #delivery: DeliveryService;
  readonly #gateway: SessionGateway;
  readonly #media: MediaService | undefined;
  /** Writes directory changes to the directory store, when there is one. */
  readonly #journal: DirectoryJournal | undefined;
  readonly #directoryStore: DirectoryStore | undefined;
  readonly #devices = new Map<string, Set<ChatSession>>();
  /** Messages returned by `sendMessage`, kept up to date by receipts while the app holds them. */
  readonly #live = new Map<string, WeakRef<Message>[]>();

  /**
   * Composes a system; parts not given are the in-memory defaults.
   *
   * @param deps - the parts to use instead of the defaults
   * @throws ValidationError when a limit is malformed
   */
  constructor(deps: ChatSystemDeps = {}) {
    requireObject(deps, 'deps');
    const limits = { ...DEFAULT_DELIVERY_LIMITS, ...deps.limits };
    if (!Number.isSafeInteger(limits.maxTextLength) || limits.maxTextLength < 1) {
      throw new ValidationError('limits.maxTextLength must be a positive integer');
    }
    this.clock = deps.clock ?? new SystemClock();
    this.store = deps.store ?? new InMemoryMessageStore();
    this.pushNotifier = deps.pushNotifier ?? new InMemoryPushNotifier();
    this.transport = deps.transport ?? new InMemoryTransport({ clock: this.clock });
    const newId = deps.newId ?? randomUUID;
    const events = this.notifications;
    this.#conversations = new ConversationDirectory(this.#users, events, newId);
    this.#sessions = new SessionRegistry(this.clock, events, deps.awayWindowMs ?? 10 * 60_000);
    this.#settings = new SettingsService(this.clock, this.#users, events);
    this.#directoryStore = deps.directoryStore;
    this.#journal =
      deps.directoryStore === undefined
        ? undefined
        : new DirectoryJournal({
            store: deps.directoryStore,
            events,
            tasks: this.#tasks,
            records: {
              user: (id) => {
                const user = this.#users.get(id);
                const { name, contacts, blocked } = user;
                return { id, name, contacts, blocked, pushDevices: this.#sessions.pushDevices(id) };
              },
              group: (id) => this.#conversations.group(id).toRecord(),
              settings: (userId) => this.#settings.record(userId),
              thread: (id) => {
                const { participantIds } = this.#conversations.thread(id);
                return { id, participantIds: [participantIds[0] as string, participantIds[1] as string] };
              },
            },
          });
    const journal = this.#journal;
    const directoryWritten = journal === undefined ? {} : { directoryWritten: () => journal.flush() };
    this.#feeds = new FeedService(this.#conversations, events);
    this.#delivery = new DeliveryService({
      store: this.store,
      clock: this.clock,
      users: this.#users,
      conversations: this.#conversations,
      sessions: this.#sessions,
      settings: this.#settings,
      feeds: this.#feeds,
      push: this.pushNotifier,
      events,
      limits,
      newClientMessageId: () => randomUUID(),
      tasks: this.#tasks,
      ...directoryWritten,
    });
    const policy = deps.presencePolicy ?? 'interest';
    this.presence = new PresenceService({
      clock: this.clock,
      store: deps.presenceStore ?? new InMemoryPresenceStore({ clock: this.clock }),
      policy: typeof policy === 'string' ? createPresencePolicy(policy) : policy,
      relations: {
        friendsOf: (userId) => this.#users.watchersOf(userId),
        maySee: (viewerId, subjectId) =>
          this.#users.has(subjectId) &&
          maySeePresence(this.#settings.lastSeen(subjectId), this.#users.get(subjectId).hasContact(viewerId)),
      },
      send: (sessionId, frame) => this.#gateway.sendTo(sessionId, frame),
      tasks: this.#tasks,
      ...(deps.idleAfterMs === undefined ? {} : { idleAfterMs: deps.idleAfterMs }),
    });
    this.camera = deps.camera;
    this.#media =
      deps.imageProcessor === undefined
        ? undefined
        : new MediaService({
            store: deps.mediaStore ?? new InMemoryMediaStore(),
            processor: deps.imageProcessor,
            clock: this.clock,
            newId: () => randomUUID(),
            ...(deps.mediaLimits === undefined ? {} : { limits: deps.mediaLimits }),
          });
    events.on('message-stored', (e) => this.presence.activity(e.message.senderId));
    events.on('read', (e) => this.presence.activity(e.userId));
    this.#gateway = new SessionGateway({
      delivery: this.#delivery,
      presence: this.presence,
      conversations: this.#conversations,
      settings: this.#settings,
      feeds: this.#feeds,
      directory: this.#directory,
      media: () => this.#media,
      sessions: this.#sessions,
      users: this.#users,
      store: this.store,
      events,
      tasks: this.#tasks,
      ...directoryWritten,
    });
    this.attach(this.transport);
    events.on('receipt', (r) => this.#updateLive(r.userId, r.threadId, r.status, r.upToSeq));
    events.on('push', (n) => {
      for (const s of this.#devices.get(n.userId) ?? []) if (s.deviceId === n.deviceId) s.deliverPush(n);
    });
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
    await chat.#restore();
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
    transport.listen(this.#gateway);
  }

  /**
   * Registers a user.
   *
   * @param profile - id and display name
   * @throws ValidationError when the profile is malformed
   * @throws ConflictError when the id is taken
   */
  registerUser(profile: UserProfile): User {
    const user = this.#users.register(profile);
    this.#directory.add(user);
    return user;
  }

  /**
   * Searches people to start a chat with: a case- and accent-insensitive prefix search over name words and
   * handles ("jo" finds "José Álvarez" and "Mary Jones"), exact matches first. Only the user's own contacts,
   * unless `global` asks for the whole directory.
   *
   * @param userId - who searches
   * @param query - what they typed
   * @param options - `limit` (1–100, default 20) and `global`
   * @throws NotFoundError when the user is unknown
   * @throws ValidationError when the query is blank or too long, or the limit out of range
   */
  searchContacts(
    userId: string,
    query: string,
    options: { limit?: number; global?: boolean } = {},
  ): ContactMatch[] {
    return this.#directory.searchAs(this.#users.get(userId), query, options);
  }

  /**
   * A registered user.
   *
   * @param userId - the user's id
   * @throws NotFoundError when no such user is registered
   */
  getUser(userId: string): User {
    return this.#users.get(userId);
  }

  /**
   * Whether a user is registered.
   *
   * @param userId - the user's id
   */
  hasUser(userId: string): boolean {
    return this.#users.has(userId);
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
    return this.#users.addContact(userId, contactId);
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
    return this.#users.removeContact(userId, contactId);
  }

  /**
   * Blocks a user: they can no longer message `userId` directly.
   *
   * @param userId - who blocks
   * @param blockedId - who is blocked
   * @throws NotFoundError when either user is unknown
   */
  block(userId: string, blockedId: string): boolean {
    return this.#users.block(userId, blockedId);
  }

  /**
   * Lifts a block.
   *
   * @param userId - who blocked
   * @param blockedId - who was blocked
   */
  unblock(userId: string, blockedId: string): boolean {
    return this.#users.unblock(userId, blockedId);
  }

  /**
   * A user's settings: read receipts, previews, mutes, blocks.
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  settings(userId: string): SettingsController {
    return this.#settings.controller(userId);
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
    this.#users.get(userId);
    requireObject(options, 'options');
    const foreground = options.foreground ?? true;
    if (typeof foreground !== 'boolean') throw new ValidationError('foreground must be true or false');
    const deviceId = requireId(options.deviceId ?? 'default', 'deviceId');
    if (options.cursor !== undefined) requireSeq(options.cursor, 'cursor');
    const session = new ChatSession(this.transport, {
      userId,
      deviceId,
      foreground,
      clock: this.clock,
      tasks: this.#tasks,
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      ...(options.autoDelivered === undefined ? {} : { autoDelivered: options.autoDelivered }),
    });
    const devices = this.#devices.get(userId) ?? new Set();
    devices.add(session);
    this.#devices.set(userId, devices);
    session.once('disconnected', () => devices.delete(session));
    return session;
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
    this.#users.get(userId);
    this.#sessions.registerPushDevice(userId, requireId(deviceId, 'deviceId'));
    this.notifications.publish('record-changed', { kind: 'user', id: userId });
  }

  /**
   * A user's status now: online, idle, away or offline (what friends are told follows the presence policy).
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  presenceOf(userId: string): PresenceStatus {
    this.#users.get(userId);
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
    this.#users.get(viewerId);
    if (!Array.isArray(userIds)) throw new ValidationError('userIds must be an array of user ids');
    for (const id of userIds) this.#users.get(id);
    return this.presence.snapshot(viewerId, userIds);
  }

  /**
   * Where a message for this user goes now: online (live), away (push) or offline (kept in the inbox).
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  deliveryStateOf(userId: string): RecipientState {
    this.#users.get(userId);
    return this.#sessions.stateOf(userId);
  }

  /**
   * Sends a message as `from` (the caller vouches for who `from` is). Resolves once the message is stored
   * and in-process delivery has settled; its `status` keeps moving as receipts arrive.
   *
   * @param input - sender, `to` or `groupId`, text, optional idempotency key
   * @throws ValidationError, NotFoundError, PermissionError, ConflictError — see `DeliveryService.send`
   */
  async sendMessage(input: SendInput): Promise<Message> {
    const { message, routed } = await this.#tasks.track(this.#delivery.send(input));
    await routed;
    return this.#liveHandle(message);
  }

  /** A live handle on a sent message: its status follows receipts once in-process delivery has settled. */
  async #liveHandle(message: MessageData): Promise<Message> {
    const handle = new Message(message, this.#delivery.statusOf(message));
    const handles = this.#live.get(message.threadId) ?? [];
    handles.push(new WeakRef(handle));
    this.#live.set(message.threadId, handles);
    await this.#tasks.idle();
    handle.advanceStatus(this.#delivery.statusOf(message));
    return handle;
  }

  #requireMedia(): MediaService {
    if (this.#media === undefined) {
      throw new ValidationError(
        'this system has no image processor: create it with { imageProcessor: new SharpImageProcessor() } ' +
          "from 'chat-room/sharp'",
        { details: { reason: 'NO_IMAGE_PROCESSOR' } },
      );
    }
    return this.#media;
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
    const i = requireObject(input, 'photo message');
    const thread = this.#delivery.threadFor(i.from as string, {
      ...(i.to === undefined ? {} : { to: i.to as string }),
      ...(i.groupId === undefined ? {} : { groupId: i.groupId as string }),
    });
    const media = this.#requireMedia();
    const from = i.from as string;
    if (i.clientMessageId !== undefined) {
      const earlier = await this.#delivery.findSent(from, i.clientMessageId as string);
      if (earlier !== undefined) return this.#liveHandle(earlier); // a retry: the photo is stored already
    }
    const photo = i.photo as SendPhotoInput['photo'];
    const bytes = photo instanceof Uint8Array ? photo : photo?.bytes;
    const claimed = photo instanceof Uint8Array ? undefined : photo?.claimedType;
    const info = await media.ingest(from, bytes as Uint8Array, claimed);
    try {
      // Linked before the message exists, so no message ever points at a photo its members cannot fetch.
      await media.link(info.mediaId, thread.id);
      const { message, duplicate, routed } = await this.#tasks.track(
        this.#delivery.send({
          from,
          ...(i.to === undefined ? {} : { to: i.to as string }),
          ...(i.groupId === undefined ? {} : { groupId: i.groupId as string }),
          kind: 'photo',
          media: toMediaRef(info),
          text: (i.caption as string | undefined) ?? '',
          ...(i.clientMessageId === undefined ? {} : { clientMessageId: i.clientMessageId as string }),
        }),
      );
      if (duplicate) await media.delete(info.mediaId); // a racing retry stored the first upload
      await routed;
      return this.#liveHandle(message);
    } catch (error) {
      await media.delete(info.mediaId);
      throw error;
    }
  }

  /**
   * Uploads a photo ahead of its message (the HTTP upload route): checked, made safe and stored as `sendPhoto`
   * does, owned by the uploader, and fetchable by nobody until a photo message refers to it.
   *
   * @param userId - the uploader
   * @param bytes - the image
   * @param claimedType - the type the client claims (never trusted)
   * @throws ValidationError, PayloadTooLargeError as `sendPhoto`
   */
  uploadMedia(userId: string, bytes: Uint8Array, claimedType?: string): Promise<MediaInfo> {
    this.#users.get(userId);
    return this.#requireMedia().ingest(userId, bytes, claimedType);
  }

  /**
   * A photo's bytes (or its thumbnail's), for a member of a thread it was sent in.
   *
   * @param userId - who asks
   * @param mediaId - the photo's (or the thumbnail's) media id
   * @throws NotFoundError when there is no such photo
   * @throws PermissionError when the user is not a member of any thread it was sent in
   */
  async getMedia(userId: string, mediaId: string): Promise<{ info: MediaInfo; bytes: Uint8Array }> {
    this.#users.get(userId);
    const media = this.#requireMedia();
    const threads = await media.threads(mediaId);
    const member = threads.some((threadId) => {
      try {
        this.#conversations.requireMember(userId, this.#conversations.thread(threadId));
        return true;
      } catch {
        return false;
      }
    });
    if (!member) {
      if ((await media.info(mediaId)) === undefined) throw new NotFoundError(`no media ${mediaId}`);
      throw new PermissionError('only members of a conversation it was sent in may fetch this photo');
    }
    return media.read(mediaId);
  }

  /**
   * Marks a thread read by a user up to a seq.
   *
   * @param userId - the reader
   * @param threadId - the thread
   * @param upToSeq - the highest seq seen
   * @throws NotFoundError, PermissionError, ValidationError
   */
  async markRead(userId: string, threadId: string, upToSeq: number): Promise<void> {
    await this.#tasks.track(this.#delivery.markRead(userId, threadId, upToSeq));
    await this.#tasks.idle();
  }

  /**
   * Who received and read a message; only its sender may ask.
   *
   * @param userId - the sender
   * @param messageId - the message
   * @throws NotFoundError, PermissionError
   */
  messageInfo(
    userId: string,
    messageId: string,
  ): Promise<{ message: MessageData; status: MessageStatus; members: ReceiptDetail[] }> {
    return this.#delivery.messageInfo(userId, messageId);
  }

  /**
   * Creates a group; its creator is owner and admin.
   *
   * @param init - owner, name, members, optional size limit
   * @throws NotFoundError when a member is unknown
   * @throws ValidationError when the group is malformed
   */
  createGroup(init: NewGroup): Group {
    return this.#conversations.createGroup(init);
  }

  /**
   * A group by id.
   *
   * @param groupId - the group
   * @throws NotFoundError when there is no such group
   */
  getGroup(groupId: string): Group {
    return this.#conversations.group(groupId);
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
    return this.#conversations.addMembers(actorId, groupId, userIds);
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
    this.#conversations.removeMember(actorId, groupId, userId);
  }

  /**
   * A member leaves a group.
   *
   * @param userId - who leaves
   * @param groupId - the group
   * @throws NotFoundError
   */
  leaveGroup(userId: string, groupId: string): void {
    this.#conversations.leave(userId, groupId);
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
    return this.#conversations.promote(actorId, groupId, userId);
  }

  /**
   * The id of the direct thread between two users (the thread is created if it does not exist yet).
   *
   * @param a - one user
   * @param b - the other
   * @throws NotFoundError when a user is unknown
   */
  directThreadId(a: string, b: string): string {
    return this.#conversations.directThread(a, b).id;
  }

  /**
   * The id of a group's thread.
   *
   * @param groupId - the group
   * @throws NotFoundError when there is no such group
   */
  groupThreadId(groupId: string): string {
    return this.#conversations.groupThread(groupId).id;
  }

  /**
   * A user's chat feed: threads by latest activity, pinned first, with unread counts.
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  getFeed(userId: string): ChatFeed {
    this.#users.get(userId);
    return this.#feeds.feedOf(userId);
  }

  /** Resolves once nothing is in flight in this process (sends, receipts, syncs, directory writes). */
  async idle(): Promise<void> {
    do {
      await this.#tasks.idle();
      await this.#journal?.flush();
    } while (this.#tasks.size > 0 || (this.#journal?.pending ?? 0) > 0);
  }

  /** Waits for work in flight, then disconnects every device. */
  async close(): Promise<void> {
    await this.idle();
    await this.transport.close();
    this.presence.close();
  }

  #updateLive(senderId: string, threadId: string, status: MessageStatus, upToSeq: number): void {
    const handles = this.#live.get(threadId);
    if (handles === undefined) return;
    const kept = handles.filter((ref) => {
      const m = ref.deref();
      if (m === undefined) return false;
      if (m.senderId === senderId && m.seq <= upToSeq) m.advanceStatus(status);
      return m.status !== 'read';
    });
    if (kept.length === 0) this.#live.delete(threadId);
    else this.#live.set(threadId, kept);
  }

  /** Loads the directory, then each thread's last seq, receipts and feeds (see `open`). */
  async #restore(): Promise<void> {
    if (this.#directoryStore === undefined) return;
    const saved = await this.#directoryStore.load();
    for (const record of saved.users) {
      this.#directory.add(this.#users.restore(record));
      for (const deviceId of record.pushDevices) this.#sessions.registerPushDevice(record.id, deviceId);
    }
    for (const record of saved.groups) this.#conversations.restoreGroup(record);
    for (const record of saved.threads) this.#conversations.restoreThread(record);
    for (const record of saved.settings) this.#settings.restore(record);
    for (const thread of this.#conversations.threads()) {
      const [last, watermarks] = await Promise.all([
        this.store.lastSeq(thread.id),
        this.store.loadWatermarks(thread.id),
      ]);
      thread.observe(last);
      const members = this.#conversations.membersOf(thread);
      const readOf = (marks: readonly Watermark[]) => new Map(marks.map((w) => [w.userId, w.read]));
      const savedRead = readOf(watermarks);
      const lowestRead = Math.min(...members.map((id) => savedRead.get(id) ?? 0));
      // Unread counts come from the messages after the lowest read watermark (at most RESTORE_UNREAD of them),
      // and the newest message is always read back for the preview.
      const after = Math.max(0, Math.min(lowestRead, last - 1), last - RESTORE_UNREAD);
      const recent = last === 0 ? [] : await this.store.listMessages(thread.id, after, last, RESTORE_UNREAD);
      const marks = withOwnMessagesRead(watermarks, recent);
      this.#delivery.restoreReceipts(thread, marks);
      const read = readOf(marks);
      this.#feeds.restoreThread(thread, members, recent, (id) => read.get(id) ?? 0);
    }
  }
}

/**
 * Sending implies having read the thread up to one's own message, but the sender's watermark is saved after the
 * ack: a crash in between loses it. Raise each sender's watermark to the newest of their messages among
 * `recent` (which covers everything after the lowest saved watermark), so their own messages never hold back
 * the thread's ticks.
 */
function withOwnMessagesRead(watermarks: readonly Watermark[], recent: readonly MessageData[]): Watermark[] {
  const sent = new Map<string, MessageData>();
  for (const m of recent) sent.set(m.senderId, m); // seq order: the last one wins
  const byUser = new Map(watermarks.map((w) => [w.userId, w]));
  for (const [userId, m] of sent) {
    const w = byUser.get(userId);
    if (w !== undefined && w.read >= m.seq) continue;
    byUser.set(userId, {
      userId,
      delivered: Math.max(w?.delivered ?? 0, m.seq),
      read: m.seq,
      deliveredAt: w !== undefined && w.delivered >= m.seq ? w.deliveredAt : m.sentAt,
      readAt: m.sentAt,
      ...(w?.since === undefined ? {} : { since: w.since }),
    });
  }
  return [...byUser.values()];
}
