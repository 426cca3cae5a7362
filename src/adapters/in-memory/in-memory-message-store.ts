import type { InboxEntry, InboxItem, InboxPage, MessageData, ReceiptData, Watermark } from '../../domain';
import { ResyncRequiredError, ValidationError, frozenMediaRef, frozenReceipt } from '../../domain';
import type { AppendResult, MessageStore, NewMessage } from '../../ports';

/** Options of the in-memory store. */
export interface InMemoryMessageStoreOptions {
  /** How many of the newest entries each inbox keeps; older cursors get `RESYNC_REQUIRED`. Default: all. */
  readonly maxInboxEntries?: number;
}

interface Inbox {
  /** The `inboxSeq` of `items[0]`. */
  first: number;
  /**
   * What each entry carries: the (shared, frozen) message, or a frozen receipt. The entry around it is made when
   * it is handed out, so the store keeps one object per entry fewer, which the garbage collector would otherwise
   * copy and scan for as long as the process runs.
   */
  items: (MessageData | ReceiptData)[];
}

/**
 * The reference `MessageStore`: everything in maps, nothing survives the process. Every other store must
 * behave like this one (the conformance suite checks it).
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryMessageStore } from 'chat-room'
 * const chat = ChatSystem.create({ store: new InMemoryMessageStore({ maxInboxEntries: 10_000 }) })
 * ```
 */
export class InMemoryMessageStore implements MessageStore {
  readonly #maxInbox: number;
  readonly #threads = new Map<string, MessageData[]>();
  /** By sender, then by client message id: no key string to build on each send. */
  readonly #byClientId = new Map<string, Map<string, MessageData>>();
  readonly #inboxes = new Map<string, Inbox>();
  readonly #watermarks = new Map<string, Map<string, Watermark>>();
  readonly #cursors = new Map<string, number>();

