import type { InboxEntry, InboxItem, InboxPage, MessageData, Watermark } from '../../domain';
import {
  ResyncRequiredError,
  ValidationError,
  frozenMessage,
  frozenReceipt,
  messageId,
  parseMessageId,
  requireMaxInboxEntries,
} from '../../domain';
import type { AppendResult, MessageStore, NewMessage } from '../../ports';

/** Options of the in-memory store. */
export interface InMemoryMessageStoreOptions {
  /** How many of the newest entries each inbox keeps; older cursors get `RESYNC_REQUIRED`. Default: all. */
  readonly maxInboxEntries?: number;
}

/** A user's inbox: its entries in `inboxSeq` order, the oldest kept first. */
interface Inbox {
  /** The `inboxSeq` of `entries[0]` (1 until the inbox is trimmed). */
  first: number;
  readonly entries: InboxEntry[];
}

/**
 * Keeps messages, inboxes, receipt watermarks and cursors in Maps and arrays; nothing survives the process.
 *
 * This is the reference adapter of the `MessageStore` port: every other store must behave like this one, and the
 * conformance suite (`messageStoreSuite` in `chat-room/testing`) checks it. Everything it hands out is frozen, and
 * what it keeps is its own copy, so no caller can change what is stored.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryMessageStore } from 'chat-room'
 * const chat = ChatSystem.create({ store: new InMemoryMessageStore({ maxInboxEntries: 10_000 }) })
 * ```
 */
export class InMemoryMessageStore implements MessageStore {
  readonly #maxInbox: number;
  /** By thread id: its messages in seq order, so message `seq` sits at index `seq - 1`. */
  readonly #threads = new Map<string, MessageData[]>();
  /** By sender, then by client message id: the idempotency keys. */
  readonly #sent = new Map<string, Map<string, MessageData>>();
  /** By user id. */
  readonly #inboxes = new Map<string, Inbox>();
  /** By thread id, then by member. */
  readonly #watermarks = new Map<string, Map<string, Watermark>>();
  /** By user id, then by cursor name. */
  readonly #cursors = new Map<string, Map<string, number>>();

  /**
   * Creates an empty store.
   *
   * @param options - retention
   * @throws ValidationError when `maxInboxEntries` is not a positive integer
   */
  constructor(options: InMemoryMessageStoreOptions = {}) {
    this.#maxInbox = requireMaxInboxEntries(options.maxInboxEntries);
  }

