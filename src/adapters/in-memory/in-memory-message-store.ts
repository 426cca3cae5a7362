import type {
  InboxEntry,
  InboxItem,
  InboxPage,
  MediaRef,
  MessageData,
  MessageKind,
  ReceiptData,
  ReceiptKind,
  Watermark,
} from '../../domain';
import { ResyncRequiredError, ValidationError, frozenMediaRef } from '../../domain';
import type { AppendResult, MessageStore, NewMessage } from '../../ports';

/** Options of the in-memory store. */
export interface InMemoryMessageStoreOptions {
  /** How many of the newest entries each inbox keeps; older cursors get `RESYNC_REQUIRED`. Default: all. */
  readonly maxInboxEntries?: number;
}

/** One thread: its id (the one string every row of it points to) and its messages' rows, by seq. */
interface Thread {
  readonly id: string;
  readonly rows: number[];
}

/**
 * A user's inbox, as numbers: an item `>= 0` is a message's row; `-(k + 1)` is the inbox's receipt `k`, kept in
 * the receipt columns at `k - receiptBase` (receipts are trimmed with the items that name them).
 */
interface Inbox {
  /** The `inboxSeq` of `items[0]`. */
  first: number;
  items: number[];
  receiptBase: number;
  readonly receiptThreads: string[];
  readonly receiptStatuses: ReceiptKind[];
  readonly receiptSeqs: number[];
  readonly receiptTimes: number[];
}

/** A user's receipt watermark in a thread, updated in place; handed out as a frozen copy. */
interface Mark {
  delivered: number;
  read: number;
  deliveredAt: number;
  readAt: number;
  since: number | undefined;
}

/**
 * The reference `MessageStore`: everything in memory, nothing survives the process. Every other store must
 * behave like this one (the conformance suite checks it).
 *
 * It keeps what it stores column by column: a message is a row of arrays (its thread, seq, sender, kind, text,
 * key, time) and an inbox is an array of numbers, so the heap holds two objects per message (its text and its
 * key) and none per receipt, instead of a message object, its id and a receipt object each. A server that keeps
 * its history in memory grows by all of it, and the garbage collector copies and marks every object it holds:
 * that, not the work per message, is what stretched its pauses. Messages and entries are built when handed out.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryMessageStore } from 'chat-room'
 * const chat = ChatSystem.create({ store: new InMemoryMessageStore({ maxInboxEntries: 10_000 }) })
 * ```
 */
export class InMemoryMessageStore implements MessageStore {
  readonly #maxInbox: number;
  readonly #threads = new Map<string, Thread>();
  // The message columns, by row.
  readonly #threadOf: Thread[] = [];
  readonly #seqs: number[] = [];
  readonly #senders: string[] = [];
  readonly #kinds: MessageKind[] = [];
  readonly #texts: string[] = [];
  readonly #clientIds: string[] = [];
  readonly #sentAts: number[] = [];
  /** The photo of each photo message, by row. */
  readonly #media = new Map<number, MediaRef>();
  /** One string per user id, so the sender column does not keep a copy per message. */
  readonly #names = new Map<string, string>();
  /** By sender, then by client message id: the row. */
  readonly #byClientId = new Map<string, Map<string, number>>();
  readonly #inboxes = new Map<string, Inbox>();
  readonly #watermarks = new Map<string, Map<string, Mark>>();
  readonly #cursors = new Map<string, Map<string, number>>();

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
    const senderId = this.#name(input.senderId);
    let sent = this.#byClientId.get(senderId);
    if (sent === undefined) {
      sent = new Map();
      this.#byClientId.set(senderId, sent);
    }
    const earlier = sent.get(input.clientMessageId);
    if (earlier !== undefined) return { message: this.#message(earlier), entries: [], duplicate: true };
    let thread = this.#threads.get(input.threadId);
    if (thread === undefined) {
      thread = { id: input.threadId, rows: [] };
      this.#threads.set(thread.id, thread);
    }
    const row = this.#seqs.length;
    thread.rows.push(row);
    this.#threadOf.push(thread);
    this.#seqs.push(thread.rows.length);
    this.#senders.push(senderId);
    this.#kinds.push(input.kind);
    this.#texts.push(input.text);
    this.#clientIds.push(input.clientMessageId);
    this.#sentAts.push(input.sentAt);
    if (input.media !== undefined) this.#media.set(row, frozenMediaRef(input.media));
    sent.set(input.clientMessageId, row);
    const message = this.#message(row);
    const entries = [senderId, ...input.recipientIds].map((userId) =>
      messageEntry(userId, this.#push(userId, row), message),
    );
    return { message, entries, duplicate: false };
  }

  async findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    const row = this.#byClientId.get(senderId)?.get(clientMessageId);
    return row === undefined ? undefined : this.#message(row);
  }

