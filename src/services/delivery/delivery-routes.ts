import type { ChatThread, InboxEntry, MessageData } from '../../domain';
import { messagePreview } from '../../domain';
import type { PushNotifier } from '../../ports';
import type { DeviceOutbox } from '../device-outbox';
import type { ConversationDirectory, SettingsService, UserDirectory } from '../directory';
import type { NotificationCenter, RecipientState } from '../notification-center';
import type { SessionRegistry } from '../presence';
import type { FeedService } from './feed-service';

/** What a route needs to know about one recipient of one stored message. */
export interface RouteContext {
  readonly userId: string;
  readonly entry: InboxEntry;
  readonly message: MessageData;
  readonly thread: ChatThread;
  /** The session the message came from: its ack stands for the sender's own entry, so it is skipped. */
  readonly originSessionId?: string | undefined;
}

/**
 * How a stored message reaches a recipient in one state. The message is already in the recipient's inbox, so
 * a route can only make it arrive sooner; it cannot lose it.
 *
 * Pattern: Strategy — one route per recipient state, chosen at run time by `DeliveryService`.
 */
export interface DeliveryRoute {
  readonly state: RecipientState;
  /** Routes the entry; a route with work left to wait for (a push) returns a promise of it. */
  deliver(context: RouteContext): Promise<void> | void;
}

/** Online: every foreground session gets the entry now, except the one that sent the message (it has the ack). */
export class OnlineRoute implements DeliveryRoute {
  readonly state = 'online';
  readonly #outbox: DeviceOutbox;

  /**
   * Creates the route.
   *
   * @param outbox - where entries for connected devices go
   */
  constructor(outbox: DeviceOutbox) {
    this.#outbox = outbox;
  }

  deliver({ userId, entry, originSessionId }: RouteContext): void {
    this.#outbox.toUser(userId, { kind: 'entry', entry }, originSessionId);
  }
}

/** What the away route composes. */
export interface AwayRouteDeps {
  readonly sessions: SessionRegistry;
  readonly push: PushNotifier;
  readonly settings: SettingsService;
  readonly users: UserDirectory;
  readonly conversations: ConversationDirectory;
  readonly feeds: FeedService;
  readonly events: NotificationCenter;
}

/**
 * Away: a push notification to each of the user's push devices, unless the thread is muted; the message waits
 * in the inbox until a session syncs. A failed push is published, never thrown: the message is already safe.
 */
export class AwayRoute implements DeliveryRoute {
  readonly state = 'away';
  readonly #deps: AwayRouteDeps;

  /**
   * Creates the route.
   *
   * @param deps - sessions, push service, settings, directories, feeds and events
   */
  constructor(deps: AwayRouteDeps) {
    this.#deps = deps;
  }

  async deliver({ userId, message, thread }: RouteContext): Promise<void> {
    const { sessions, push, settings, users, conversations, feeds, events } = this.#deps;
    if (settings.isMuted(userId, thread.id)) return;
    const sender = users.get(message.senderId).name;
    const title = thread.kind === 'group' ? `${sender} @ ${conversations.titleOf(thread, userId)}` : sender;
    const body = settings.previews(userId) ? messagePreview(message, 200) : 'New message';
    const badge = feeds.totalUnread(userId);
    await Promise.all(
      sessions.pushTargets(userId).map(async (deviceId) => {
        const notification = {
          userId,
          deviceId,
          threadId: thread.id,
          messageId: message.id,
          title,
          body,
          badge,
        };
        try {
          await push.send(notification);
          events.publish('push', notification);
        } catch (error) {
          events.publish('push-failed', { notification, error });
        }
      }),
    );
  }
}

/** Offline: nothing to do now; the inbox keeps the message until a session connects and syncs. */
export class OfflineRoute implements DeliveryRoute {
  readonly state = 'offline';

  deliver(): void {}
}
