import { ValidationError } from './errors';
import type { MessageData } from './message';
import { frozenMessage } from './message';
import type { ReceiptKind } from './receipt-ledger';

/** A receipt as its sender sees it: every message of theirs in the thread up to `upToSeq` reached `status`. */
export interface ReceiptData {
  readonly threadId: string;
  readonly status: ReceiptKind;
  readonly upToSeq: number;
  /** When the receipt was recorded (ms). */
  readonly at: number;
}

/**
 * A frozen copy of a receipt, so neither the caller nor a later reader can change what a store keeps.
 *
 * @param receipt - the receipt to copy
 */
export function frozenReceipt(receipt: ReceiptData): ReceiptData {
  return Object.freeze({
    threadId: receipt.threadId,
    status: receipt.status,
    upToSeq: receipt.upToSeq,
    at: receipt.at,
  });
}

/** What can happen to a stored message after it was sent. */
export type MessageChangeKind = 'edit' | 'delete' | 'reaction' | 'hide';

/**
 * A change to a message, as an inbox entry carries it to every member's devices (`hide`, a delete for one user,
 * only to that user's): applied exactly once and in order, like receipts.
 */
export interface MessageChange {
  readonly kind: MessageChangeKind;
  readonly threadId: string;
  readonly messageId: string;
  /** The changed message's seq in its thread. */
  readonly seq: number;
  /** Who made the change: the editor, the deleter (the sender, or a group admin), the reacting user, the hider. */
  readonly userId: string;
  /** When (ms). */
  readonly at: number;
  /** `edit`: the new text (erased, as `''`, if the message is later deleted for everyone). */
  readonly text?: string;
  /** `reaction`: the user's emoji now, or `null` when they took their reaction back. */
  readonly emoji?: string | null;
}

/**
 * A frozen copy of a change.
 *
 * @param change - the change to copy
 */
export function frozenChange(change: MessageChange): MessageChange {
  const copy: { -readonly [K in keyof MessageChange]: MessageChange[K] } = {
    kind: change.kind,
    threadId: change.threadId,
    messageId: change.messageId,
    seq: change.seq,
    userId: change.userId,
    at: change.at,
  };
  if (change.text !== undefined) copy.text = change.text;
  if (change.emoji !== undefined) copy.emoji = change.emoji;
  return Object.freeze(copy);
}

/**
 * A frozen inbox entry with a frozen copy of what it carries.
 *
 * @param userId - whose inbox
 * @param inboxSeq - the entry's place in it
 * @param item - what it carries
 */
export function frozenEntry(userId: string, inboxSeq: number, item: InboxItem): InboxEntry {
  switch (item.type) {
    case 'message':
      return Object.freeze({ type: 'message', message: frozenMessage(item.message), userId, inboxSeq });
    case 'receipt':
      return Object.freeze({ type: 'receipt', receipt: frozenReceipt(item.receipt), userId, inboxSeq });
    case 'change':
      return Object.freeze({ type: 'change', change: frozenChange(item.change), userId, inboxSeq });
  }
}

/**
 * What an inbox entry carries: a message (from anyone, or the user's own from another device), a receipt, or a
 * change to a message (an edit, a delete, a reaction, a hide).
 */
export type InboxItem =
  | { readonly type: 'message'; readonly message: MessageData }
  | { readonly type: 'receipt'; readonly receipt: ReceiptData }
  | { readonly type: 'change'; readonly change: MessageChange };

/**
 * One entry of a user's inbox: everything the server has for a user, in one total order (`inboxSeq`, monotonic
 * per user). A device remembers the last `inboxSeq` it applied (its cursor) and asks for what comes after.
 */
export type InboxEntry = InboxItem & {
  /** Whose inbox. */
  readonly userId: string;
  /** The entry's place in the user's inbox (1, 2, 3, ...). */
  readonly inboxSeq: number;
};

/** One page of a user's inbox after a cursor. */
export interface InboxPage {
  /** Entries after the cursor, in inbox order. */
  readonly entries: readonly InboxEntry[];
  /** Whether more entries follow this page. */
  readonly hasMore: boolean;
  /** The cursor to ask from next: the last entry's `inboxSeq`, or the cursor asked from when empty. */
  readonly cursor: number;
  /** The newest `inboxSeq` of the inbox. */
  readonly latest: number;
}

/**
 * Checks a store's `maxInboxEntries` option: how many of the newest entries each inbox keeps.
 *
 * @param value - the option as given; `undefined` (or `Infinity`) keeps every entry
 * @returns the limit, `Infinity` when unset
 * @throws ValidationError (field `maxInboxEntries`) when it is set and not a positive integer
 *
 * @example
 * ```ts
 * import { requireMaxInboxEntries } from 'chat-room'
 * requireMaxInboxEntries(undefined) // Infinity
 * requireMaxInboxEntries(10_000) // 10000
 * ```
 */
export function requireMaxInboxEntries(value: unknown): number {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError('maxInboxEntries must be a positive integer', {
      details: { field: 'maxInboxEntries' },
    });
  }
  return value;
}