  async getMessage(messageId: string): Promise<MessageData | undefined> {
    // An id is `<threadId>#<seq>` (see #message): found in its thread, with no map of every message.
    const hash = messageId.lastIndexOf('#');
    const seq = Number(messageId.slice(hash + 1));
    if (hash < 0 || !Number.isSafeInteger(seq) || seq < 1) return undefined;
    const row = this.#threads.get(messageId.slice(0, hash))?.rows[seq - 1];
    return row === undefined || String(seq) !== messageId.slice(hash + 1) ? undefined : this.#message(row);
  }

  async listMessages(
    threadId: string,
    afterSeq: number,
    upToSeq: number,
    limit: number,
  ): Promise<MessageData[]> {
    const rows = this.#threads.get(threadId)?.rows ?? [];
    return rows.slice(afterSeq, Math.min(upToSeq, afterSeq + limit)).map((row) => this.#message(row));
  }

  async lastSeq(threadId: string): Promise<number> {
    return this.#threads.get(threadId)?.rows.length ?? 0;
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    if (item.type === 'message') {
      const { message } = item;
      const row = this.#threads.get(message.threadId)?.rows[message.seq - 1];
      // An entry names a stored message; one the store does not hold would be handed back as something else.
      if (row === undefined || this.#senders[row] !== message.senderId) {
        throw new ValidationError(`no stored message ${message.id} to put in an inbox`);
      }
      return messageEntry(userId, this.#push(userId, row), this.#message(row));
    }
    const { receipt } = item;
    const inbox = this.#inbox(userId);
    const k = inbox.receiptBase + inbox.receiptSeqs.length;
    inbox.receiptThreads.push(this.#name(receipt.threadId));
    inbox.receiptStatuses.push(receipt.status);
    inbox.receiptSeqs.push(receipt.upToSeq);
    inbox.receiptTimes.push(receipt.at);
    const inboxSeq = this.#push(userId, -(k + 1));
    return { type: 'receipt', receipt: receiptOf(inbox, k), userId, inboxSeq };
  }

  async readInbox(userId: string, after: number, limit: number): Promise<InboxPage> {
    const inbox = this.#inboxes.get(userId);
    const first = inbox?.first ?? 1;
    const latest = first + (inbox?.items.length ?? 0) - 1;
    const oldest = Math.max(first, latest - this.#maxInbox + 1);
    if (after > latest || after < oldest - 1) {
      throw new ResyncRequiredError(
        after > latest
          ? `cursor ${after} is ahead of the inbox (latest ${latest}); rebuild local state`
          : `entries after ${after} are no longer kept (oldest kept is ${oldest}); rebuild local state`,
        { details: { after, oldest, latest } },
      );
    }
    const entries: InboxEntry[] = [];
    if (inbox !== undefined) {
      const start = after - first + 1;
      const end = Math.min(inbox.items.length, start + limit);
      for (let i = start; i < end; i++) {
        const item = inbox.items[i] as number;
        const inboxSeq = first + i;
        entries.push(
          item >= 0
            ? messageEntry(userId, inboxSeq, this.#message(item))
            : { type: 'receipt', receipt: receiptOf(inbox, -item - 1), userId, inboxSeq },
        );
      }
    }
    const cursor = after + entries.length;
    return { entries, hasMore: cursor < latest, cursor, latest };
  }

  async latestInboxSeq(userId: string): Promise<number> {
    const inbox = this.#inboxes.get(userId);
    return inbox === undefined ? 0 : inbox.first + inbox.items.length - 1;
  }

  async saveWatermark(threadId: string, watermark: Watermark): Promise<void> {
    let marks = this.#watermarks.get(threadId);
    if (marks === undefined) {
      marks = new Map();
      this.#watermarks.set(threadId, marks);
    }
    const old = marks.get(watermark.userId);
    if (old === undefined) {
      marks.set(this.#name(watermark.userId), {
        delivered: watermark.delivered,
        read: watermark.read,
        deliveredAt: watermark.deliveredAt,
        readAt: watermark.readAt,
        since: watermark.since,
      });
      return;
    }
    // Each half only moves forward; the time goes with the position it belongs to.
    if (watermark.delivered > old.delivered) {
      old.delivered = watermark.delivered;
      old.deliveredAt = watermark.deliveredAt;
    }
    if (watermark.read > old.read) {
      old.read = watermark.read;
      old.readAt = watermark.readAt;
    }
    if (watermark.since !== undefined) old.since = watermark.since;
  }

  async loadWatermarks(threadId: string): Promise<Watermark[]> {
    const out: Watermark[] = [];
    this.#watermarks.get(threadId)?.forEach((m, userId) => {
      const w = {
        userId,
        delivered: m.delivered,
        read: m.read,
        deliveredAt: m.deliveredAt,
        readAt: m.readAt,
      };
      out.push(Object.freeze(m.since === undefined ? w : Object.assign(w, { since: m.since })));
    });
    return out;
  }

  async getCursor(userId: string, name: string): Promise<number> {
    return this.#cursors.get(userId)?.get(name) ?? 0;
  }

  async advanceCursor(userId: string, name: string, value: number): Promise<number> {
    let cursors = this.#cursors.get(userId);
    if (cursors === undefined) {
      cursors = new Map();
      this.#cursors.set(this.#name(userId), cursors);
    }
    const old = cursors.get(name) ?? 0;
    if (value > old) cursors.set(name, value);
    return old;
  }

  /** A message, built from its row: a fresh frozen object each time, so no caller can change what is stored. */
  #message(row: number): MessageData {
    const threadId = (this.#threadOf[row] as Thread).id;
    const seq = this.#seqs[row] as number;
    // Plain literals rather than spreads: V8 builds a literal fastest, and gives them all one hidden class.
    const fields = {
      id: `${threadId}#${seq}`,
      threadId,
      seq,
      senderId: this.#senders[row] as string,
      kind: this.#kinds[row] as MessageKind,
      text: this.#texts[row] as string,
      clientMessageId: this.#clientIds[row] as string,
      sentAt: this.#sentAts[row] as number,
    };
    const media = this.#media.get(row);
    return Object.freeze(media === undefined ? fields : Object.assign(fields, { media }));
  }

  /** The one string kept for a user or thread id. */
  #name(id: string): string {
    const known = this.#names.get(id);
    if (known !== undefined) return known;
    this.#names.set(id, id);
    return id;
  }

  #inbox(userId: string): Inbox {
    let inbox = this.#inboxes.get(userId);
    if (inbox === undefined) {
      inbox = {
        first: 1,
        items: [],
        receiptBase: 0,
        receiptThreads: [],
        receiptStatuses: [],
        receiptSeqs: [],
        receiptTimes: [],
      };
      this.#inboxes.set(this.#name(userId), inbox);
    }
    return inbox;
  }

