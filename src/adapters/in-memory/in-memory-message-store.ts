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
import {
  ResyncRequiredError,
  ValidationError,
  frozenMediaRef,
  messageId,
  parseMessageId,
} from '../../domain';
import type { AppendResult, MessageStore, NewMessage } from '../../ports';

/** Options of the in-memory store. */
export interface InMemoryMessageStoreOptions {
  /** How many of the newest entries each inbox keeps; older cursors get `RESYNC_REQUIRED`. Default: all. */
  readonly maxInboxEntries?: number;
}

/** Numbers per chunk of a `Numbers` column (64 KiB). */
const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/**
 * A growable column of numbers in typed arrays. Its values live in the arrays' buffers, outside the JavaScript
 * heap: growing it copies no object that the garbage collector would copy out of the young generation again.
 * A column starts small and doubles up to one chunk of `CHUNK` numbers, then grows a chunk at a time, so a long
 * column is never copied whole and its old buffers are not left for a mark-compact to free: V8 counts buffers as
 * external memory, and a column that kept doubling set off mark-compacts (docs/benchmarks.md, item 22).
 */
class Numbers {
  #chunks: Float64Array[] = [new Float64Array(16)];
  /** Where value 0 is in the first chunk (values dropped from a column of several chunks). */
  #base = 0;
  length = 0;

  push(value: number): void {
    const at = this.#base + this.length;
    const chunks = this.#chunks;
    let chunk = chunks[at >>> CHUNK_BITS];
    if (chunk === undefined) {
      chunk = new Float64Array(CHUNK);
      chunks.push(chunk);
    } else if ((at & IN_CHUNK) === chunk.length) {
      // Only a column's first and only chunk is ever short of `CHUNK`: it doubles.
      const grown = new Float64Array(2 * chunk.length);
      grown.set(chunk);
      chunks[0] = chunk = grown;
    }
    chunk[at & IN_CHUNK] = value;
    this.length++;
  }

