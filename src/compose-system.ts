import { randomUUID } from 'node:crypto';
import type { MediaLimits } from './domain';
import { requireObject } from './domain';
import type {
  CameraController,
  Clock,
  DirectoryStore,
  ImageProcessor,
  MediaStore,
  MessageStore,
  PresenceStore,
  PushNotifier,
} from './ports';
import {
  InMemoryMediaStore,
  InMemoryMessageStore,
  InMemoryPresenceStore,
  InMemoryPushNotifier,
  InMemoryTransport,
  SystemClock,
} from './adapters/in-memory';
import type { DeliveryLimits, GlobalSearchLimits, PresencePolicy, PresencePolicyName } from './services';
import {
  ContactDirectory,
  ConversationDirectory,
  DeliveryService,
  DirectoryJournal,
  DirectoryRelations,
  FeedService,
  LiveMessages,
  MediaService,
  MessageActions,
  NotificationCenter,
  PeopleSearch,
  PresenceService,
  RestoreService,
  SessionGateway,
  SessionOutbox,
  SessionRegistry,
  SettingsService,
  TypingRelay,
  UserDirectory,
  createPresencePolicy,
} from './services';
import { LocalDevices } from './session';
import { TaskTracker } from './util/task-tracker';

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
  /** How long an uploaded photo no message refers to is kept, in ms (default one hour); sent photos stay. */
  readonly uploadTtlMs?: number;
  /** The device camera and gallery the app uses (the seed's camera access control). */
  readonly camera?: CameraController;
  /** Limits on global contact search (shortest word, most results, searches per user per minute). */
  readonly globalSearch?: Partial<GlobalSearchLimits>;
  /** How long after sending its sender may edit a text message (ms). Default 15 minutes. */
  readonly editWindowMs?: number;
  /** How long after sending its sender may delete a message for everyone (ms); admins any time. Default 48 hours. */
  readonly deleteWindowMs?: number;
}

/** Every part of a composed system: the ports it runs on and the services built over them. */
export interface SystemParts {
  readonly clock: Clock;
  readonly store: MessageStore;
  readonly pushNotifier: PushNotifier;
  readonly transport: InMemoryTransport;
  readonly camera: CameraController | undefined;
  readonly events: NotificationCenter;
  readonly tasks: TaskTracker;
  readonly users: UserDirectory;
  readonly contacts: ContactDirectory;
  /** Who may find whom: a user's contacts, or the discoverable users (global). */
  readonly people: PeopleSearch;
  readonly conversations: ConversationDirectory;
  readonly settings: SettingsService;
  /** Writes the directory behind the services, when there is a directory store. */
  readonly journal: DirectoryJournal | undefined;
  readonly sessions: SessionRegistry;
  readonly presence: PresenceService;
  readonly feeds: FeedService;
  readonly delivery: DeliveryService;
  /** Edits, deletes, reactions and history. */
  readonly actions: MessageActions;
  readonly live: LiveMessages;
  /** The photo service, when there is an image processor. */
  readonly media: MediaService | undefined;
  /** Puts back what the stores hold, when there is a directory store. */
  readonly restorer: RestoreService | undefined;
  readonly gateway: SessionGateway;
  /** Forwards typing (blocks, expiry, throttle). */
  readonly typing: TypingRelay;
  readonly devices: LocalDevices;
}

/**
 * Builds a system's services from its ports, in one place: every dependency is passed in here, and every
 * reaction of one service to another's events is subscribed here or in the subscriber's constructor.
 * `ChatSystem` is the facade over what this returns.
 *
 * Pattern: Composition root — the only place that knows every concrete part.
 *
 * @param deps - the ports to use instead of the in-memory defaults
 * @throws ValidationError when a limit is malformed
 *
 * @example
 * ```ts
 * import { composeSystem } from 'chat-room'
 * const parts = composeSystem()
 * parts.users.register({ id: 'alice', name: 'Alice' })
 * ```
 */
