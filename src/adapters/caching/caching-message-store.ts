import type { InboxEntry, InboxItem, InboxPage, MessageData, Watermark } from '../../domain';
import { ValidationError } from '../../domain';
import type {
  AppendResult,
  ChangeResult,
  HistoryQuery,
  MessageChangeInput,
  MessageStore,
  NewMessage,
} from '../../ports';

/** Options of the cache. */
export interface CachingMessageStoreOptions {
  /**
   * How many of the newest positions it remembers per inbox and per thread (default 256; up to twice as many
   * between trims). Keep it at or below the store's `maxInboxEntries`, so it never answers for entries the store
   * has trimmed.
   */
  readonly capacity?: number;
  /** How many inboxes, and how many threads, it remembers (default 2 000; the least recently written go first). */
  readonly maxKeys?: number;
}

/** What a position of an inbox holds, as far as receipts care: a message from someone (its thread and seq), or not. */
type Fact = { readonly threadId: string; readonly seq: number; readonly senderId: string } | 'other';

/** The newest positions of one inbox (by inboxSeq) or one thread (by seq), from `first` on; holes are unknown. */
interface Window<T> {
  first: number;
  values: (T | undefined)[];
}

/**
 * A `MessageStore` that remembers what it appended lately, so the reads that follow an append answer from memory:
 * what a `delivered` ack covers (`highestReceived`) and whom a receipt tells (`sendersBetween`). It remembers
 * only facts that never change — which message sits at an `inboxSeq`, who sent a seq — so it stays right
 * whoever else writes the same store; a range it does not hold in full is read from the store underneath.
 * Messages themselves can change (edits, deletes, reactions), so it never keeps a message's content: every read
 * of a message goes straight through, as does everything else.
 *
 * Pattern: Decorator — the same port, with a cache in front of a durable store.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { CachingMessageStore } from 'chat-room/caching'
 * import { openSqliteStores } from 'chat-room/sqlite'
 * const { store, directoryStore } = openSqliteStores('chat.db')
 * const chat = await ChatSystem.open({ store: new CachingMessageStore(store), directoryStore })
 * ```
 */
export class CachingMessageStore implements MessageStore {
  readonly #inner: MessageStore;
  readonly #capacity: number;
  readonly #maxKeys: number;
  readonly #inboxes = new Map<string, Window<Fact>>();
  readonly #threads = new Map<string, Window<string>>();

  /**
   * Puts a cache in front of a store.
   *
   * @param inner - the store that keeps everything
   * @param options - how much to remember
   * @throws ValidationError when an option is not a positive integer
   */
  constructor(inner: MessageStore, options: CachingMessageStoreOptions = {}) {
    this.#inner = inner;
    this.#capacity = positive(options.capacity ?? 256, 'capacity');
    this.#maxKeys = positive(options.maxKeys ?? 2_000, 'maxKeys');
  }

  async appendMessage(message: NewMessage): Promise<AppendResult> {
    const result = await this.#inner.appendMessage(message);
    if (!result.duplicate) {
      const { threadId, seq, senderId } = result.message;
      this.#note(this.#threads, threadId, seq, senderId);
      for (const entry of result.entries) this.#noteEntry(entry);
    }
    return result;
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    const entry = await this.#inner.appendEntry(userId, item);
    this.#noteEntry(entry);
    return entry;
  }

  async highestReceived(userId: string, after: number, upTo: number): Promise<Map<string, number>> {
    const facts = this.#range(this.#inboxes, userId, after, upTo);
    if (facts === undefined) return this.#inner.highestReceived(userId, after, upTo);
    const highest = new Map<string, number>();
    for (const fact of facts) {
      if (fact === 'other' || fact.senderId === userId) continue;
      if (fact.seq > (highest.get(fact.threadId) ?? 0)) highest.set(fact.threadId, fact.seq);
    }
    return highest;
  }

  async sendersBetween(threadId: string, afterSeq: number, upToSeq: number): Promise<string[]> {
    const senders = this.#range(this.#threads, threadId, afterSeq, upToSeq);
    if (senders === undefined) return this.#inner.sendersBetween(threadId, afterSeq, upToSeq);
    return [...new Set(senders)];
  }

  async applyChange(change: MessageChangeInput): Promise<ChangeResult> {
    const result = await this.#inner.applyChange(change);
    // Change entries count for nothing in an ack; noted all the same, so the window of each inbox has no hole.
    for (const entry of result.entries) this.#noteEntry(entry);
    return result;
  }

  history(threadId: string, query: HistoryQuery): Promise<MessageData[]> {
    return this.#inner.history(threadId, query);
  }

  findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    return this.#inner.findByClientMessageId(senderId, clientMessageId);
  }

  getMessage(messageId: string): Promise<MessageData | undefined> {
    return this.#inner.getMessage(messageId);
  }

  listMessages(threadId: string, afterSeq: number, upToSeq: number, limit: number): Promise<MessageData[]> {
    return this.#inner.listMessages(threadId, afterSeq, upToSeq, limit);
  }

  lastSeq(threadId: string): Promise<number> {
    return this.#inner.lastSeq(threadId);
  }

  readInbox(userId: string, after: number, limit: number): Promise<InboxPage> {
    return this.#inner.readInbox(userId, after, limit);
  }

  latestInboxSeq(userId: string): Promise<number> {
    return this.#inner.latestInboxSeq(userId);
  }

  saveWatermark(threadId: string, watermark: Watermark): Promise<void> {
    return this.#inner.saveWatermark(threadId, watermark);
  }

  loadWatermarks(threadId: string): Promise<Watermark[]> {
    return this.#inner.loadWatermarks(threadId);
  }

  getCursor(userId: string, name: string): Promise<number> {
    return this.#inner.getCursor(userId, name);
  }

  advanceCursor(userId: string, name: string, value: number): Promise<number> {
    return this.#inner.advanceCursor(userId, name, value);
  }

  #noteEntry(entry: InboxEntry): void {
    const fact: Fact =
      entry.type === 'message'
        ? { threadId: entry.message.threadId, seq: entry.message.seq, senderId: entry.message.senderId }
        : 'other';
    this.#note(this.#inboxes, entry.userId, entry.inboxSeq, fact);
  }

  /** Remembers the value at a position; a position far past the window starts a new one. */
  #note<T>(windows: Map<string, Window<T>>, key: string, position: number, value: T): void {
    let window = windows.get(key);
    if (window !== undefined) windows.delete(key); // re-inserted below: the most recently written go last
    if (window === undefined || position >= window.first + window.values.length + this.#capacity) {
      window = { first: position, values: [] };
    }
    if (position >= window.first) {
      window.values[position - window.first] = value;
      // Trimmed in batches, back to `capacity` once it holds twice as many.
      if (window.values.length >= 2 * this.#capacity) {
        const drop = window.values.length - this.#capacity;
        window.values.splice(0, drop);
        window.first += drop;
      }
    }
    windows.set(key, window);
    if (windows.size > this.#maxKeys) windows.delete(windows.keys().next().value as string);
  }

  /** The values at the positions in (after, upTo], if the window holds every one of them. */
  #range<T>(windows: Map<string, Window<T>>, key: string, after: number, upTo: number): T[] | undefined {
    const window = windows.get(key);
    if (window === undefined || after + 1 < window.first) return undefined;
    const values = window.values.slice(after + 1 - window.first, upTo + 1 - window.first);
    if (values.length !== Math.max(upTo - after, 0)) return undefined;
    for (const v of values) if (v === undefined) return undefined;
    return values as T[];
  }
}

function positive(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a positive integer`, { details: { field } });
  }
  return value;
}
