import type Database from 'better-sqlite3';
import type {
  InboxEntry,
  InboxItem,
  InboxPage,
  MediaRef,
  MessageChange,
  MessageChangeKind,
  MessageData,
  MessageKind,
  ReceiptData,
  ReceiptKind,
  ReplyQuote,
  Watermark,
} from '../../domain';
import {
  ChatRoomError,
  NotFoundError,
  ResyncRequiredError,
  ValidationError,
  frozenChange,
  frozenEntry,
  frozenMessage,
  messageId,
  parseMessageId,
  reactionsAfter,
  requireMaxInboxEntries,
} from '../../domain';
import type {
  AppendResult,
  ChangeResult,
  HistoryQuery,
  MessageChangeInput,
  MessageStore,
  NewMessage,
} from '../../ports';
import { openDatabase, storageError } from './database';

/** Options of the SQLite store: give a ready `db` handle or a file `path`, not both. */
export interface SqliteMessageStoreOptions {
  /** A ready better-sqlite3 handle; the caller owns it, so `close()` leaves it open. */
  readonly db?: Database.Database;
  /** A database file to open (`':memory:'` for a throwaway one); `close()` closes it. */
  readonly path?: string;
  /** How many of the newest entries each inbox keeps; older cursors get `RESYNC_REQUIRED`. Default: all. */
  readonly maxInboxEntries?: number;
  /**
   * Group commit: the most writes (`appendMessage`, `appendEntry`, `saveWatermark` and `advanceCursor` calls)
   * written in one transaction.
   * Appends made in the same turn of the event loop are queued and written together on `setImmediate`, in
   * call order, under one `BEGIN IMMEDIATE … COMMIT` (one fsync for the batch; a write that throws sends the
   * batch round again with a `SAVEPOINT` per write, see the class); more than `maxBatch` queued appends take
   * several transactions. `1` turns group commit off: each append then
   * runs in its own transaction as soon as it is called. Default: 1024 (a bigger batch touches fewer pages per
   * write).
   */
  readonly maxBatch?: number;
}

/** What the append path has done so far: a read-only view, for tests and monitoring. */
export interface SqliteMessageStoreStats {
  /** Write transactions the append path committed (one per batch). */
  readonly commits: number;
  /** Writes (appends, watermarks, cursors) those transactions settled, failed ones included. */
  readonly appends: number;
  /** The most appends one transaction has carried. */
  readonly largestBatch: number;
}