export function composeSystem(deps: ChatSystemDeps = {}): SystemParts {
  requireObject(deps, 'deps');
  const clock = deps.clock ?? new SystemClock();
  const store = deps.store ?? new InMemoryMessageStore();
  const pushNotifier = deps.pushNotifier ?? new InMemoryPushNotifier();
  const transport = deps.transport ?? new InMemoryTransport({ clock });
  const newId = deps.newId ?? randomUUID;
  const events = new NotificationCenter();
  const tasks = new TaskTracker();

  // The directory wing.
  const users = new UserDirectory(events);
  const contacts = new ContactDirectory();
  const conversations = new ConversationDirectory(users, events, newId);
  const settings = new SettingsService(clock, users, events);
  const people = new PeopleSearch({
    contacts,
    users,
    settings,
    clock,
    ...(deps.globalSearch === undefined ? {} : { limits: deps.globalSearch }),
  });

  // The presence wing: who is connected, and who hears of it.
  const sessions = new SessionRegistry(clock, events, deps.awayWindowMs ?? 10 * 60_000);
  const outbox = new SessionOutbox(sessions);
  // The chat lists (a delivery part) come first: the journal writes each user's choices (pins, ...) from them.
  const feeds = new FeedService(conversations, events, outbox);
  const journal =
    deps.directoryStore === undefined
      ? undefined
      : new DirectoryJournal({
          store: deps.directoryStore,
          events,
          tasks,
          users,
          conversations,
          settings,
          pushDevices: sessions,
          feeds,
        });
  const policy = deps.presencePolicy ?? 'interest';
  const presence = new PresenceService({
    clock,
    store: deps.presenceStore ?? new InMemoryPresenceStore({ clock }),
    policy: typeof policy === 'string' ? createPresencePolicy(policy) : policy,
    relations: new DirectoryRelations(users, settings),
    sessions,
    events,
    outbox,
    tasks,
    ...(deps.idleAfterMs === undefined ? {} : { idleAfterMs: deps.idleAfterMs }),
  });
  // Sending, reading and changing a message are activity: the user is not idle.
  events.on('message-stored', (e) => presence.activity(e.message.senderId));
  events.on('read', (e) => presence.activity(e.userId));
  events.on('message-changed', (e) => presence.activity(e.change.userId));

  // The delivery wing.
  const delivery = new DeliveryService({
    store,
    clock,
    users,
    conversations,
    sessions,
    settings,
    feeds,
    push: pushNotifier,
    outbox,
    events,
    limits: deps.limits ?? {},
    newClientMessageId: () => randomUUID(),
    tasks,
    journal,
  });
  const actions = new MessageActions({
    store,
    clock,
    users,
    conversations,
    feeds,
    outbox,
    events,
    maxTextLength: delivery.limits.maxTextLength,
    windows: {
      ...(deps.editWindowMs === undefined ? {} : { editWindowMs: deps.editWindowMs }),
      ...(deps.deleteWindowMs === undefined ? {} : { deleteWindowMs: deps.deleteWindowMs }),
    },
    newClientChangeId: () => randomUUID(),
  });
  const live = new LiveMessages(delivery, events, tasks);
  const restorer =
    deps.directoryStore === undefined
      ? undefined
      : new RestoreService({
          directoryStore: deps.directoryStore,
          store,
          users,
          contacts,
          conversations,
          settings,
          sessions,
          delivery,
          feeds,
        });

  // The media wing.
  const media =
    deps.imageProcessor === undefined
      ? undefined
      : new MediaService({
          store: deps.mediaStore ?? new InMemoryMediaStore(),
          processor: deps.imageProcessor,
          clock,
          newId: () => randomUUID(),
          ...(deps.mediaLimits === undefined ? {} : { limits: deps.mediaLimits }),
          ...(deps.uploadTtlMs === undefined ? {} : { uploadTtlMs: deps.uploadTtlMs }),
          messaging: { delivery, conversations, users, tasks },
          // A message deleted for everyone takes its photo and thumbnail with it.
          events,
        });

  // The sessions wing: the edge that speaks frames, and the devices connected in process.
  const typing = new TypingRelay({ clock, conversations, settings, sessions, outbox, events });
  const gateway = new SessionGateway({
    delivery,
    actions,
    presence,
    conversations,
    settings,
    feeds,
    people,
    typing,
    media,
    sessions,
    outbox,
    users,
    tasks,
    journal,
  });
  transport.listen(gateway);
  const devices = new LocalDevices({ transport, clock, users, events, tasks });

  return {
    clock,
    store,
    pushNotifier,
    transport,
    camera: deps.camera,
    events,
    tasks,
    users,
    contacts,
    people,
    conversations,
    settings,
    journal,
    sessions,
    presence,
    feeds,
    delivery,
    actions,
    live,
    media,
    restorer,
    gateway,
    typing,
    devices,
  };
}
