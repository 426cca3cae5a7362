import type { MediaRef } from './media';
import { frozenMediaRef } from './media';

/** What a message carries: text, or a photo (with an optional caption in `text`). */
export type MessageKind = 'text' | 'photo';

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

/**
 * A message as one line for a chat list or a notification: its text, or "📷 Photo" and the caption.
 *
 * @param message - the message
 * @param max - the longest line (an ellipsis ends a cut one)
 *
 * @example
 * ```ts
 * import { messagePreview } from 'chat-room'
 * messagePreview({ kind: 'photo', text: 'the view' }) // '📷 the view'
 * ```
 */
export function messagePreview(
  message: Pick<MessageData, 'kind' | 'text'> & { readonly deletedAt?: number | undefined },
  max = 80,
): string {
  if (message.deletedAt !== undefined) return DELETED_PREVIEW;
  const line = message.kind === 'photo' ? `📷 ${message.text === '' ? 'Photo' : message.text}` : message.text;
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** What a chat list or a notification shows for a message deleted for everyone. */
export const DELETED_PREVIEW = '🚫 This message was deleted';

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
  /** The text; for a photo, its caption (possibly empty). */
  readonly text: string;
  /** The photo of a `photo` message. */
  readonly media?: MediaRef;
  /** The sender's idempotency key: a retried send with the same key stores nothing new. */
  readonly clientMessageId: string;
  /** When the server stored it (ms since the epoch, from the injected clock). */
  readonly sentAt: number;
  /** The message this one answers (same thread), quoted so it renders without another lookup. */
  readonly replyTo?: ReplyQuote;
  /** When the sender last edited the text (ms); ticks do not reset. */
  readonly editedAt?: number;
  /** When it was deleted for everyone (ms): a tombstone whose text and photo are erased from every store. */
  readonly deletedAt?: number;
  /** Reactions: each emoji with the users who chose it, one emoji per user; absent when there are none. */
  readonly reactions?: Readonly<Record<string, readonly string[]>>;
}

/** What a reply shows of the message it answers. */
export interface ReplyQuote {
  readonly messageId: string;
  readonly senderId: string;
  readonly kind: MessageKind;
  /** The first characters of its text ({@link REPLY_PREVIEW_LENGTH}); empty once it was deleted. */
  readonly preview: string;
  /** True once the quoted message was deleted for everyone ("deleted message"). */
  readonly deleted?: boolean;
}

/** How many characters of the answered message a reply quotes. */
export const REPLY_PREVIEW_LENGTH = 100;

/**
 * A message's id: its thread's id and its seq there, `<thread id>#<seq>`. Every store gives ids in this form, so
 * a store can find a message by its id in its thread, without an index of ids.
 *
 * @param threadId - the thread
 * @param seq - the message's seq in it
 */
export function messageId(threadId: string, seq: number): string {
  return `${threadId}#${seq}`;
}

/**
 * The thread and seq a message id names, or `undefined` for a string that is not an id {@link messageId} gives
 * (`t#01`, `t#0`, `t`): such a string names no message.
 *
 * @param id - a message id
 */
export function parseMessageId(id: string): { threadId: string; seq: number } | undefined {
  const hash = id.lastIndexOf('#');
  if (hash <= 0) return undefined;
  const digits = id.slice(hash + 1);
  const seq = Number(digits);
  if (!Number.isSafeInteger(seq) || seq < 1 || String(seq) !== digits) return undefined;
  return { threadId: id.slice(0, hash), seq };
}

/**
 * A frozen copy of a message (its media copied too), so neither the caller nor a later reader can change what a
 * store keeps. Built field by field, so the copy holds the message's fields and nothing else the object carried.
 *
 * @param m - the message to copy
 */
export function frozenMessage(m: MessageData): MessageData {
  const copy: Mutable<MessageData> = {
    id: m.id,
    threadId: m.threadId,
    seq: m.seq,
    senderId: m.senderId,
    kind: m.kind,
    text: m.text,
    clientMessageId: m.clientMessageId,
    sentAt: m.sentAt,
  };
  if (m.media !== undefined) copy.media = frozenMediaRef(m.media);
  if (m.replyTo !== undefined) copy.replyTo = Object.freeze(Object.assign({}, m.replyTo));
  if (m.editedAt !== undefined) copy.editedAt = m.editedAt;
  if (m.deletedAt !== undefined) copy.deletedAt = m.deletedAt;
  if (m.reactions !== undefined) copy.reactions = frozenReactions(m.reactions);
  return Object.freeze(copy);
}

/** A frozen copy of a message's reactions. */
function frozenReactions(
  reactions: Readonly<Record<string, readonly string[]>>,
): Readonly<Record<string, readonly string[]>> {
  return Object.freeze(
    Object.fromEntries(Object.entries(reactions).map(([emoji, users]) => [emoji, Object.freeze([...users])])),
  );
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A message with the status its sender sees, which only moves forward: sent → delivered → read. Its content is
 * fixed: a device shows an edit, a delete or a reaction as a new `Message` made from `applyMessageChange`, with the
 * same status.
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
  readonly media?: MediaRef;
  readonly clientMessageId: string;
  readonly sentAt: number;
  readonly replyTo?: ReplyQuote;
  readonly editedAt?: number;
  readonly deletedAt?: number;
  readonly reactions?: Readonly<Record<string, readonly string[]>>;
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
    if (data.media !== undefined) this.media = data.media;
    this.clientMessageId = data.clientMessageId;
    this.sentAt = data.sentAt;
    if (data.replyTo !== undefined) this.replyTo = Object.freeze(Object.assign({}, data.replyTo));
    if (data.editedAt !== undefined) this.editedAt = data.editedAt;
    if (data.deletedAt !== undefined) this.deletedAt = data.deletedAt;
    if (data.reactions !== undefined) this.reactions = frozenReactions(data.reactions);
    this.#status = status;
  }

  /** The sender, named as in a send (`{ from, to }`); the same as `senderId`. */
  get from(): string {
    return this.senderId;
  }

  /** Whether it was deleted for everyone: a tombstone ("This message was deleted"). */
  get deleted(): boolean {
    return this.deletedAt !== undefined;
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
      ...(this.media === undefined ? {} : { media: this.media }),
      clientMessageId: this.clientMessageId,
      sentAt: this.sentAt,
      ...(this.replyTo === undefined ? {} : { replyTo: this.replyTo }),
      ...(this.editedAt === undefined ? {} : { editedAt: this.editedAt }),
      ...(this.deletedAt === undefined ? {} : { deletedAt: this.deletedAt }),
      ...(this.reactions === undefined ? {} : { reactions: this.reactions }),
      status: this.#status,
    };
  }
}