  async appendMessage(input: NewMessage): Promise<AppendResult> {
    const earlier = this.#sent.get(input.senderId)?.get(input.clientMessageId);
    if (earlier !== undefined) return { message: earlier, entries: [], duplicate: true };
    const thread = getOrAdd(this.#threads, input.threadId, () => []);
    const seq = thread.length + 1;
    const message = frozenMessage({
      id: messageId(input.threadId, seq),
      threadId: input.threadId,
      seq,
      senderId: input.senderId,
      kind: input.kind,
      text: input.text,
      ...(input.media === undefined ? {} : { media: input.media }),
      clientMessageId: input.clientMessageId,
      sentAt: input.sentAt,
    });
    thread.push(message);
    getOrAdd(this.#sent, input.senderId, () => new Map()).set(input.clientMessageId, message);
    // The sender's inbox gets a copy too, for the sender's other devices.
    const entries = [input.senderId, ...input.recipientIds].map((userId) =>
      this.#append(userId, { type: 'message', message }),
    );
    return { message, entries, duplicate: false };
  }

  async findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    return this.#sent.get(senderId)?.get(clientMessageId);
  }

  async getMessage(id: string): Promise<MessageData | undefined> {
    // An id names its thread and seq; a string that is not such an id names no message.
    const key = parseMessageId(id);
    return key === undefined ? undefined : this.#threads.get(key.threadId)?.[key.seq - 1];
  }

  async listMessages(
    threadId: string,
    afterSeq: number,
    upToSeq: number,
    limit: number,
  ): Promise<MessageData[]> {
    const thread = this.#threads.get(threadId) ?? [];
    const start = Math.max(afterSeq, 0);
    const end = Math.min(upToSeq, afterSeq + limit, thread.length);
    return end > start ? thread.slice(start, end) : [];
  }

  async lastSeq(threadId: string): Promise<number> {
    return this.#threads.get(threadId)?.length ?? 0;
  }

  async sendersBetween(threadId: string, afterSeq: number, upToSeq: number): Promise<string[]> {
    const thread = this.#threads.get(threadId) ?? [];
    const messages = thread.slice(Math.max(afterSeq, 0), Math.max(upToSeq, 0));
    return [...new Set(messages.map((m) => m.senderId))];
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    if (item.type === 'receipt') {
      return this.#append(userId, { type: 'receipt', receipt: frozenReceipt(item.receipt) });
    }
    const { message } = item;
    const stored = this.#threads.get(message.threadId)?.[message.seq - 1];
    // An entry names a stored message; one the store does not hold would be handed back as something else.
    if (stored === undefined || stored.senderId !== message.senderId) {
      throw new ValidationError(`no stored message ${message.id} to put in an inbox`);
    }
    return this.#append(userId, { type: 'message', message: stored });
  }

  async readInbox(userId: string, after: number, limit: number): Promise<InboxPage> {
    const inbox = this.#inboxes.get(userId) ?? { first: 1, entries: [] };
    const latest = inbox.first + inbox.entries.length - 1;
    // Trimming runs in batches, so the inbox may still hold a few more than the limit: reads apply it exactly.
    const oldest = Math.max(inbox.first, latest - this.#maxInbox + 1);
    if (after > latest || after < oldest - 1) {
      throw new ResyncRequiredError(
        after > latest
          ? `cursor ${after} is ahead of the inbox (latest ${latest}); rebuild local state`
          : `entries after ${after} are no longer kept (oldest kept is ${oldest}); rebuild local state`,
        { details: { after, oldest, latest } },
      );
    }
    const start = after - inbox.first + 1;
    const entries = inbox.entries.slice(start, start + Math.max(limit, 0));
    const cursor = after + entries.length;
    return { entries, hasMore: cursor < latest, cursor, latest };
  }

  async latestInboxSeq(userId: string): Promise<number> {
    const inbox = this.#inboxes.get(userId);
    return inbox === undefined ? 0 : inbox.first + inbox.entries.length - 1;
  }

  async highestReceived(userId: string, after: number, upTo: number): Promise<Map<string, number>> {
    const highest = new Map<string, number>();
    const inbox = this.#inboxes.get(userId);
    if (inbox === undefined) return highest;
    const latest = inbox.first + inbox.entries.length - 1;
    const oldest = Math.max(inbox.first, latest - this.#maxInbox + 1);
    for (let inboxSeq = Math.max(after + 1, oldest); inboxSeq <= Math.min(upTo, latest); inboxSeq++) {
      const entry = inbox.entries[inboxSeq - inbox.first] as InboxEntry;
      if (entry.type !== 'message' || entry.message.senderId === userId) continue;
      const { threadId, seq } = entry.message;
      if (seq > (highest.get(threadId) ?? 0)) highest.set(threadId, seq);
    }
    return highest;
  }

  async saveWatermark(threadId: string, watermark: Watermark): Promise<void> {
    const marks = getOrAdd(this.#watermarks, threadId, () => new Map());
    const old = marks.get(watermark.userId);
    // Each half only moves forward, and its time moves with it; `since` stays unless a new one is given.
    const delivered = old === undefined || watermark.delivered > old.delivered ? watermark : old;
    const read = old === undefined || watermark.read > old.read ? watermark : old;
    const since = watermark.since ?? old?.since;
    const saved: Watermark = {
      userId: watermark.userId,
      delivered: delivered.delivered,
      read: read.read,
      deliveredAt: delivered.deliveredAt,
      readAt: read.readAt,
      ...(since === undefined ? {} : { since }),
    };
    marks.set(watermark.userId, Object.freeze(saved));
  }

  async loadWatermarks(threadId: string): Promise<Watermark[]> {
    return [...(this.#watermarks.get(threadId)?.values() ?? [])];
  }

  async getCursor(userId: string, name: string): Promise<number> {
    return this.#cursors.get(userId)?.get(name) ?? 0;
  }

  async advanceCursor(userId: string, name: string, value: number): Promise<number> {
    const cursors = getOrAdd(this.#cursors, userId, () => new Map());
    const old = cursors.get(name) ?? 0;
    if (value > old) cursors.set(name, value);
    return old;
  }

  /** Appends an entry to a user's inbox; what the item carries must already be the store's frozen copy. */
  #append(userId: string, item: InboxItem): InboxEntry {
    const inbox = getOrAdd(this.#inboxes, userId, () => ({ first: 1, entries: [] }));
    const inboxSeq = inbox.first + inbox.entries.length;
    const entry: InboxEntry = Object.freeze(
      item.type === 'message'
        ? { type: 'message', message: item.message, userId, inboxSeq }
        : { type: 'receipt', receipt: item.receipt, userId, inboxSeq },
    );
    inbox.entries.push(entry);
    // Trim in batches, down to the limit once twice as many are kept, so an append stays O(1) amortised.
    if (inbox.entries.length >= 2 * this.#maxInbox) {
      const drop = inbox.entries.length - this.#maxInbox;
      inbox.entries.splice(0, drop);
      inbox.first += drop;
    }
    return entry;
  }
}

/** The value of a key, added by `make` when missing. */
function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