  /**
   * Creates an empty store.
   *
   * @param options - retention
   * @throws ValidationError when `maxInboxEntries` is not a positive integer
   */
  constructor(options: InMemoryMessageStoreOptions = {}) {
    const max = options.maxInboxEntries ?? Number.POSITIVE_INFINITY;
    if (max !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(max) || max < 1)) {
      throw new ValidationError('maxInboxEntries must be a positive integer');
    }
    this.#maxInbox = max;
  }

  async appendMessage(input: NewMessage): Promise<AppendResult> {
    let sent = this.#byClientId.get(input.senderId);
    if (sent === undefined) {
      sent = new Map();
      this.#byClientId.set(input.senderId, sent);
    }
    const earlier = sent.get(input.clientMessageId);
    if (earlier !== undefined) return { message: earlier, entries: [], duplicate: true };
    const thread = this.#threads.get(input.threadId) ?? [];
    const seq = thread.length + 1;
    // Plain literals rather than spreads: this runs for every message, and V8 builds a literal fastest.
    const fields = {
      id: `${input.threadId}#${seq}`,
      threadId: input.threadId,
      seq,
      senderId: input.senderId,
      kind: input.kind,
      text: input.text,
      clientMessageId: input.clientMessageId,
      sentAt: input.sentAt,
    };
    const message: MessageData = Object.freeze(
      input.media === undefined ? fields : Object.assign(fields, { media: frozenMediaRef(input.media) }),
    );
    thread.push(message);
    this.#threads.set(input.threadId, thread);
    sent.set(input.clientMessageId, message);
    const entries = [input.senderId, ...input.recipientIds].map((userId) =>
      this.#append(userId, { type: 'message', message }),
    );
    return { message, entries, duplicate: false };
  }

  async findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    return this.#byClientId.get(senderId)?.get(clientMessageId);
  }

  async getMessage(messageId: string): Promise<MessageData | undefined> {
    // An id is `<threadId>#<seq>` (see appendMessage): found in its thread, with no map of every message.
    const hash = messageId.lastIndexOf('#');
    const seq = Number(messageId.slice(hash + 1));
    if (hash < 0 || !Number.isSafeInteger(seq) || seq < 1) return undefined;
    const message = this.#threads.get(messageId.slice(0, hash))?.[seq - 1];
    return message?.id === messageId ? message : undefined;
  }

  async listMessages(
    threadId: string,
    afterSeq: number,
    upToSeq: number,
    limit: number,
  ): Promise<MessageData[]> {
    const thread = this.#threads.get(threadId) ?? [];
    return thread.slice(afterSeq, Math.min(upToSeq, afterSeq + limit));
  }

  async lastSeq(threadId: string): Promise<number> {
    return this.#threads.get(threadId)?.length ?? 0;
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    return this.#append(userId, item);
  }

  async readInbox(userId: string, after: number, limit: number): Promise<InboxPage> {
    const inbox = this.#inboxes.get(userId) ?? { first: 1, items: [] };
    const latest = inbox.first + inbox.items.length - 1;
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
    const entries = inbox.items
      .slice(start, start + limit)
      .map((item, i) => toEntry(userId, after + 1 + i, item));
    const cursor = entries.length === 0 ? after : after + entries.length;
    return { entries, hasMore: cursor < latest, cursor, latest };
  }

  async latestInboxSeq(userId: string): Promise<number> {
    const inbox = this.#inboxes.get(userId);
    return inbox === undefined ? 0 : inbox.first + inbox.items.length - 1;
  }

  async saveWatermark(threadId: string, watermark: Watermark): Promise<void> {
    const marks = this.#watermarks.get(threadId) ?? new Map<string, Watermark>();
    const old = marks.get(watermark.userId);
    marks.set(
      watermark.userId,
      Object.freeze(
        old === undefined
          ? { ...watermark }
          : {
              userId: watermark.userId,
              delivered: Math.max(old.delivered, watermark.delivered),
              deliveredAt: watermark.delivered > old.delivered ? watermark.deliveredAt : old.deliveredAt,
              read: Math.max(old.read, watermark.read),
              readAt: watermark.read > old.read ? watermark.readAt : old.readAt,
              ...((watermark.since ?? old.since) === undefined
                ? {}
                : { since: watermark.since ?? old.since }),
            },
      ),
    );
    this.#watermarks.set(threadId, marks);
  }

  async loadWatermarks(threadId: string): Promise<Watermark[]> {
    return [...(this.#watermarks.get(threadId)?.values() ?? [])];
  }

  async getCursor(userId: string, name: string): Promise<number> {
    return this.#cursors.get(clientKey(userId, name)) ?? 0;
  }

  async advanceCursor(userId: string, name: string, value: number): Promise<number> {
    const key = clientKey(userId, name);
    const old = this.#cursors.get(key) ?? 0;
    if (value > old) this.#cursors.set(key, value);
    return old;
  }

  #append(userId: string, item: InboxItem): InboxEntry {
    let inbox = this.#inboxes.get(userId);
    if (inbox === undefined) {
      inbox = { first: 1, items: [] };
      this.#inboxes.set(userId, inbox);
    }
    // Copy what the caller handed in, so neither the caller nor a reader can change what is stored.
    const inboxSeq = inbox.first + inbox.items.length;
    const stored = item.type === 'receipt' ? frozenReceipt(item.receipt) : item.message;
    inbox.items.push(stored);
    // Trim in batches so an append stays O(1) amortised; reads apply the exact limit.
    if (inbox.items.length >= 2 * this.#maxInbox) {
      const drop = inbox.items.length - this.#maxInbox;
      inbox.items.splice(0, drop);
      inbox.first += drop;
    }
    return toEntry(userId, inboxSeq, stored);
  }
}

/** The entry handed out for a stored item: a fresh object each time, so no caller can change another's. */
function toEntry(userId: string, inboxSeq: number, item: MessageData | ReceiptData): InboxEntry {
  return 'status' in item
    ? { type: 'receipt', receipt: item, userId, inboxSeq }
    : { type: 'message', message: item, userId, inboxSeq };
}

function clientKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}