/** A queued append: the work to run inside the batch's transaction, and its caller's promise. */
interface PendingAppend {
  readonly doing: string;
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface MessageRow {
  thread_id: string;
  seq: number;
  sender_id: string;
  kind: MessageKind;
  text: string;
  media: string | null;
  client_message_id: string;
  sent_at: number;
  /** The quote of a reply, as JSON. */
  reply_to: string | null;
  edited_at: number | null;
  deleted_at: number | null;
  /** The reactions, as JSON; `null` when there are none. */
  reactions: string | null;
}

/** A row of `message_changes`, as an inbox read names its columns. */
interface ChangeColumns {
  change_kind: MessageChangeKind;
  change_thread_id: string;
  change_seq: number;
  change_user_id: string;
  change_at: number;
  change_text: string | null;
  change_emoji: string | null;
}

/**
 * An inbox row as `readInbox` reads it: an entry's JSON (`payload`), a receipt's columns, the columns of the
 * change the row names, or those of the message it names.
 */
type InboxRow = { inbox_seq: number } & (
  | { payload: string }
  | ({ payload: null } & ReceiptColumns)
  | ({ payload: null; receipt_thread_id: null } & ChangeColumns)
  | ({ payload: null; receipt_thread_id: null; change_kind: null } & MessageRow)
);

interface ReceiptColumns {
  receipt_thread_id: string;
  receipt_status: ReceiptKind;
  receipt_up_to_seq: number;
  receipt_at: number;
}

/**
 * An entry's values after its user and inbox seq, in the order of `insertEntry`'s columns: the message row it
 * names, the change row it names, a receipt's thread, status, seq and time, and a JSON payload. One of the four
 * forms is set.
 */
type EntryValues = readonly [
  messageRow: number | bigint | null,
  changeRow: number | bigint | null,
  receiptThreadId: string | null,
  receiptStatus: ReceiptKind | null,
  receiptUpToSeq: number | null,
  receiptAt: number | null,
  payload: string | null,
];

interface WatermarkRow {
  user_id: string;
  delivered: number;
  read: number;
  delivered_at: number;
  read_at: number;
  since: number | null;
}

type Statement = Database.Statement<unknown[], unknown>;

type Statements = Record<
  | 'insertMessage'
  | 'messageByClientId'
  | 'messageBySeq'
  | 'messageRowBySeq'
  | 'listMessages'
  | 'history'
  | 'changeByClientId'
  | 'insertChange'
  | 'editMessage'
  | 'deleteMessage'
  | 'eraseEdits'
  | 'eraseQuotes'
  | 'setReactions'
  | 'hideMessage'
  | 'lastSeq'
  | 'sendersBetween'
  | 'insertEntry'
  | 'latestInboxSeq'
  | 'highestReceived'
  | 'inboxBounds'
  | 'readInbox'
  | 'pruneInbox'
  | 'saveWatermark'
  | 'loadWatermarks'
  | 'getCursor'
  | 'advanceCursor',
  Statement
>;

const STORE = 'SqliteMessageStore';

const MESSAGE_COLUMNS =
  'thread_id, seq, sender_id, kind, text, media, client_message_id, sent_at, reply_to, edited_at, deleted_at, reactions';

/**
 * A `MessageStore` in one SQLite file (better-sqlite3): messages, inboxes, watermarks and cursors survive a
 * restart. The file runs in WAL mode with `synchronous = FULL`: the port promises that a resolved append is
 * durable (the sender is acked on it), and `NORMAL` in WAL mode can lose the last commits on power loss.
 *
 * Writes use group commit, so durability does not cost one fsync per message: the `appendMessage`,
 * `appendEntry`, `saveWatermark` and `advanceCursor` calls made in one turn of the event loop are queued and
 * written on `setImmediate` in ONE `BEGIN IMMEDIATE` transaction (at most `maxBatch` per transaction), in call
 * order. If a write throws, the transaction is rolled back and the batch runs again with each write inside its
 * own `SAVEPOINT`: the failing write rolls back to its savepoint and rejects alone; the others commit. Every
 * promise settles only after the batch's `COMMIT`, so a resolved write is durable and visible to every later
 * read. Seqs stay gap-free even with several processes on the same file (`BEGIN IMMEDIATE` takes the write lock
 * before the first read). `close()` writes what is still queued before it
 * closes the file.
 *
 * A message row holds the message as it is now; inbox rows name message rows and change rows, never copy them.
 * So a delete for everyone erases each text where it lives — the message row, the texts of its edits
 * (`message_changes`), the quotes of replies to it — with `secure_delete` on (the old bytes are zeroed, not
 * left in free space), then checkpoints and truncates the WAL, so no older frame still holds them.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { SqliteMessageStore } from 'chat-room/sqlite'
 * const store = new SqliteMessageStore({ path: './data/chat.db', maxInboxEntries: 10_000 })
 * const chat = ChatSystem.create({ store })
 * // ... on shutdown
 * await store.close()
 * ```
 */
export class SqliteMessageStore implements MessageStore {
  readonly #db: Database.Database;
  readonly #owned: boolean;
  readonly #maxInbox: number;
  readonly #sql: Statements;
  readonly #maxBatch: number;
  /** Runs one append inside a `SAVEPOINT` when a transaction is open (alone it is a `BEGIN IMMEDIATE`). */
  readonly #savepoint: (work: () => unknown) => unknown;
  /** Runs a batch of appends in one `BEGIN IMMEDIATE` transaction. */
  readonly #batchTx: (batch: readonly PendingAppend[]) => { ok: boolean; value: unknown }[];
  #queue: PendingAppend[] = [];
  #flushScheduled = false;
  /** A committed delete left erased texts in WAL frames: checkpoint and truncate the WAL. */
  #checkpointDue = false;
  #stats = { commits: 0, appends: 0, largestBatch: 0 };
  readonly #readInboxTx: (userId: string, after: number, limit: number) => InboxPage;

