import type { MessageData, MessageStatus } from '../../domain';
import { Message } from '../../domain';
import type { TaskTracker } from '../../util/task-tracker';
import type { NotificationCenter } from '../notification-center';
import type { DeliveryService } from './delivery-service';

/**
 * The messages an app holds after sending them in process: each `Message` handle's status follows the receipts
 * its thread gets, for as long as the app keeps the handle (the service holds them weakly).
 *
 * Pattern: Observer — handles are updated from the `receipt` events of the `NotificationCenter`.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hi' }) // a handle from LiveMessages
 * m.status // 'sent', then 'delivered' and 'read' as receipts arrive
 * ```
 */
export class LiveMessages {
  readonly #delivery: DeliveryService;
  readonly #tasks: TaskTracker;
  readonly #handles = new Map<string, WeakRef<Message>[]>();

  /**
   * Follows receipts.
   *
   * @param delivery - what tells a message's status now
   * @param events - where receipts are published
   * @param tasks - the work in flight, which a new handle waits for
   */
  constructor(delivery: DeliveryService, events: NotificationCenter, tasks: TaskTracker) {
    this.#delivery = delivery;
    this.#tasks = tasks;
    events.on('receipt', (r) => this.#advance(r.userId, r.threadId, r.status, r.upToSeq));
  }

  /**
   * A handle on a stored message, returned once in-process delivery has settled.
   *
   * @param message - the stored message
   */
  async handle(message: MessageData): Promise<Message> {
    const handle = new Message(message, this.#delivery.statusOf(message));
    const handles = this.#handles.get(message.threadId) ?? [];
    handles.push(new WeakRef(handle));
    this.#handles.set(message.threadId, handles);
    await this.#tasks.idle();
    handle.advanceStatus(this.#delivery.statusOf(message));
    return handle;
  }

  #advance(senderId: string, threadId: string, status: MessageStatus, upToSeq: number): void {
    const handles = this.#handles.get(threadId);
    if (handles === undefined) return;
    const kept = handles.filter((ref) => {
      const m = ref.deref();
      if (m === undefined) return false;
      if (m.senderId === senderId && m.seq <= upToSeq) m.advanceStatus(status);
      return m.status !== 'read';
    });
    if (kept.length === 0) this.#handles.delete(threadId);
    else this.#handles.set(threadId, kept);
  }
}
