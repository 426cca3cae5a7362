/** A push notification for one device of a user who is away. */
export interface PushNotification {
  readonly userId: string;
  readonly deviceId: string;
  readonly threadId: string;
  readonly messageId: string;
  /** Who it is from (and in which group). */
  readonly title: string;
  /** The message text, or a neutral line when the user turned previews off. */
  readonly body: string;
  /** The user's total unread count, for the app icon. */
  readonly badge: number;
}

/**
 * Sends push notifications to devices (APNs, FCM, Web Push behind an adapter).
 *
 * @example
 * ```ts
 * import { InMemoryPushNotifier } from 'chat-room'
 * const push = new InMemoryPushNotifier()
 * await push.send({ userId: 'bob', deviceId: 'phone', threadId: 't', messageId: 'm', title: 'Alice', body: 'hi', badge: 1 })
 * push.sent.length // 1
 * ```
 */
export interface PushNotifier {
  /**
   * Sends one notification.
   *
   * @throws TransportError when the push service refuses it or cannot be reached
   */
  send(notification: PushNotification): Promise<void>;
}