  /**
   * Opens (or adopts) the database, sets WAL mode and applies pending schema migrations.
   *
   * @param options - the handle or file, retention and group commit
   * @throws ValidationError when neither or both of `db` and `path` are given, or `maxInboxEntries` or
   *   `maxBatch` is not a positive integer
   * @throws StorageError when the file cannot be opened or migrated
   */
  constructor(options: SqliteMessageStoreOptions) {
    const max = requireMaxInboxEntries(options.maxInboxEntries);
    const maxBatch = options.maxBatch ?? 1024;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new ValidationError('maxBatch must be a positive integer');
    }
    this.#maxBatch = maxBatch;
    this.#maxInbox = max;
    const opened = openDatabase(options, 'SqliteMessageStore', prepareAll);
    const { db } = opened;
    this.#db = db;
    this.#owned = opened.owned;
    this.#sql = opened.prepared;
    const savepoint = db.transaction((work: () => unknown) => work());
    this.#savepoint = (work) => (db.inTransaction ? savepoint(work) : savepoint.immediate(work));
    // A batch runs its writes straight in one transaction (a savepoint per write would cost every message). Only
    // if one throws is it rolled back and run again with a savepoint per write, so that the failing write is
    // undone alone and the others still commit.
    const direct = immediate(db, (batch: readonly PendingAppend[]) =>
      batch.map((p) => ({ ok: true, value: p.work() })),
    );
    const isolated = immediate(db, (batch: readonly PendingAppend[]) =>
      batch.map((p) => {
        try {
          return { ok: true, value: savepoint(p.work) };
        } catch (e) {
          // Some errors (a full disk, I/O) make SQLite roll the whole transaction back: then nothing of the
          // batch is kept, and it fails as one.
          if (!db.inTransaction) throw e;
          return { ok: false, value: e };
        }
      }),
    );
    this.#batchTx = (batch) => {
      try {
        return direct(batch);
      } catch {
        return isolated(batch);
      }
    };
    // A read transaction, so the bounds and the page come from one snapshot even with other writers.
    this.#readInboxTx = db.transaction((userId: string, after: number, limit: number) =>
      this.#readInbox(userId, after, limit),
    );
  }

  /** Moves a cursor forward; runs inside the batch's transaction. */
  #advanceCursor(userId: string, name: string, value: number): number {
    const row = this.#sql.getCursor.get(userId, name) as { value: number } | undefined;
    const old = row?.value ?? 0;
    if (value > old) this.#sql.advanceCursor.run(userId, name, value);
    return old;
  }

  /** What the append path has done so far (commits, appends, the largest batch). */
  get stats(): SqliteMessageStoreStats {
    return { ...this.#stats };
  }

  async appendMessage(input: NewMessage): Promise<AppendResult> {
    // Copy the input now: the append runs later, and the caller may change its objects meanwhile.
    const copy: NewMessage = {
      ...input,
      ...(input.media === undefined ? {} : { media: { ...input.media } }),
      ...(input.replyTo === undefined ? {} : { replyTo: { ...input.replyTo } }),
      recipientIds: [...input.recipientIds],
    };
    return this.#enqueue('appending a message', () => this.#appendMessage(copy));
  }

  async applyChange(input: MessageChangeInput): Promise<ChangeResult> {
    // Copied now, like appendMessage's input: the change runs later.
    const copy: MessageChangeInput = { ...input, recipientIds: [...input.recipientIds] };
    return this.#enqueue('applying a change', () => this.#applyChange(copy));
  }

  async history(threadId: string, query: HistoryQuery): Promise<MessageData[]> {
    return this.#run('reading history', () =>
      (
        this.#sql.history.all({
          threadId,
          after: query.afterSeq,
          before: query.beforeSeq === undefined || !Number.isFinite(query.beforeSeq) ? null : query.beforeSeq,
          hiddenFor: query.hiddenFor ?? null,
          limit: sqlLimit(query.limit),
        }) as MessageRow[]
      ).map(toMessage),
    );
  }

  async findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    return this.#run('finding a message', () => {
      const row = this.#sql.messageByClientId.get(senderId, clientMessageId) as MessageRow | undefined;
      return row === undefined ? undefined : toMessage(row);
    });
  }

  async getMessage(messageId: string): Promise<MessageData | undefined> {
    return this.#run('reading a message', () => {
      const key = parseMessageId(messageId);
      if (key === undefined) return undefined;
      const row = this.#sql.messageBySeq.get(key.threadId, key.seq) as MessageRow | undefined;
      return row === undefined ? undefined : toMessage(row);
    });
  }

  async listMessages(
    threadId: string,
    afterSeq: number,
    upToSeq: number,
    limit: number,
  ): Promise<MessageData[]> {
    return this.#run('listing messages', () =>
      (this.#sql.listMessages.all(threadId, afterSeq, upToSeq, sqlLimit(limit)) as MessageRow[]).map(
        toMessage,
      ),
    );
  }

  async lastSeq(threadId: string): Promise<number> {
    return this.#run('reading the last seq', () => (this.#sql.lastSeq.get(threadId) as number | null) ?? 0);
  }

  async sendersBetween(threadId: string, afterSeq: number, upToSeq: number): Promise<string[]> {
    return this.#run(
      'listing senders',
      () => this.#sql.sendersBetween.all(threadId, afterSeq, upToSeq) as string[],
    );
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    // The values are taken now, like appendMessage's copy: the caller may change its objects meanwhile.
    if (item.type === 'receipt') {
      const { threadId, status, upToSeq, at } = item.receipt;
      const receipt: ReceiptData = { threadId, status, upToSeq, at };
      return this.#enqueue('appending an inbox entry', () => {
        const inboxSeq = this.#append(userId, [null, null, threadId, status, upToSeq, at, null]);
        return frozenEntry(userId, inboxSeq, { type: 'receipt', receipt });
      });
    }
    // A message or a change is kept once and named by the entry, like appendMessage's and applyChange's.
    const { threadId, seq } = item.type === 'message' ? item.message : item.change;
    const senderId = item.type === 'message' ? item.message.senderId : undefined;
    const change = item.type === 'change' ? frozenChange(item.change) : undefined;
    return this.#enqueue('appending an inbox entry', () => {
      const stored = this.#sql.messageRowBySeq.get(threadId, seq) as
        { row_no: number; sender_id: string } | undefined;
      // An entry names a stored message; one the store does not hold would be handed back as something else.
      if (stored === undefined || (senderId !== undefined && stored.sender_id !== senderId)) {
        throw new ValidationError(`no stored message ${threadId}#${seq} to put in an inbox`);
      }
      if (change === undefined) {
        const message = this.#messageAt(threadId, seq);
        const inboxSeq = this.#append(userId, [stored.row_no, null, null, null, null, null, null]);
        return frozenEntry(userId, inboxSeq, { type: 'message', message });
      }
      const kept = frozenChange({ ...change, messageId: messageId(threadId, seq) });
      const row = this.#insertChange(kept, null);
      const inboxSeq = this.#append(userId, [null, row, null, null, null, null, null]);
      return frozenEntry(userId, inboxSeq, { type: 'change', change: kept });
    });
  }

  async readInbox(userId: string, after: number, limit: number): Promise<InboxPage> {
    return this.#run('reading an inbox', () => this.#readInboxTx(userId, after, limit));
  }

  #readInbox(userId: string, after: number, limit: number): InboxPage {
    const bounds = this.#sql.inboxBounds.get(userId, userId) as {
      first: number | null;
      latest: number | null;
    };
    const latest = bounds.latest ?? 0;
    const oldest = Math.max(bounds.first ?? 1, latest - this.#maxInbox + 1);
    if (after > latest || after < oldest - 1) {
      throw new ResyncRequiredError(
        after > latest
          ? `cursor ${after} is ahead of the inbox (latest ${latest}); rebuild local state`
          : `entries after ${after} are no longer kept (oldest kept is ${oldest}); rebuild local state`,
        { details: { after, oldest, latest } },
      );
    }
    const rows = this.#sql.readInbox.all(userId, after, sqlLimit(limit)) as unknown[][];
    const entries = rows.map((values) => toEntry(userId, inboxRow(values)));
    const cursor = entries.length === 0 ? after : after + entries.length;
    return { entries, hasMore: cursor < latest, cursor, latest };
  }

  async latestInboxSeq(userId: string): Promise<number> {
    return this.#run('reading an inbox', () => this.#latestInboxSeq(userId));
  }

  async highestReceived(userId: string, after: number, upTo: number): Promise<Map<string, number>> {
    return this.#run('reading an inbox', () => {
      // With retention, entries past it that a batched trim has not deleted yet count for nothing.
      const first = Number.isFinite(this.#maxInbox) ? this.#latestInboxSeq(userId) - this.#maxInbox : 0;
      const rows = this.#sql.highestReceived.all({ userId, after: Math.max(after, first), upTo }) as {
        thread_id: string;
        seq: number;
      }[];
      const highest = new Map<string, number>();
      for (const r of rows) highest.set(r.thread_id, r.seq);
      return highest;
    });
  }

  async saveWatermark(threadId: string, watermark: Watermark): Promise<void> {
    // Batched with the appends: a receipt costs no commit of its own.
    return this.#enqueue('saving a watermark', () => {
      const w = watermark;
      this.#sql.saveWatermark.run(
        threadId,
        w.userId,
        w.delivered,
        w.read,
        w.deliveredAt,
        w.readAt,
        w.since ?? null,
      );
    });
  }

  async loadWatermarks(threadId: string): Promise<Watermark[]> {
    return this.#run('loading watermarks', () =>
      (this.#sql.loadWatermarks.all(threadId) as WatermarkRow[]).map((row) =>
        Object.freeze({
          userId: row.user_id,
          delivered: row.delivered,
          read: row.read,
          deliveredAt: row.delivered_at,
          readAt: row.read_at,
          ...(row.since === null ? {} : { since: row.since }),
        }),
      ),
    );
  }

  async getCursor(userId: string, name: string): Promise<number> {
    return this.#run('reading a cursor', () => {
      const row = this.#sql.getCursor.get(userId, name) as { value: number } | undefined;
      return row?.value ?? 0;
    });
  }

  async advanceCursor(userId: string, name: string, value: number): Promise<number> {
    // Batched with the appends, inside the batch's transaction: the read and the write see one state.
    return this.#enqueue('moving a cursor', () => this.#advanceCursor(userId, name, value));
  }

  /**
   * Writes the appends still queued, then closes the database when the store opened it from `path`; a handle
   * passed as `db` stays open.
   */
  async close(): Promise<void> {
    while (this.#queue.length > 0) this.#flush();
    if (this.#db.open) this.#checkpointIfDue();
    if (this.#owned && this.#db.open) this.#run('closing the database', () => this.#db.close());
  }

  /**
   * Queues an append for the next batch (or, with `maxBatch: 1`, runs it now in its own transaction);
   * resolves after the transaction holding it commits.
   */
  #enqueue<T>(doing: string, work: () => T): Promise<T> {
    if (this.#maxBatch === 1) {
      return new Promise<T>((resolve) => {
        const value = this.#run(doing, () => this.#savepoint(work) as T);
        this.#count(1);
        this.#checkpointIfDue();
        resolve(value);
      });
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ doing, work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          this.#flush();
        });
      }
    });
  }

  /** Writes up to `maxBatch` queued appends in one transaction, then settles their promises. */
  #flush(): void {
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    if (this.#queue.length > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
    let outcomes: { ok: boolean; value: unknown }[];
    try {
      outcomes = this.#batchTx(batch);
    } catch (e) {
      // BEGIN or COMMIT failed (or SQLite rolled everything back): nothing of the batch was written.
      for (const p of batch) p.reject(ChatRoomError.is(e) ? e : storageError(STORE, p.doing, e));
      return;
    }
    this.#count(batch.length);
    this.#checkpointIfDue();
    batch.forEach((p, i) => {
      const outcome = outcomes[i] as { ok: boolean; value: unknown };
      if (outcome.ok) p.resolve(outcome.value);
      else
        p.reject(
          ChatRoomError.is(outcome.value) ? outcome.value : storageError(STORE, p.doing, outcome.value),
        );
    });
  }

  #count(appends: number): void {
    this.#stats.commits++;
    this.#stats.appends += appends;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, appends);
  }

  #appendMessage(input: NewMessage): AppendResult {
    const seq = ((this.#sql.lastSeq.get(input.threadId) as number | null) ?? 0) + 1;
    const media = input.media === undefined ? null : JSON.stringify(input.media);
    const replyTo = input.replyTo === undefined ? null : JSON.stringify(quoteOf(input.replyTo));
    // The unique (sender_id, client_message_id) key is the idempotency check: a retry inserts nothing.
    const inserted = this.#sql.insertMessage.run(
      input.threadId,
      seq,
      input.senderId,
      input.kind,
      input.text,
      media,
      input.clientMessageId,
      input.sentAt,
      replyTo,
      input.replyTo?.messageId ?? null,
    );
    if (inserted.changes === 0) {
      const earlier = this.#sql.messageByClientId.get(input.senderId, input.clientMessageId) as MessageRow;
      return { message: toMessage(earlier), entries: [], duplicate: true };
    }
    const message = toMessage({
      thread_id: input.threadId,
      seq,
      sender_id: input.senderId,
      kind: input.kind,
      text: input.text,
      media,
      client_message_id: input.clientMessageId,
      sent_at: input.sentAt,
      reply_to: replyTo,
      edited_at: null,
      deleted_at: null,
      reactions: null,
    });
    // Each member's entry names the message's row rather than holding a copy of it.
    const row = inserted.lastInsertRowid;
    const entries = [input.senderId, ...input.recipientIds].map((userId) =>
      // The message is frozen already: every entry can share it.
      Object.freeze({
        type: 'message' as const,
        message,
        userId,
        inboxSeq: this.#append(userId, [row, null, null, null, null, null, null]),
      }),
    );
    return { message, entries, duplicate: false };
  }

  /** Applies a change and appends its entries; runs inside the batch's transaction. */
  #applyChange(input: MessageChangeInput): ChangeResult {
    const earlier = this.#sql.changeByClientId.get(input.userId, input.clientChangeId) as
      { thread_id: string; seq: number } | undefined;
    if (earlier !== undefined) {
      return { message: this.#messageAt(earlier.thread_id, earlier.seq), entries: [], duplicate: true };
    }
    const key = parseMessageId(input.messageId);
    const old =
      key === undefined
        ? undefined
        : (this.#sql.messageBySeq.get(key.threadId, key.seq) as MessageRow | undefined);
    if (key === undefined || old === undefined) throw new NotFoundError(`no message ${input.messageId}`);
    const { threadId, seq } = key;
    if (input.kind === 'edit' && typeof input.text !== 'string') {
      throw new ValidationError('an edit needs its new text');
    }
    // A deleted message stays deleted: nothing changes a tombstone, so an edit racing a delete brings no text back.
    const live = old.deleted_at === null;
    switch (input.kind) {
      case 'edit':
        if (live) this.#sql.editMessage.run(input.text, input.at, threadId, seq);
        break;
      case 'delete':
        // Every place the text lives: the row, its edits' texts, the quotes of replies to it.
        if (live) this.#sql.deleteMessage.run(input.at, threadId, seq);
        this.#sql.eraseEdits.run(threadId, seq);
        this.#sql.eraseQuotes.run(input.messageId);
        this.#checkpointDue = true;
        break;
      case 'reaction': {
        if (!live) break;
        const now = reactionsAfter(
          old.reactions === null ? undefined : (JSON.parse(old.reactions) as Record<string, string[]>),
          input.userId,
          input.emoji ?? null,
        );
        this.#sql.setReactions.run(now === undefined ? null : JSON.stringify(now), threadId, seq);
        break;
      }
      case 'hide':
        this.#sql.hideMessage.run(input.userId, threadId, seq);
        break;
    }
    const message = this.#messageAt(threadId, seq);
    const change = frozenChange({
      kind: input.kind,
      threadId,
      messageId: message.id,
      seq,
      userId: input.userId,
      at: input.at,
      ...(input.kind === 'edit' ? { text: message.text } : {}),
      ...(input.kind === 'reaction' ? { emoji: input.emoji ?? null } : {}),
    });
    const row = this.#insertChange(change, input.clientChangeId);
    // A hide concerns the hider alone: only their own inbox hears of it.
    const userIds = input.kind === 'hide' ? [input.userId] : [input.userId, ...input.recipientIds];
    const entries = userIds.map((userId) =>
      Object.freeze({
        type: 'change' as const,
        change,
        userId,
        inboxSeq: this.#append(userId, [null, row, null, null, null, null, null]),
      }),
    );
    return { message, entries, duplicate: false };
  }

  /** Keeps a change (with its idempotency key, if any) and returns its row; runs inside a transaction. */
  #insertChange(change: MessageChange, clientChangeId: string | null): number | bigint {
    return this.#sql.insertChange.run(
      change.threadId,
      change.seq,
      change.kind,
      change.userId,
      change.at,
      change.text ?? null,
      change.emoji ?? null,
      clientChangeId,
    ).lastInsertRowid;
  }

  /** The message at a thread's seq, which the caller knows is stored. */
  #messageAt(threadId: string, seq: number): MessageData {
    return toMessage(this.#sql.messageBySeq.get(threadId, seq) as MessageRow);
  }

  /**
   * After a delete for everyone, copies the WAL back into the database and truncates it, so no older frame still
   * holds an erased text. Deletes are rare, so the extra checkpoint costs little. A checkpoint that another
   * connection's reader holds up stays due.
   */
  #checkpointIfDue(): void {
    if (!this.#checkpointDue) return;
    try {
      const [result] = this.#db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      this.#checkpointDue = result !== undefined && result.busy !== 0;
    } catch {
      // The delete is committed; the checkpoint stays due, and the next write (or close) tries again.
    }
  }

  /** Appends one entry and returns its inbox seq; runs inside the caller's transaction. */
  #append(userId: string, values: EntryValues): number {
    const inboxSeq = this.#latestInboxSeq(userId) + 1;
    this.#sql.insertEntry.run(userId, inboxSeq, ...values);
    if (inboxSeq > this.#maxInbox) this.#sql.pruneInbox.run(userId, inboxSeq - this.#maxInbox);
    return inboxSeq;
  }

  #latestInboxSeq(userId: string): number {
    return (this.#sql.latestInboxSeq.get(userId) as number | null) ?? 0;
  }

  /** Runs a synchronous driver call, turning driver errors into `StorageError` (chat-room errors pass). */
  #run<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (ChatRoomError.is(e)) throw e;
      throw storageError(STORE, doing, e);
    }
  }
}

