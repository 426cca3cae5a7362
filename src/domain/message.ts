/** What a message carries. Text for now; photos join as another kind. */
export type MessageKind = 'text';

/**
 * The ticks the sender sees: `sent` (stored, one check), `delivered` (on the recipient's device, two checks),
 * `read` (seen, two blue checks). In a group each step needs every member.
 */
export type MessageStatus = 'sent' | 'delivered' | 'read';

const STATUS_RANK: Readonly<Record<MessageStatus, number>> = { sent: 0, delivered: 1, read: 2 };

/**
 * Compares two statuses in tick order.
 *
 * @param a - one status
 * @param b - another status
 * @returns a negative number when `a` comes before `b`, zero when equal, positive after
 */
export function compareStatus(a: MessageStatus, b: MessageStatus): number {
  return STATUS_RANK[a] - STATUS_RANK[b];
}

/** The stored fields of a message, as they travel in frames and sit in stores. */
export interface MessageData {
  /** Unique id, assigned by the store. */
  readonly id: string;
  /** The conversation it belongs to. */
  readonly threadId: string;
  /** Its place in the thread's total order (1, 2, 3, ...). */
  readonly seq: number;
  /** The authenticated user who sent it. */
  readonly senderId: string;
  /** What it carries. */
  readonly kind: MessageKind;
  /** The text. */
  readonly text: string;
  /** The sender's idempotency key: a retried send with the same key stores nothing new. */
  readonly clientMessageId: string;
  /** When the server stored it (ms since the epoch, from the injected clock). */
  readonly sentAt: number;
}

/**
 * A message with the status its sender sees, which only moves forward: sent → delivered → read.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'Hello Gainlo' })
 * m.status // 'sent', then 'delivered' and 'read' as receipts arrive
 * ```
 */
export class Message implements MessageData {
  readonly id: string;
  readonly threadId: string;
  readonly seq: number;
  readonly senderId: string;
  readonly kind: MessageKind;
  readonly text: string;
  readonly clientMessageId: string;
  readonly sentAt: number;
  #status: MessageStatus;

  /**
   * Wraps stored message data.
   *
   * @param data - the stored fields
   * @param status - the status known so far
   */
  constructor(data: MessageData, status: MessageStatus = 'sent') {
    this.id = data.id;
    this.threadId = data.threadId;
    this.seq = data.seq;
    this.senderId = data.senderId;
    this.kind = data.kind;
    this.text = data.text;
    this.clientMessageId = data.clientMessageId;
    this.sentAt = data.sentAt;
    this.#status = status;
  }

  /** The sender, named as in a send (`{ from, to }`); the same as `senderId`. */
  get from(): string {
    return this.senderId;
  }

  /** The ticks the sender sees now. */
  get status(): MessageStatus {
    return this.#status;
  }

  /**
   * Moves the status forward; a status that is not ahead of the current one changes nothing.
   *
   * @param status - the status reached
   * @returns whether the status changed
   */
  advanceStatus(status: MessageStatus): boolean {
    if (compareStatus(status, this.#status) <= 0) return false;
    this.#status = status;
    return true;
  }

  /** The plain fields, with the status. */
  toJSON(): MessageData & { status: MessageStatus } {
    return {
      id: this.id,
      threadId: this.threadId,
      seq: this.seq,
      senderId: this.senderId,
      kind: this.kind,
      text: this.text,
      clientMessageId: this.clientMessageId,
      sentAt: this.sentAt,
      status: this.#status,
    };
  }
}