  get(i: number): number {
    const at = this.#base + i;
    return (this.#chunks[at >>> CHUNK_BITS] as Float64Array)[at & IN_CHUNK] as number;
  }

  /** Drops the first `n` values. */
  drop(n: number): void {
    const chunks = this.#chunks;
    if (chunks.length === 1) {
      // A short column (a trimmed inbox, say) stays short: what is kept moves to the front.
      const only = chunks[0] as Float64Array;
      only.copyWithin(0, this.#base + n, this.#base + this.length);
      this.#base = 0;
    } else {
      this.#base += n;
      while (this.#base >= CHUNK && chunks.length > 1) {
        chunks.shift();
        this.#base -= CHUNK;
      }
    }
    this.length -= n;
  }
}

/** Bytes per chunk of a `Strings` column (256 KiB, or one string's if longer). */
const STRING_CHUNK = 1 << 18;
/** A string's address: its chunk times this, plus where it starts in the chunk. */
const CHUNK_ADDRESS = 2 ** 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A growable column of strings, kept as UTF-8 in typed arrays: like `Numbers`, its contents are outside the
 * JavaScript heap, so a stored text is no object for the collector to copy or mark, and it grows a chunk at a
 * time. A string is read back (decoded) when a message is handed out.
 */
class Strings {
  readonly #chunks: Uint8Array[] = [new Uint8Array(1024)];
  /** Bytes used in the last chunk. */
  #used = 0;
  /** Per string, its address (see `CHUNK_ADDRESS`) and its length in bytes. */
  readonly #starts = new Numbers();
  readonly #sizes = new Numbers();

  get length(): number {
    return this.#starts.length;
  }

  push(s: string): void {
    // A UTF-16 unit takes at most three bytes of UTF-8.
    const most = 3 * s.length;
    const chunks = this.#chunks;
    let index = chunks.length - 1;
    let bytes = chunks[index] as Uint8Array;
    if (this.#used + most > bytes.length) {
      if (index === 0 && this.#used + most <= STRING_CHUNK) {
        // The first and only chunk doubles until it is a whole one.
        const grown = new Uint8Array(Math.min(STRING_CHUNK, Math.max(2 * bytes.length, this.#used + most)));
        grown.set(bytes.subarray(0, this.#used));
        chunks[0] = bytes = grown;
      } else {
        bytes = new Uint8Array(Math.max(STRING_CHUNK, most));
        chunks.push(bytes);
        index++;
        this.#used = 0;
      }
    }
    const start = this.#used;
    let at = start;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        // Not ASCII: the encoder takes the rest (surrogate pairs included).
        at += encoder.encodeInto(s.slice(i), bytes.subarray(at)).written;
        break;
      }
      bytes[at++] = c;
    }
    this.#used = at;
    this.#starts.push(index * CHUNK_ADDRESS + start);
    this.#sizes.push(at - start);
  }

  get(i: number): string {
    const address = this.#starts.get(i);
    const start = address % CHUNK_ADDRESS;
    const bytes = this.#chunks[(address - start) / CHUNK_ADDRESS] as Uint8Array;
    return decoder.decode(bytes.subarray(start, start + this.#sizes.get(i)));
  }

  /** Whether string `i` is `s`, without decoding it when both are ASCII. */
  equals(i: number, s: string): boolean {
    const size = this.#sizes.get(i);
    if (size < s.length || size > 3 * s.length) return false;
    const address = this.#starts.get(i);
    const start = address % CHUNK_ADDRESS;
    const bytes = this.#chunks[(address - start) / CHUNK_ADDRESS] as Uint8Array;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      const b = bytes[start + k] as number;
      if (c >= 0x80 || b >= 0x80) return this.get(i) === s;
      if (c !== b) return false;
    }
    return size === s.length;
  }
}

/**
 * Every sender's idempotency keys, as one open-addressing hash table of message rows in typed arrays: the keys
 * themselves are the rows' own (in the store's `Strings`), so the table keeps nothing on the heap either. A lookup
 * hashes the sender and key and compares the rows whose hash matches.
 */
class KeyIndex {
  /** Per slot, a row plus one (0 for an empty slot). */
  #slots = new Int32Array(1024);
  #hashes = new Int32Array(1024);
  #count = 0;
  readonly #rows: Numbers;
  readonly #keys: Strings;

  /**
   * @param rows - the store's message rows (for each row's sender)
   * @param keys - the store's client message ids, by row
   */
  constructor(rows: Numbers, keys: Strings) {
    this.#rows = rows;
    this.#keys = keys;
  }

  /**
   * The row stored under a sender's key, or -1.
   *
   * @param sender - the sender's name index
   * @param key - the client message id
   */
  find(sender: number, key: string): number {
    const hash = hashOf(sender, key);
    const mask = this.#slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const stored = this.#slots[slot] as number;
      if (stored === 0) return -1;
      const row = stored - 1;
      if (
        this.#hashes[slot] === hash &&
        this.#rows.get(row * ROW + SENDER) === sender &&
        this.#keys.equals(row, key)
      ) {
        return row;
      }
    }
  }

  /** Adds a row (whose key the table does not hold yet). */
  add(sender: number, key: string, row: number): void {
    if (2 * (this.#count + 1) > this.#slots.length) this.#grow();
    this.#place(hashOf(sender, key), row + 1);
    this.#count++;
  }

  #place(hash: number, stored: number): void {
    const mask = this.#slots.length - 1;
    let slot = hash & mask;
    while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
    this.#slots[slot] = stored;
    this.#hashes[slot] = hash;
  }

  #grow(): void {
    const slots = this.#slots;
    const hashes = this.#hashes;
    this.#slots = new Int32Array(2 * slots.length);
    this.#hashes = new Int32Array(2 * slots.length);
    for (let i = 0; i < slots.length; i++) {
      if (slots[i] !== 0) this.#place(hashes[i] as number, slots[i] as number);
    }
  }
}

/** FNV-1a over the key's UTF-16 units, seeded with the sender. */
function hashOf(sender: number, key: string): number {
  let h = (0x811c9dc5 ^ sender) | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h;
}

/** A thread: its id's index in the store's `#names`, and its messages' rows in seq order. */
interface Thread {
  readonly name: number;
  readonly rows: Numbers;
}

// A message is a row of `ROW` numbers in the store's `#rows` (its text and key are in columns of their own).
const ROW = 5;
const THREAD = 0; // the thread id's name index
const SEQ = 1;
const SENDER = 2; // the sender's name index
const KIND = 3; // 0 text, 1 photo
const SENT_AT = 4;
// A receipt is `RECEIPT` numbers in its inbox's `receipts`: its thread's name index times two plus 1 for read,
// the seq it covers, its time.
const RECEIPT = 3;

/**
 * A user's inbox, as numbers: an item `>= 0` is a message's row; `-(k + 1)` is the inbox's receipt `k`, kept in
 * `receipts` at `k - receiptBase` (receipts are trimmed with the items that name them).
 */
interface Inbox {
  /** The `inboxSeq` of the first item. */
  first: number;
  readonly items: Numbers;
  receiptBase: number;
  readonly receipts: Numbers;
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
 * It keeps what it stores in typed arrays: a message is a row of numbers (thread, seq, sender, kind, time), its
 * text and key are UTF-8 in columns of their own, the idempotency keys are a hash table of rows, and an inbox is a
 * column of rows and receipts. So the heap holds no object per message or receipt, where it once held a message
 * object, its id and a receipt object each, and growing a column copies nothing the collector copies again. A
 * server that keeps its history in memory grows by all of it, and the garbage collector copies and marks every
 * object it holds, so fewer objects make shorter pauses (docs/benchmarks.md, items 21 and 22). Messages and
 * entries are built when handed out.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryMessageStore } from 'chat-room'
 * const chat = ChatSystem.create({ store: new InMemoryMessageStore({ maxInboxEntries: 10_000 }) })
 * ```
 */
export class InMemoryMessageStore implements MessageStore {
  readonly #maxInbox: number;
  /** By thread id: its index in `#names`, and its messages' rows in seq order. */
  readonly #threads = new Map<string, Thread>();
  readonly #rows = new Numbers();
  readonly #texts = new Strings();
  readonly #clientIds = new Strings();
  /** The photo of each photo message, by row. */
  readonly #media = new Map<number, MediaRef>();
  /** The user and thread ids the rows and receipts name, by index. */
  readonly #names: string[] = [];
  readonly #nameIndex = new Map<string, number>();
  /** By sender and client message id: the row. */
  readonly #byClientId = new KeyIndex(this.#rows, this.#clientIds);
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
    const sender = this.#name(input.senderId);
    const earlier = this.#byClientId.find(sender, input.clientMessageId);
    if (earlier >= 0) return { message: this.#message(earlier), entries: [], duplicate: true };
    let thread = this.#threads.get(input.threadId);
    if (thread === undefined) {
      thread = { name: this.#name(input.threadId), rows: new Numbers() };
      this.#threads.set(input.threadId, thread);
    }
    const row = this.#texts.length;
    thread.rows.push(row);
    const rows = this.#rows;
    rows.push(thread.name);
    rows.push(thread.rows.length);
    rows.push(sender);
    rows.push(input.kind === 'photo' ? 1 : 0);
    rows.push(input.sentAt);
    this.#texts.push(input.text);
    this.#clientIds.push(input.clientMessageId);
    const media = input.media === undefined ? undefined : frozenMediaRef(input.media);
    if (media !== undefined) this.#media.set(row, media);
    this.#byClientId.add(sender, input.clientMessageId, row);
    // Built from what was given rather than read back: the strings are the caller's, and equal to what is kept.
    const message = frozenMessage(
      input.threadId,
      thread.rows.length,
      input.senderId,
      input.kind,
      input.text,
      input.clientMessageId,
      input.sentAt,
      media,
    );
    const entries = [input.senderId, ...input.recipientIds].map((userId) =>
      messageEntry(userId, this.#push(userId, row), message),
    );
    return { message, entries, duplicate: false };
  }

  async findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    const sender = this.#nameIndex.get(senderId);
    const row = sender === undefined ? -1 : this.#byClientId.find(sender, clientMessageId);
    return row < 0 ? undefined : this.#message(row);
  }

  async getMessage(messageId: string): Promise<MessageData | undefined> {
    // Found in its thread by the seq the id names, with no map of every message.
    const key = parseMessageId(messageId);
    if (key === undefined) return undefined;
    const row = this.#rowOf(key.threadId, key.seq);
    return row === undefined ? undefined : this.#message(row);
  }

  async listMessages(
    threadId: string,
    afterSeq: number,
    upToSeq: number,
    limit: number,
  ): Promise<MessageData[]> {
    const rows = this.#threads.get(threadId)?.rows;
    const out: MessageData[] = [];
    if (rows === undefined) return out;
    const end = Math.min(upToSeq, afterSeq + limit, rows.length);
    for (let i = Math.max(afterSeq, 0); i < end; i++) out.push(this.#message(rows.get(i)));
    return out;
  }

  async lastSeq(threadId: string): Promise<number> {
    return this.#threads.get(threadId)?.rows.length ?? 0;
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    if (item.type === 'message') {
      const { message } = item;
      const row = this.#rowOf(message.threadId, message.seq);
      // An entry names a stored message; one the store does not hold would be handed back as something else.
      if (row === undefined || this.#names[this.#rows.get(row * ROW + SENDER)] !== message.senderId) {
        throw new ValidationError(`no stored message ${message.id} to put in an inbox`);
      }
      return messageEntry(userId, this.#push(userId, row), this.#message(row));
    }
    const { receipt } = item;
    const inbox = this.#inbox(userId);
    const k = inbox.receiptBase + inbox.receipts.length / RECEIPT;
    inbox.receipts.push(2 * this.#name(receipt.threadId) + (receipt.status === 'read' ? 1 : 0));
    inbox.receipts.push(receipt.upToSeq);
    inbox.receipts.push(receipt.at);
    const inboxSeq = this.#push(userId, -(k + 1));
    return { type: 'receipt', receipt: this.#receipt(inbox, k), userId, inboxSeq };
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
        const item = inbox.items.get(i);
        const inboxSeq = first + i;
        entries.push(
          item >= 0
            ? messageEntry(userId, inboxSeq, this.#message(item))
            : { type: 'receipt', receipt: this.#receipt(inbox, -item - 1), userId, inboxSeq },
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
      marks.set(watermark.userId, {
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
      this.#cursors.set(userId, cursors);
    }
    const old = cursors.get(name) ?? 0;
    if (value > old) cursors.set(name, value);
    return old;
  }

  /** The row of a thread's message, if stored. */
  #rowOf(threadId: string, seq: number): number | undefined {
    const rows = this.#threads.get(threadId)?.rows;
    return rows === undefined || !(seq >= 1 && seq <= rows.length) ? undefined : rows.get(seq - 1);
  }

  /** A message, built from its row: a fresh frozen object each time, so no caller can change what is stored. */
  #message(row: number): MessageData {
    const rows = this.#rows;
    const at = row * ROW;
    return frozenMessage(
      this.#names[rows.get(at + THREAD)] as string,
      rows.get(at + SEQ),
      this.#names[rows.get(at + SENDER)] as string,
      rows.get(at + KIND) === 1 ? 'photo' : 'text',
      this.#texts.get(row),
      this.#clientIds.get(row),
      rows.get(at + SENT_AT),
      this.#media.get(row),
    );
  }

  /** Receipt `k` of an inbox, as a fresh frozen object. */
  #receipt(inbox: Inbox, k: number): ReceiptData {
    const at = (k - inbox.receiptBase) * RECEIPT;
    const head = inbox.receipts.get(at);
    return Object.freeze({
      threadId: this.#names[Math.floor(head / 2)] as string,
      status: (head % 2 === 1 ? 'read' : 'delivered') as ReceiptKind,
      upToSeq: inbox.receipts.get(at + 1),
      at: inbox.receipts.get(at + 2),
    });
  }

  /** The index of a user or thread id in `#names`, added if new. */
  #name(id: string): number {
    const known = this.#nameIndex.get(id);
    if (known !== undefined) return known;
    this.#nameIndex.set(id, this.#names.length);
    this.#names.push(id);
    return this.#names.length - 1;
  }

  #inbox(userId: string): Inbox {
    let inbox = this.#inboxes.get(userId);
    if (inbox === undefined) {
      inbox = { first: 1, items: new Numbers(), receiptBase: 0, receipts: new Numbers() };
      this.#inboxes.set(userId, inbox);
    }
    return inbox;
  }

  /** Appends an item to a user's inbox and returns its `inboxSeq`. */
  #push(userId: string, item: number): number {
    const inbox = this.#inbox(userId);
    const { items } = inbox;
    const inboxSeq = inbox.first + items.length;
    items.push(item);
    // Trim in batches so an append stays O(1) amortised; reads apply the exact limit.
    if (items.length >= 2 * this.#maxInbox) {
      const drop = items.length - this.#maxInbox;
      items.drop(drop);
      inbox.first += drop;
      // The receipts before the oldest one still named go with them.
      let keep = inbox.receiptBase + inbox.receipts.length / RECEIPT;
      for (let i = 0; i < items.length; i++) {
        if (items.get(i) < 0) {
          keep = -items.get(i) - 1;
          break;
        }
      }
      const gone = keep - inbox.receiptBase;
      if (gone > 0) {
        inbox.receipts.drop(gone * RECEIPT);
        inbox.receiptBase = keep;
      }
    }
    return inboxSeq;
  }
}

/** A stored message as handed out: a fresh frozen object, its id `<threadId>#<seq>`. */
function frozenMessage(
  threadId: string,
  seq: number,
  senderId: string,
  kind: MessageKind,
  text: string,
  clientMessageId: string,
  sentAt: number,
  media: MediaRef | undefined,
): MessageData {
  // Plain literals rather than spreads: V8 builds a literal fastest, and gives them all one hidden class.
  const fields = {
    id: messageId(threadId, seq),
    threadId,
    seq,
    senderId,
    kind,
    text,
    clientMessageId,
    sentAt,
  };
  return Object.freeze(media === undefined ? fields : Object.assign(fields, { media }));
}

/** The entry handed out for a stored message: a fresh object each time, so no caller can change another's. */
function messageEntry(userId: string, inboxSeq: number, message: MessageData): InboxEntry {
  return { type: 'message', message, userId, inboxSeq };
}
