import type {
  InboxEntry,
  InboxItem,
  InboxPage,
  MediaRef,
  MessageChangeKind,
  MessageData,
  MessageKind,
  ReplyQuote,
  Watermark,
} from '../domain';

/** A message to store, before the store gives it an id and a seq. */
export interface NewMessage {
  readonly threadId: string;
  readonly senderId: string;
  readonly kind: MessageKind;
  readonly text: string;
  /** The photo of a `photo` message. */
  readonly media?: MediaRef;
  readonly clientMessageId: string;
  readonly sentAt: number;
  /** Whose inboxes receive it, besides the sender's own (which always gets a copy for the sender's devices). */
  readonly recipientIds: readonly string[];
  /** The message it answers (same thread), quoted. */
  readonly replyTo?: ReplyQuote;
}

/**
 * A change to a stored message. The store applies it without judging it (the services check who may do what,
 * and the windows): `edit` sets the text and `editedAt`; `delete` makes the message a tombstone — its text,
 * photo, quote and reactions erased in the message and in every copy the store keeps (inbox entries of the
 * message, the texts of its `edit` entries, the previews of replies quoting it, which become `deleted`), really
 * gone from the store's files and rows, not flagged; `reaction` sets the user's one emoji (or removes it, `null`);
 * `hide` hides the message from one user's `history` and changes nothing else.
 */
export interface MessageChangeInput {
  readonly kind: MessageChangeKind;
  readonly messageId: string;
  /** Who makes the change. */
  readonly userId: string;
  readonly at: number;
  /** `edit`: the new text. */
  readonly text?: string;
  /** `reaction`: the emoji, or `null` to take the reaction back. */
  readonly emoji?: string | null;
  /** The change's idempotency key, per user: a retried change with the same key stores nothing new. */
  readonly clientChangeId: string;
  /** Whose inboxes get the change entry besides the user's own (which always gets one); empty for `hide`. */
  readonly recipientIds: readonly string[];
}

/** What applying a change did. */
export interface ChangeResult {
  /** The message as it is now (after the first application when `duplicate`). */
  readonly message: MessageData;
  /** The change entries written, one per recipient and one for the user; empty when `duplicate`. */
  readonly entries: readonly InboxEntry[];
  /** True when `(userId, clientChangeId)` was already applied: nothing new was written. */
  readonly duplicate: boolean;
}

/** Which page of a thread's history to read. */
export interface HistoryQuery {
  /** Only messages with a smaller seq (the oldest one shown so far); all when absent. */
  readonly beforeSeq?: number;
  /** Only messages with a larger seq: the reader's floor (the thread's last seq when they joined it; 0 for all). */
  readonly afterSeq: number;
  /** At most this many. */
  readonly limit: number;
  /** Leave out the messages this user hid (deleted for themselves). */
  readonly hiddenFor?: string;
}

/** What storing a message did. */
export interface AppendResult {
  /** The stored message (the earlier one when `duplicate`). */
  readonly message: MessageData;
  /** The inbox entries written, one per recipient and one for the sender; empty when `duplicate`. */
  readonly entries: readonly InboxEntry[];
  /** True when `(senderId, clientMessageId)` was already stored: nothing new was written. */
  readonly duplicate: boolean;
}

/**
 * Keeps messages, per-user inboxes, receipt watermarks and cursors. Writes are durable when the promise
 * resolves: the system acks a sender only after `appendMessage` resolves.
 *
 * @example
 * ```ts
 * import { InMemoryMessageStore } from 'chat-room'
 * const store = new InMemoryMessageStore()
 * const { message } = await store.appendMessage({ threadId: 'dm:a:b', senderId: 'a', kind: 'text',
 *   text: 'hi', clientMessageId: 'c1', sentAt: Date.now(), recipientIds: ['b'] })
 * message.seq // 1
 * ```
 */
export interface MessageStore {
  /**
   * Stores a message atomically: assigns the thread's next `seq`, records the idempotency key and appends an
   * entry to each recipient's inbox and the sender's. A second append with the same `(senderId,
   * clientMessageId)` stores nothing and returns the first message with `duplicate: true`.
   */
  appendMessage(message: NewMessage): Promise<AppendResult>;
  /** The message stored under a sender's idempotency key. */
  findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined>;
  /** A message by id. */
  getMessage(messageId: string): Promise<MessageData | undefined>;
  /** Messages of a thread with `afterSeq < seq ≤ upToSeq`, in seq order, at most `limit`. */
  listMessages(threadId: string, afterSeq: number, upToSeq: number, limit: number): Promise<MessageData[]>;
  /**
   * Applies a change to a stored message atomically with its inbox entries (see {@link MessageChangeInput}). A
   * second change with the same `(userId, clientChangeId)` writes nothing and returns `duplicate: true`.
   *
   * @throws NotFoundError when there is no such message
   */
  applyChange(change: MessageChangeInput): Promise<ChangeResult>;
  /** A page of a thread's messages, newest first (see {@link HistoryQuery}); tombstones included. */
  history(threadId: string, query: HistoryQuery): Promise<MessageData[]>;
  /** The highest seq of a thread (0 when empty). */
  lastSeq(threadId: string): Promise<number>;
  /** The distinct senders of a thread's messages with `afterSeq < seq ≤ upToSeq`, in any order: whom a receipt tells. */
  sendersBetween(threadId: string, afterSeq: number, upToSeq: number): Promise<string[]>;
  /** Appends a non-message item (a receipt) to a user's inbox. */
  appendEntry(userId: string, item: InboxItem): Promise<InboxEntry>;
  /**
   * Reads a user's inbox after a cursor.
   *
   * @throws ResyncRequiredError when entries after `after` are no longer retained
   */
  readInbox(userId: string, after: number, limit: number): Promise<InboxPage>;
  /** The newest `inboxSeq` of a user's inbox (0 when empty). */
  latestInboxSeq(userId: string): Promise<number>;
  /**
   * What a `delivered {upTo}` acknowledges: per thread, the highest seq of the messages from others among the
   * user's entries with `after < inboxSeq ≤ upTo`. Receipts, the user's own messages and entries no longer kept
   * count for nothing.
   */
  highestReceived(userId: string, after: number, upTo: number): Promise<Map<string, number>>;
  /** Saves one member's watermark of a thread; a lower value than the stored one changes nothing. */
  saveWatermark(threadId: string, watermark: Watermark): Promise<void>;
  /** The saved watermarks of a thread's members. */
  loadWatermarks(threadId: string): Promise<Watermark[]>;
  /** A named cursor of a user (a device's position, the user's delivered position); 0 when unset. */
  getCursor(userId: string, name: string): Promise<number>;
  /** Moves a named cursor forward and returns the value it had; a lower value changes nothing. */
  advanceCursor(userId: string, name: string, value: number): Promise<number>;
}
