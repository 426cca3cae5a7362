import type { MessageChange, ReceiptData } from '../domain';
import { Message, applyMessageChange, withQuoteDeleted } from '../domain';
import { Observable } from '../util/observable';
import type { ChatSession } from './chat-session';

/** What a window tells its listeners. */
export interface ChatWindowEvents {
  [event: string]: unknown[];
  /** A message of this thread arrived on the device (from anyone, including this user's other devices). */
  message: [message: Message];
  /** This user's messages in the thread reached a status; their `status` fields are already updated. */
  receipt: [receipt: ReceiptData];
  /**
   * A message was edited, deleted or reacted to (`message` is its new version in `messages`), or hidden by this
   * user (`message` is undefined: it left `messages`). `message` is also undefined for a message the window
   * does not show.
   */
  change: [change: MessageChange, message: Message | undefined];
  /** The window was closed. */
  closed: [];
}

/**
 * One open conversation on a device: it observes its session for the thread's messages, receipts and changes and
 * keeps them in seq order with the ticks of the user's own messages. An edited message shows its new text, a
 * message deleted for everyone stays as a tombstone (`deleted`, no text, no photo), reactions follow each change,
 * and a message the user deleted for themselves leaves the list.
 *
 * Pattern: Observer — a window registers with its session and is notified of its thread's events.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const window = chat.connect('alice').openWindow(threadId)
 * window.on('receipt', () => console.log(window.messages.map(m => m.status)))
 * ```
 */
export class ChatWindow extends Observable<ChatWindowEvents> {
  readonly threadId: string;
  readonly #session: ChatSession;
  readonly #detach: () => void;
  readonly #messages: Message[] = [];
  readonly #ids = new Set<string>();
  #open = true;

  /** @internal Windows are opened with `ChatSession.openWindow`. */
  constructor(session: ChatSession, threadId: string, detach: () => void) {
    super();
    this.#session = session;
    this.threadId = threadId;
    this.#detach = detach;
  }

  /** The thread's messages seen since the window opened, in seq order. */
  get messages(): readonly Message[] {
    return this.#messages;
  }

  /** The highest seq shown (0 when empty). */
  get lastSeq(): number {
    return this.#messages[this.#messages.length - 1]?.seq ?? 0;
  }

  /** Whether the window is open. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Marks everything shown as read. */
  async markRead(): Promise<void> {
    if (this.lastSeq > 0) await this.#session.markRead(this.threadId, this.lastSeq);
  }

  /** Closes the window; it stops observing the session. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#detach();
    this.emit('closed');
    this.clearListeners();
  }

  /** @internal Called by the session. */
  receiveMessage(message: Message): void {
    if (this.#ids.has(message.id)) return;
    this.#ids.add(message.id);
    let i = this.#messages.length;
    while (i > 0 && (this.#messages[i - 1] as Message).seq > message.seq) i--;
    this.#messages.splice(i, 0, message);
    this.emit('message', message);
  }

  /** @internal Called by the session. */
  receiveChange(change: MessageChange): void {
    const i = this.#messages.findIndex((m) => m.id === change.messageId);
    const shown = i === -1 ? undefined : (this.#messages[i] as Message);
    if (change.kind === 'hide') {
      // The id stays known, so a copy that arrives later is not shown either.
      this.#ids.add(change.messageId);
      if (i !== -1) this.#messages.splice(i, 1);
      this.emit('change', change, undefined);
      return;
    }
    // A message is immutable: its new version takes its place, with the ticks it had.
    const changed =
      shown === undefined ? undefined : new Message(applyMessageChange(shown, change), shown.status);
    if (changed !== undefined) this.#messages[i] = changed;
    if (change.kind === 'delete') {
      // Replies quoting a deleted message keep who and what, not its words.
      this.#messages.forEach((m, at) => {
        if (m.replyTo?.messageId === change.messageId)
          this.#messages[at] = new Message(withQuoteDeleted(m), m.status);
      });
    }
    this.emit('change', change, changed);
  }

  /** @internal Called by the session. */
  receiveReceipt(receipt: ReceiptData): void {
    for (const m of this.#messages) {
      if (m.senderId === this.#session.userId && m.seq <= receipt.upToSeq) m.advanceStatus(receipt.status);
    }
    this.emit('receipt', receipt);
  }
}