function prepareAll(db: Database.Database): Statements {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    insertMessage: p(
      `INSERT INTO messages (thread_id, seq, sender_id, kind, text, media, client_message_id, sent_at, reply_to,
                             reply_to_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sender_id, client_message_id) DO NOTHING`,
    ),
    messageByClientId: p(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND client_message_id = ?`,
    ),
    messageBySeq: p(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE thread_id = ? AND seq = ?`),
    messageRowBySeq: p('SELECT row_no, sender_id FROM messages WHERE thread_id = ? AND seq = ?'),
    listMessages: p(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE thread_id = ? AND seq > ? AND seq <= ?
       ORDER BY seq LIMIT ?`,
    ),
    // Walks the (thread_id, seq) index backwards; without beforeSeq, from the newest message.
    history: p(
      `SELECT ${MESSAGE_COLUMNS} FROM messages AS m
       WHERE thread_id = @threadId AND seq > @after AND seq < coalesce(@before, 9223372036854775807)
         AND NOT EXISTS (SELECT 1 FROM hidden_messages AS h
                         WHERE h.user_id = @hiddenFor AND h.thread_id = m.thread_id AND h.seq = m.seq)
       ORDER BY seq DESC LIMIT @limit`,
    ),
    changeByClientId: p(
      'SELECT thread_id, seq FROM message_changes WHERE user_id = ? AND client_change_id = ?',
    ),
    insertChange: p(
      `INSERT INTO message_changes (thread_id, seq, kind, user_id, at, text, emoji, client_change_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    editMessage: p('UPDATE messages SET text = ?, edited_at = ? WHERE thread_id = ? AND seq = ?'),
    deleteMessage: p(
      `UPDATE messages SET text = '', media = NULL, reply_to = NULL, reply_to_id = NULL, reactions = NULL,
                           deleted_at = ?
       WHERE thread_id = ? AND seq = ?`,
    ),
    eraseEdits: p(
      `UPDATE message_changes SET text = '' WHERE thread_id = ? AND seq = ? AND kind = 'edit' AND text <> ''`,
    ),
    eraseQuotes: p(
      `UPDATE messages SET reply_to = json_set(reply_to, '$.preview', '', '$.deleted', json('true'))
       WHERE reply_to_id = ?`,
    ),
    setReactions: p('UPDATE messages SET reactions = ? WHERE thread_id = ? AND seq = ?'),
    hideMessage: p(
      'INSERT INTO hidden_messages (user_id, thread_id, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    lastSeq: p('SELECT max(seq) FROM messages WHERE thread_id = ?').pluck(),
    sendersBetween: p(
      'SELECT DISTINCT sender_id FROM messages WHERE thread_id = ? AND seq > ? AND seq <= ?',
    ).pluck(),
    insertEntry: p(
      `INSERT INTO inbox (user_id, inbox_seq, message_row, change_row, receipt_thread_id, receipt_status,
                          receipt_up_to_seq, receipt_at, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    latestInboxSeq: p('SELECT max(inbox_seq) FROM inbox WHERE user_id = ?').pluck(),
    // Two subqueries, not min() and max() in one: SQLite answers a lone min() or max() from the index, but both
    // at once scan the user's whole inbox.
    inboxBounds: p(
      `SELECT (SELECT min(inbox_seq) FROM inbox WHERE user_id = ?) AS first,
              (SELECT max(inbox_seq) FROM inbox WHERE user_id = ?) AS latest`,
    ),
    // Rows as arrays (see `inboxRow`): the order of these columns is the order `inboxRow` reads.
    readInbox: p(
      `SELECT inbox.inbox_seq, inbox.payload, inbox.receipt_thread_id, inbox.receipt_status,
              inbox.receipt_up_to_seq, inbox.receipt_at, ${MESSAGE_COLUMNS.replace(/\w+/g, 'm.$&')},
              c.kind AS change_kind, c.thread_id AS change_thread_id, c.seq AS change_seq,
              c.user_id AS change_user_id, c.at AS change_at, c.text AS change_text, c.emoji AS change_emoji
       FROM inbox LEFT JOIN messages AS m ON m.row_no = inbox.message_row
                  LEFT JOIN message_changes AS c ON c.row_no = inbox.change_row
       WHERE inbox.user_id = ? AND inbox.inbox_seq > ? ORDER BY inbox.inbox_seq LIMIT ?`,
    ).raw(true),
    // Entries name their message's row; the few older ones kept as JSON (a message this store never held) count
    // as they read.
    highestReceived: p(
      `SELECT thread_id, max(seq) AS seq FROM (
         SELECT m.thread_id, m.seq, m.sender_id
         FROM inbox AS i JOIN messages AS m ON m.row_no = i.message_row
         WHERE i.user_id = @userId AND i.inbox_seq > @after AND i.inbox_seq <= @upTo
         UNION ALL
         SELECT json_extract(payload, '$.message.threadId'), json_extract(payload, '$.message.seq'),
                json_extract(payload, '$.message.senderId')
         FROM inbox
         WHERE user_id = @userId AND inbox_seq > @after AND inbox_seq <= @upTo AND payload ->> '$.type' = 'message')
       WHERE sender_id <> @userId GROUP BY thread_id`,
    ),
    pruneInbox: p('DELETE FROM inbox WHERE user_id = ? AND inbox_seq <= ?'),
    saveWatermark: p(
      `INSERT INTO watermarks (thread_id, user_id, delivered, "read", delivered_at, read_at, since)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (thread_id, user_id) DO UPDATE SET
         delivered = max(delivered, excluded.delivered),
         delivered_at = CASE WHEN excluded.delivered > delivered THEN excluded.delivered_at ELSE delivered_at END,
         "read" = max("read", excluded."read"),
         read_at = CASE WHEN excluded."read" > "read" THEN excluded.read_at ELSE read_at END,
         since = coalesce(excluded.since, since)`,
    ),
    loadWatermarks: p(
      `SELECT user_id, delivered, "read", delivered_at, read_at, since FROM watermarks
       WHERE thread_id = ? ORDER BY rowid`,
    ),
    getCursor: p('SELECT value FROM cursors WHERE user_id = ? AND name = ?'),
    advanceCursor: p(
      `INSERT INTO cursors (user_id, name, value) VALUES (?, ?, ?)
       ON CONFLICT (user_id, name) DO UPDATE SET value = max(value, excluded.value)`,
    ),
  };
}

/** Wraps `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken before the first read. */
function immediate<A extends unknown[], R>(db: Database.Database, fn: (...args: A) => R): (...args: A) => R {
  const tx = db.transaction(fn);
  return (...args: A) => tx.immediate(...args);
}

/** A driver's `LIMIT` for a limit that `Array.prototype.slice` would apply (the in-memory store's meaning). */
function sqlLimit(limit: number): number {
  if (Number.isNaN(limit)) return 0;
  if (limit >= Number.MAX_SAFE_INTEGER) return -1;
  return Math.max(0, Math.trunc(limit));
}

function toMessage(row: MessageRow): MessageData {
  return frozenMessage({
    id: messageId(row.thread_id, row.seq),
    threadId: row.thread_id,
    seq: row.seq,
    senderId: row.sender_id,
    kind: row.kind,
    text: row.text,
    ...(row.media === null ? {} : { media: JSON.parse(row.media) as MediaRef }),
    clientMessageId: row.client_message_id,
    sentAt: row.sent_at,
    ...(row.reply_to === null ? {} : { replyTo: JSON.parse(row.reply_to) as ReplyQuote }),
    ...(row.edited_at === null ? {} : { editedAt: row.edited_at }),
    ...(row.deleted_at === null ? {} : { deletedAt: row.deleted_at }),
    ...(row.reactions === null ? {} : { reactions: JSON.parse(row.reactions) as Record<string, string[]> }),
  });
}

/** A reply's quote with its fields only, as stored. */
function quoteOf(q: ReplyQuote): ReplyQuote {
  return {
    messageId: q.messageId,
    senderId: q.senderId,
    kind: q.kind,
    preview: q.preview,
    ...(q.deleted === undefined ? {} : { deleted: q.deleted }),
  };
}

/**
 * An inbox row from the values `readInbox` selects, in their order. The statement answers arrays because
 * better-sqlite3 builds an object of 25 columns per row much more slowly than this literal does.
 */
function inboxRow(v: readonly unknown[]): InboxRow {
  return {
    inbox_seq: v[0],
    payload: v[1],
    receipt_thread_id: v[2],
    receipt_status: v[3],
    receipt_up_to_seq: v[4],
    receipt_at: v[5],
    thread_id: v[6],
    seq: v[7],
    sender_id: v[8],
    kind: v[9],
    text: v[10],
    media: v[11],
    client_message_id: v[12],
    sent_at: v[13],
    reply_to: v[14],
    edited_at: v[15],
    deleted_at: v[16],
    reactions: v[17],
    change_kind: v[18],
    change_thread_id: v[19],
    change_seq: v[20],
    change_user_id: v[21],
    change_at: v[22],
    change_text: v[23],
    change_emoji: v[24],
  } as InboxRow;
}

function toEntry(userId: string, row: InboxRow): InboxEntry {
  if (row.payload !== null) return frozenEntry(userId, row.inbox_seq, JSON.parse(row.payload) as InboxItem);
  if (row.receipt_thread_id !== null) {
    const receipt: ReceiptData = {
      threadId: row.receipt_thread_id,
      status: row.receipt_status,
      upToSeq: row.receipt_up_to_seq,
      at: row.receipt_at,
    };
    return frozenEntry(userId, row.inbox_seq, { type: 'receipt', receipt });
  }
  if (row.change_kind !== null) {
    const change: MessageChange = {
      kind: row.change_kind,
      threadId: row.change_thread_id,
      messageId: messageId(row.change_thread_id, row.change_seq),
      seq: row.change_seq,
      userId: row.change_user_id,
      at: row.change_at,
      ...(row.change_text === null ? {} : { text: row.change_text }),
      ...(row.change_emoji !== null || row.change_kind === 'reaction' ? { emoji: row.change_emoji } : {}),
    };
    return frozenEntry(userId, row.inbox_seq, { type: 'change', change });
  }
  return frozenEntry(userId, row.inbox_seq, { type: 'message', message: toMessage(row) });
}