  /** Appends an item to a user's inbox and returns its `inboxSeq`. */
  #push(userId: string, item: number): number {
    const inbox = this.#inbox(userId);
    const inboxSeq = inbox.first + inbox.items.length;
    inbox.items.push(item);
    // Trim in batches so an append stays O(1) amortised; reads apply the exact limit.
    if (inbox.items.length >= 2 * this.#maxInbox) {
      const drop = inbox.items.length - this.#maxInbox;
      inbox.items.splice(0, drop);
      inbox.first += drop;
      // The receipts before the oldest one still named go with them.
      const named = inbox.items.find((i) => i < 0);
      const keep = named === undefined ? inbox.receiptBase + inbox.receiptSeqs.length : -named - 1;
      const gone = keep - inbox.receiptBase;
      if (gone > 0) {
        inbox.receiptThreads.splice(0, gone);
        inbox.receiptStatuses.splice(0, gone);
        inbox.receiptSeqs.splice(0, gone);
        inbox.receiptTimes.splice(0, gone);
        inbox.receiptBase = keep;
      }
    }
    return inboxSeq;
  }
}

/** The entry handed out for a stored message: a fresh object each time, so no caller can change another's. */
function messageEntry(userId: string, inboxSeq: number, message: MessageData): InboxEntry {
  return { type: 'message', message, userId, inboxSeq };
}

/** Receipt `k` of an inbox, as a fresh frozen object. */
function receiptOf(inbox: Inbox, k: number): ReceiptData {
  const at = k - inbox.receiptBase;
  return Object.freeze({
    threadId: inbox.receiptThreads[at] as string,
    status: inbox.receiptStatuses[at] as ReceiptKind,
    upToSeq: inbox.receiptSeqs[at] as number,
    at: inbox.receiptTimes[at] as number,
  });
}
