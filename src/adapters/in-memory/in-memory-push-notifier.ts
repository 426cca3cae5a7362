import type { PushNotification, PushNotifier } from '../../ports';

/**
 * A push service that keeps what it was asked to send, for examples and tests.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryPushNotifier } from 'chat-room'
 * const push = new InMemoryPushNotifier()
 * const chat = ChatSystem.create({ pushNotifier: push })
 * // ... later
 * push.sent.map(n => n.body)
 * ```
 */
export class InMemoryPushNotifier implements PushNotifier {
  readonly #sent: PushNotification[] = [];

  /** Every notification sent so far, oldest first. */
  get sent(): readonly PushNotification[] {
    return this.#sent;
  }

  async send(notification: PushNotification): Promise<void> {
    this.#sent.push(Object.freeze(Object.assign({}, notification)));
  }
}
