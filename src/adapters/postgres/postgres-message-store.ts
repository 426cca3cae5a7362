import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import type {
  InboxEntry,
  InboxItem,
  InboxPage,
  MediaRef,
  MessageChange,
  MessageChangeKind,
  MessageData,
  MessageKind,
  ReplyQuote,
  Watermark,
} from '../../domain';
import {
  ChatRoomError,
  NotFoundError,
  ResyncRequiredError,
  StorageError,
  ValidationError,
  frozenChange,
  frozenEntry,
  frozenMessage,
  frozenReceipt,
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
import { inTransaction, migrateOnce, requireSchemaName } from './shared';

/** Options of the PostgreSQL store. */
export interface PostgresMessageStoreOptions {
  /** A ready pool, owned by the caller: `close()` leaves it open. Give this or `connectionString`. */
  readonly pool?: Pool;
  /** Makes a pool the store owns and ends on `close()`; ignored when `pool` is given. */
  readonly connectionString?: string;
  /** The schema holding the tables (created when missing). Default: `public`. */
  readonly schema?: string;
  /** How many of the newest entries each inbox keeps; older cursors get `RESYNC_REQUIRED`. Default: all. */
  readonly maxInboxEntries?: number;
  /**
   * Group commit: the most appends (`appendMessage` and `appendEntry` calls) written in one transaction. The
   * appends that arrive while the store's batches are busy wait and go together in the next transaction, in
   * call order, one `SAVEPOINT` each, on one pooled connection with one `COMMIT`. `1` turns group commit off:
   * one transaction per append. Default: 256.
   */
  readonly maxBatch?: number;
  /**
   * How many batches may run at once, each on its own pooled connection (keep it below the pool's size so
   * reads still get connections). Batches take their counter locks one after another in the order they took
   * their appends, so batches that touch the same thread or inbox commit in call order, and disjoint ones
   * overlap. `1`: one batch at a time. Default: 4.
   */
  readonly maxBatchesInFlight?: number;
}

/** What the append path has done so far: a read-only view, for tests and monitoring. */
export interface PostgresMessageStoreStats {
  /** Transactions the append path committed (one per batch). */
  readonly commits: number;
  /** Appends (`appendMessage` and `appendEntry` calls) those transactions settled, failed ones included. */
  readonly appends: number;
  /** The most appends one transaction has carried. */
  readonly largestBatch: number;
}

/** A queued append: its work inside the batch's transaction, the counter rows it bumps, its caller's promise. */
interface PendingAppend {
  readonly what: string;
  readonly threadIds: readonly string[];
  readonly userIds: readonly string[];
  readonly work: (c: PoolClient) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** The append's idempotency key is already taken: roll its savepoint back and report the earlier message. */
class Duplicate extends Error {
  constructor(readonly earlier: MessageData) {
    super('duplicate idempotency key');
  }
}

/** The change's idempotency key is already taken: roll its savepoint back and report the message it changed. */
class DuplicateChange extends Error {
  constructor(readonly messageId: string) {
    super('duplicate change key');
  }
}

/** A rollback to a savepoint failed: the batch's transaction is unusable and fails as a whole. */
class BatchBroken extends Error {}

interface MessageRow {
  thread_id: string;
  seq: string;
  id: string;
  sender_id: string;
  kind: string;
  text: string;
  media: MediaRef | null;
  client_message_id: string;
  sent_at: string;
  reply_to: ReplyQuote | null;
  edited_at: string | null;
  deleted_at: string | null;
  reactions: Record<string, string[]> | null;
}

/** A row of `message_changes`, as an inbox read names its columns. */
interface ChangeColumns {
  change_kind: MessageChangeKind | null;
  change_thread_id: string;
  change_seq: string;
  change_user_id: string;
  change_at: string;
  change_text: string | null;
  change_emoji: string | null;
}

/** An inbox row as `readInbox` reads it: a JSON payload, or the columns of the change or message it names. */
type InboxRow = { latest: string; inbox_seq: string | null; payload: InboxItem | null } & ChangeColumns &
  (({ thread_id: string } & MessageRow) | { thread_id: null });

/** What an inbox row holds: a receipt's JSON, or the name of a message or of a change. */
type EntryRef =
  | { readonly payload: InboxItem }
  | { readonly threadId: string; readonly seq: number }
  | { readonly changeId: string };

const MESSAGE_COLUMNS =
  'thread_id, seq, id, sender_id, kind, text, media, client_message_id, sent_at, reply_to, edited_at, deleted_at, reactions';

/**
 * A `MessageStore` on PostgreSQL: messages, inboxes, watermarks and cursors survive restarts and are shared by
 * every server process using the same schema. Behaves like `InMemoryMessageStore` (the conformance suite checks
 * it).
 *
 * Seqs come from counter rows (`thread_counters`, `inbox_counters`) bumped inside the appending transaction, not
 * from SEQUENCEs: a sequence hands out numbers that commit out of order, so a reader could page past seq 7 while
 * seq 6 is still uncommitted and never see it. Bumping a counter row takes its row lock until commit, so the
 * appends to one thread (or one inbox) commit one after another in seq order, and a rolled-back append gives its
 * number back. Every snapshot therefore sees a gapless prefix `1..last_seq` of each inbox, which is what lets
 * `readInbox` (which only sees committed rows) page without ever skipping an entry.
 *
 * Appends use group commit: the `appendMessage` and `appendEntry` calls that arrive while the store's batches
 * are busy go together in the next transaction on one pooled connection (at most `maxBatch`, with up to
 * `maxBatchesInFlight` batches running), in call order, each inside its own `SAVEPOINT`: a failing append rolls
 * back to its savepoint and rejects alone, the others commit, and every promise settles only after the one
 * `COMMIT`. A batch first takes the row locks of every counter it will bump, thread counters then inbox
 * counters, each sorted by id, and only then runs its appends; batches of one store take these locks one after
 * another in the order they took their appends, so seqs follow call order. Every append path takes counter locks
 * in that one global order, so concurrent batches (of this store or of other processes) cannot deadlock; the
 * locks are held to the `COMMIT`, so readers still see a gapless prefix of every inbox.
 *
 * A message row holds the message as it is now, and inbox rows name messages and changes rather than copy them:
 * an edit, a delete or a reaction writes one row, and a delete for everyone erases the text where it lives (the
 * message row, the texts of its edits, the quotes of replies to it). A change runs in the append batches, with
 * its thread's counter locked, so the changes of a thread apply one after another.
 *
 * @example
 * ```ts
 * import { Pool } from 'pg'
 * import { ChatSystem } from 'chat-room'
 * import { PostgresMessageStore } from 'chat-room/postgres'
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL })
 * const store = new PostgresMessageStore({ pool, schema: 'chat' })
 * await store.start() // applies the migrations
 * const chat = ChatSystem.create({ store })
 * ```
 */
export class PostgresMessageStore implements MessageStore {
  readonly #pool: Pool;
  readonly #ownsPool: boolean;
  /** The quoted schema, safe to splice into SQL. */
  readonly #s: string;
  /** The name of the append statement, prepared once per connection (the text differs per schema). */
  readonly #appendStatement: string;
  readonly #maxInbox: number;
  readonly #maxBatch: number;
  /** Applies the migrations once (see `migrateOnce`). */
  readonly #migrate: () => Promise<void>;
  #closed = false;
  #queue: PendingAppend[] = [];
  readonly #maxInFlight: number;
  /** The running batch runners. */
  readonly #runners = new Set<Promise<void>>();
  /** Whether a runner is waiting for a connection and will take the queued appends when it has one. */
  #gathering = false;
  /** Settles when the newest batch holds its counter locks (or gave up): the next batch locks after it. */
  #locking: Promise<void> = Promise.resolve();
  #stats = { commits: 0, appends: 0, largestBatch: 0 };

  /**
   * Creates a store; nothing touches the database until `start()` or the first call.
   *
   * @param options - the pool (or a connection string), the schema, retention and group commit
   * @throws ValidationError when neither `pool` nor `connectionString` is given, the schema name is empty or
   *   longer than 63 bytes, or `maxInboxEntries`, `maxBatch` or `maxBatchesInFlight` is not a positive integer
   */
  constructor(options: PostgresMessageStoreOptions) {
    const schema = requireSchemaName(options.schema);
    const max = requireMaxInboxEntries(options.maxInboxEntries);
    const maxBatch = options.maxBatch ?? 256;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new ValidationError('maxBatch must be a positive integer', { details: { field: 'maxBatch' } });
    }
    this.#maxBatch = maxBatch;
    const inFlight = options.maxBatchesInFlight ?? 4;
    if (!Number.isSafeInteger(inFlight) || inFlight < 1) {
      throw new ValidationError('maxBatchesInFlight must be a positive integer', {
        details: { field: 'maxBatchesInFlight' },
      });
    }
    this.#maxInFlight = inFlight;
    if (options.pool !== undefined) {
      this.#pool = options.pool;
      this.#ownsPool = false;
    } else if (options.connectionString !== undefined) {
      this.#pool = new Pool({ connectionString: options.connectionString });
      this.#ownsPool = true;
    } else {
      throw new ValidationError('give a pool or a connectionString', { details: { field: 'pool' } });
    }
    this.#migrate = migrateOnce(this.#pool, schema, 'PostgresMessageStore');
    this.#s = `"${schema.replace(/"/g, '""')}"`;
    this.#appendStatement = `chat_room_append_${createHash('sha256').update(schema).digest('hex').slice(0, 24)}`;
    this.#maxInbox = max;
  }

  /**
   * Creates the schema when missing and applies the migrations it lacks; safe to call from several processes
   * at once (an advisory lock serialises them) and more than once.
   *
   * @throws StorageError when the database cannot be reached or a migration fails
   */
  async start(): Promise<void> {
    return this.#migrate();
  }

  /** Stops using the database once the queued appends are written; ends the pool only when the store made it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#runners.size > 0) await Promise.all([...this.#runners]);
    if (this.#ownsPool) await this.#pool.end();
  }

  /** What the append path has done so far (commits, appends, the largest batch). */
  get stats(): PostgresMessageStoreStats {
    return { ...this.#stats };
  }

  async appendMessage(input: NewMessage): Promise<AppendResult> {
    // Copy the input first: the caller may change its objects while we wait for the database.
    const userIds = [input.senderId, ...input.recipientIds];
    const media = input.media === undefined ? undefined : { ...input.media };
    const replyTo = input.replyTo === undefined ? undefined : quoteOf(input.replyTo);
    const fields = {
      threadId: input.threadId,
      senderId: input.senderId,
      kind: input.kind,
      text: input.text,
      clientMessageId: input.clientMessageId,
      sentAt: input.sentAt,
    };
    return this.#run('append a message', () =>
      this.#enqueue('append a message', [fields.threadId], userIds, async (c): Promise<AppendResult> => {
        const counts = new Map<string, number>();
        for (const id of userIds) counts.set(id, (counts.get(id) ?? 0) + 1);
        const ids = [...counts.keys()].sort();
        // One statement (one round trip): bump the thread counter, insert the message (unless its key is taken),
        // bump the inbox counters in user-id order, insert the inbox rows naming the message.
        const result = await c.query<{ seq: string; user_id: string | null; last_seq: string | null }>({
          name: this.#appendStatement,
          text: `WITH t AS (
             INSERT INTO ${this.#s}.thread_counters AS t (thread_id, last_seq) VALUES ($1, 1)
             ON CONFLICT (thread_id) DO UPDATE SET last_seq = t.last_seq + 1
             RETURNING last_seq
           ), m AS (
             INSERT INTO ${this.#s}.messages
               (thread_id, seq, id, sender_id, kind, text, media, client_message_id, sent_at, reply_to, reply_to_id)
             SELECT $1, t.last_seq, $1::text || '#' || t.last_seq, $2, $3, $4, $5::jsonb, $6, $7, $10::jsonb, $11
             FROM t
             ON CONFLICT (sender_id, client_message_id) DO NOTHING
             RETURNING seq, id
           ), k AS (
             INSERT INTO ${this.#s}.inbox_counters AS k (user_id, last_seq)
             SELECT v.u, v.n FROM unnest($8::text[], $9::bigint[]) WITH ORDINALITY AS v(u, n, o)
             WHERE EXISTS (SELECT 1 FROM m) ORDER BY v.o
             ON CONFLICT (user_id) DO UPDATE SET last_seq = k.last_seq + EXCLUDED.last_seq
             RETURNING user_id, last_seq
           ), e AS (
             INSERT INTO ${this.#s}.inbox (user_id, inbox_seq, thread_id, seq)
             SELECT k.user_id, q, $1, m.seq
             FROM k CROSS JOIN m JOIN unnest($8::text[], $9::bigint[]) AS v(u, n) ON v.u = k.user_id
             CROSS JOIN LATERAL generate_series(k.last_seq - v.n + 1, k.last_seq) AS q
           )
           SELECT m.seq, k.user_id, k.last_seq FROM m LEFT JOIN k ON true`,
          values: [
            fields.threadId,
            fields.senderId,
            fields.kind,
            fields.text,
            media === undefined ? null : JSON.stringify(media),
            fields.clientMessageId,
            fields.sentAt,
            ids,
            ids.map((id) => counts.get(id) ?? 0),
            replyTo === undefined ? null : JSON.stringify(replyTo),
            replyTo?.messageId ?? null,
          ],
        });
        const first = result.rows[0];
        if (first === undefined) {
          // The key is taken (by an earlier append, maybe of this batch): report that message, and give the
          // counter bump back (no gap) by failing this append's savepoint.
          const rows = await c.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS} FROM ${this.#s}.messages WHERE sender_id = $1 AND client_message_id = $2`,
            [fields.senderId, fields.clientMessageId],
          );
          if (rows.rows[0] === undefined)
            throw new Error('idempotency key conflicted but no message holds it');
          throw new Duplicate(toMessage(rows.rows[0]));
        }
        const seq = Number(first.seq);
        const message = frozenMessage({
          id: messageId(fields.threadId, seq),
          seq,
          ...fields,
          ...(media === undefined ? {} : { media }),
          ...(replyTo === undefined ? {} : { replyTo }),
        });
        const next = new Map<string, number>();
        for (const row of result.rows) {
          if (row.user_id === null || row.last_seq === null) continue;
          next.set(row.user_id, Number(row.last_seq) - (counts.get(row.user_id) ?? 0) + 1);
        }
        if (next.size !== ids.length) throw new Error('inbox counter update returned too few rows');
        const entries = userIds.map((userId) => {
          const inboxSeq = next.get(userId) ?? 0;
          next.set(userId, inboxSeq + 1);
          return frozenEntry(userId, inboxSeq, { type: 'message', message });
        });
        await this.#trim(c, next);
        return { message, entries, duplicate: false };
      }).catch((e: unknown) => {
        if (e instanceof Duplicate) return { message: e.earlier, entries: [], duplicate: true };
        throw e;
      }),
    );
  }

  async findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageData | undefined> {
    return this.#run('find a message', async () => {
      const rows = await this.#query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM ${this.#s}.messages WHERE sender_id = $1 AND client_message_id = $2`,
        [senderId, clientMessageId],
      );
      return rows[0] === undefined ? undefined : toMessage(rows[0]);
    });
  }

  async getMessage(messageId: string): Promise<MessageData | undefined> {
    return this.#run('get a message', async () => {
      const rows = await this.#query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM ${this.#s}.messages WHERE id = $1`,
        [messageId],
      );
      return rows[0] === undefined ? undefined : toMessage(rows[0]);
    });
  }

  async listMessages(
    threadId: string,
    afterSeq: number,
    upToSeq: number,
    limit: number,
  ): Promise<MessageData[]> {
    return this.#run('list messages', async () => {
      const rows = await this.#query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM ${this.#s}.messages
         WHERE thread_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
        [threadId, bound(afterSeq), bound(upToSeq), sqlLimit(limit)],
      );
      return rows.map(toMessage);
    });
  }

  async applyChange(input: MessageChangeInput): Promise<ChangeResult> {
    // Copied first, like appendMessage's input: the change runs later.
    const change: MessageChangeInput = { ...input, recipientIds: [...input.recipientIds] };
    const key = parseMessageId(change.messageId);
    // A hide concerns the hider alone: only their own inbox hears of it.
    const userIds = change.kind === 'hide' ? [change.userId] : [change.userId, ...change.recipientIds];
    return this.#run('apply a change', () =>
      this.#enqueue('apply a change', key === undefined ? [] : [key.threadId], userIds, (c) =>
        this.#applyChange(c, change, userIds),
      ).catch(async (e: unknown): Promise<ChangeResult> => {
        if (!(e instanceof DuplicateChange)) throw e;
        const message = await this.getMessage(e.messageId);
        if (message === undefined) throw new Error('a change key names a message that is not stored');
        return { message, entries: [], duplicate: true };
      }),
    );
  }

  async history(threadId: string, query: HistoryQuery): Promise<MessageData[]> {
    return this.#run('read history', async () => {
      // Walks the primary key (thread_id, seq) backwards; without beforeSeq, from the newest message.
      const rows = await this.#query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM ${this.#s}.messages AS m
         WHERE thread_id = $1 AND seq > $2 AND seq < $3
           AND NOT EXISTS (SELECT 1 FROM ${this.#s}.hidden_messages AS h
                           WHERE h.user_id = $4 AND h.thread_id = m.thread_id AND h.seq = m.seq)
         ORDER BY seq DESC LIMIT $5`,
        [
          threadId,
          bound(query.afterSeq),
          bound(query.beforeSeq ?? Number.POSITIVE_INFINITY),
          query.hiddenFor ?? null,
          sqlLimit(query.limit),
        ],
      );
      return rows.map(toMessage);
    });
  }

  async lastSeq(threadId: string): Promise<number> {
    return this.#run('read the last seq', async () => {
      const rows = await this.#query<{ last_seq: string }>(
        `SELECT last_seq FROM ${this.#s}.thread_counters WHERE thread_id = $1`,
        [threadId],
      );
      return rows[0] === undefined ? 0 : Number(rows[0].last_seq);
    });
  }

  async sendersBetween(threadId: string, afterSeq: number, upToSeq: number): Promise<string[]> {
    return this.#run('list senders', async () => {
      const rows = await this.#query<{ sender_id: string }>(
        `SELECT DISTINCT sender_id FROM ${this.#s}.messages WHERE thread_id = $1 AND seq > $2 AND seq <= $3`,
        [threadId, bound(afterSeq), bound(upToSeq)],
      );
      return rows.map((r) => r.sender_id);
    });
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    const copy = copyItem(item);
    return this.#run('append an inbox entry', () =>
      this.#enqueue('append an inbox entry', [], [userId], async (c) => {
        const [entry] = await this.#appendItem(c, userId, copy);
        if (entry === undefined) throw new Error('no inbox entry was written');
        return entry;
      }),
    );
  }

  async readInbox(userId: string, after: number, limit: number): Promise<InboxPage> {
    return this.#run('read an inbox', async () => {
      // One statement, so the counter and the rows come from one snapshot: an append trimming old entries
      // between two statements could otherwise make a page start later than `after + 1`.
      // Entries name their message or change: joined here, so each reads as it is now.
      const rows = await this.#query<InboxRow>(
        `SELECT c.last_seq AS latest, i.inbox_seq, i.payload, ${MESSAGE_COLUMNS.replace(/\w+/g, 'm.$&')},
                ch.kind AS change_kind, ch.thread_id AS change_thread_id, ch.seq AS change_seq,
                ch.user_id AS change_user_id, ch.at AS change_at, ch.text AS change_text, ch.emoji AS change_emoji
         FROM ${this.#s}.inbox_counters c
         LEFT JOIN LATERAL (
           SELECT inbox_seq, payload, thread_id, seq, change_id FROM ${this.#s}.inbox
           WHERE user_id = c.user_id AND inbox_seq > $2 AND inbox_seq <= c.last_seq
           ORDER BY inbox_seq LIMIT $3
         ) i ON true
         LEFT JOIN ${this.#s}.messages m ON m.thread_id = i.thread_id AND m.seq = i.seq
         LEFT JOIN ${this.#s}.message_changes ch ON ch.id = i.change_id
         WHERE c.user_id = $1
         ORDER BY i.inbox_seq`,
        [userId, bound(after), sqlLimit(limit)],
      );
      const latest = rows[0] === undefined ? 0 : Number(rows[0].latest);
      const oldest = Math.max(1, latest - this.#maxInbox + 1);
      if (after > latest || after < oldest - 1) {
        throw new ResyncRequiredError(
          after > latest
            ? `cursor ${after} is ahead of the inbox (latest ${latest}); rebuild local state`
            : `entries after ${after} are no longer kept (oldest kept is ${oldest}); rebuild local state`,
          { details: { after, oldest, latest } },
        );
      }
      const entries = rows.flatMap((r) => (r.inbox_seq === null ? [] : [toEntry(userId, r)]));
      const last = entries[entries.length - 1];
      const cursor = last === undefined ? after : last.inboxSeq;
      return { entries, hasMore: cursor < latest, cursor, latest };
    });
  }

  async latestInboxSeq(userId: string): Promise<number> {
    return this.#run('read the latest inbox seq', async () => {
      const rows = await this.#query<{ last_seq: string }>(
        `SELECT last_seq FROM ${this.#s}.inbox_counters WHERE user_id = $1`,
        [userId],
      );
      return rows[0] === undefined ? 0 : Number(rows[0].last_seq);
    });
  }

  async highestReceived(userId: string, after: number, upTo: number): Promise<Map<string, number>> {
    return this.#run('read an inbox', async () => {
      // Entries beyond the retention still in the table (trimming runs in batches) count for nothing.
      const keep = Number.isFinite(this.#maxInbox) ? this.#maxInbox : Number.MAX_SAFE_INTEGER;
      // Entries name their message; the few older ones kept as JSON (a message this store never held) count as
      // they read.
      const rows = await this.#query<{ thread_id: string; seq: string }>(
        `WITH e AS (
           SELECT i.thread_id, i.seq, i.payload
           FROM ${this.#s}.inbox i JOIN ${this.#s}.inbox_counters c ON c.user_id = i.user_id
           WHERE i.user_id = $1 AND i.inbox_seq > $2 AND i.inbox_seq <= least($3, c.last_seq)
             AND i.inbox_seq > c.last_seq - $4
         )
         SELECT thread_id, max(seq) AS seq FROM (
           SELECT m.thread_id, m.seq, m.sender_id
           FROM e JOIN ${this.#s}.messages m ON m.thread_id = e.thread_id AND m.seq = e.seq
           UNION ALL
           SELECT e.payload->'message'->>'threadId', (e.payload->'message'->>'seq')::bigint,
                  e.payload->'message'->>'senderId'
           FROM e WHERE e.payload->>'type' = 'message'
         ) x
         WHERE sender_id <> $1
         GROUP BY thread_id`,
        [userId, bound(after), bound(upTo), keep],
      );
      return new Map(rows.map((r) => [r.thread_id, Number(r.seq)]));
    });
  }

  async saveWatermark(threadId: string, watermark: Watermark): Promise<void> {
    const w = { ...watermark };
    await this.#run('save a watermark', async () => {
      // Like the in-memory store: each field only moves forward, its time moves with it, and `since` keeps its
      // value unless a save gives a new one.
      await this.#query(
        `INSERT INTO ${this.#s}.watermarks AS w
           (thread_id, user_id, delivered, delivered_at, read, read_at, since)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (thread_id, user_id) DO UPDATE SET
           delivered    = GREATEST(w.delivered, EXCLUDED.delivered),
           delivered_at = CASE WHEN EXCLUDED.delivered > w.delivered THEN EXCLUDED.delivered_at
                               ELSE w.delivered_at END,
           read         = GREATEST(w.read, EXCLUDED.read),
           read_at      = CASE WHEN EXCLUDED.read > w.read THEN EXCLUDED.read_at ELSE w.read_at END,
           since        = COALESCE(EXCLUDED.since, w.since)`,
        [threadId, w.userId, w.delivered, w.deliveredAt, w.read, w.readAt, w.since ?? null],
      );
    });
  }

  async loadWatermarks(threadId: string): Promise<Watermark[]> {
    return this.#run('load watermarks', async () => {
      const rows = await this.#query<{
        user_id: string;
        delivered: string;
        delivered_at: string;
        read: string;
        read_at: string;
        since: string | null;
      }>(
        `SELECT user_id, delivered, delivered_at, read, read_at, since FROM ${this.#s}.watermarks
         WHERE thread_id = $1 ORDER BY saved_order`,
        [threadId],
      );
      return rows.map((r) =>
        Object.freeze({
          userId: r.user_id,
          delivered: Number(r.delivered),
          deliveredAt: Number(r.delivered_at),
          read: Number(r.read),
          readAt: Number(r.read_at),
          ...(r.since === null ? {} : { since: Number(r.since) }),
        }),
      );
    });
  }

  async getCursor(userId: string, name: string): Promise<number> {
    return this.#run('read a cursor', async () => {
      const rows = await this.#query<{ value: string }>(
        `SELECT value FROM ${this.#s}.cursors WHERE user_id = $1 AND name = $2`,
        [userId, name],
      );
      return rows[0] === undefined ? 0 : Number(rows[0].value);
    });
  }

  async advanceCursor(userId: string, name: string, value: number): Promise<number> {
    return this.#run('advance a cursor', () =>
      this.#transaction(async (c) => {
        await c.query(
          `INSERT INTO ${this.#s}.cursors (user_id, name, value) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`,
          [userId, name],
        );
        const locked = await c.query<{ value: string }>(
          `SELECT value FROM ${this.#s}.cursors WHERE user_id = $1 AND name = $2 FOR UPDATE`,
          [userId, name],
        );
        const old = Number(locked.rows[0]?.value ?? 0);
        if (value > old) {
          await c.query(`UPDATE ${this.#s}.cursors SET value = $3 WHERE user_id = $1 AND name = $2`, [
            userId,
            name,
            value,
          ]);
        }
        return old;
      }),
    );
  }

  /**
   * Applies a change and appends its entries; runs inside the batch's transaction, which holds the counter locks
   * of the message's thread and of every inbox it writes to.
   */
  async #applyChange(
    c: PoolClient,
    input: MessageChangeInput,
    userIds: readonly string[],
  ): Promise<ChangeResult> {
    const earlier = await c.query<{ thread_id: string; seq: string }>(
      `SELECT thread_id, seq FROM ${this.#s}.message_changes WHERE user_id = $1 AND client_change_id = $2`,
      [input.userId, input.clientChangeId],
    );
    const first = earlier.rows[0];
    if (first !== undefined) throw new DuplicateChange(messageId(first.thread_id, Number(first.seq)));
    const key = parseMessageId(input.messageId);
    if (key === undefined) throw new NotFoundError(`no message ${input.messageId}`);
    if (input.kind === 'edit' && typeof input.text !== 'string') {
      throw new ValidationError('an edit needs its new text');
    }
    const { threadId, seq } = key;
    const where = `WHERE thread_id = $1 AND seq = $2`;
    const locked = await c.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM ${this.#s}.messages ${where} FOR UPDATE`,
      [threadId, seq],
    );
    const old = locked.rows[0];
    if (old === undefined) throw new NotFoundError(`no message ${input.messageId}`);
    // A deleted message stays deleted: nothing changes a tombstone, so an edit racing a delete brings no text back.
    const live = old.deleted_at === null;
    let now = toMessage(old);
    const update = async (set: string, values: readonly unknown[]): Promise<void> => {
      const rows = await c.query<MessageRow>(
        `UPDATE ${this.#s}.messages SET ${set} ${where} RETURNING ${MESSAGE_COLUMNS}`,
        [threadId, seq, ...values],
      );
      now = toMessage(rows.rows[0] as MessageRow);
    };
    switch (input.kind) {
      case 'edit':
        if (live) await update('text = $3, edited_at = $4', [input.text, input.at]);
        break;
      case 'delete':
        // Every place the text lives: the row, its edits' texts, the quotes of replies to it.
        if (live) {
          await update(
            `text = '', media = NULL, reply_to = NULL, reply_to_id = NULL, reactions = NULL, deleted_at = $3`,
            [input.at],
          );
        }
        await c.query(
          `UPDATE ${this.#s}.message_changes SET text = '' ${where} AND kind = 'edit' AND text <> ''`,
          [threadId, seq],
        );
        await c.query(
          `UPDATE ${this.#s}.messages SET reply_to = reply_to || '{"preview": "", "deleted": true}'::jsonb
           WHERE reply_to_id = $1`,
          [now.id],
        );
        break;
      case 'reaction': {
        if (!live) break;
        const reactions = reactionsAfter(now.reactions, input.userId, input.emoji ?? null);
        await update('reactions = $3::json', [reactions === undefined ? null : JSON.stringify(reactions)]);
        break;
      }
      case 'hide':
        await c.query(
          `INSERT INTO ${this.#s}.hidden_messages (user_id, thread_id, seq) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING`,
          [input.userId, threadId, seq],
        );
        break;
    }
    const change = frozenChange({
      kind: input.kind,
      threadId,
      messageId: now.id,
      seq,
      userId: input.userId,
      at: input.at,
      ...(input.kind === 'edit' ? { text: now.text } : {}),
      ...(input.kind === 'reaction' ? { emoji: input.emoji ?? null } : {}),
    });
    // Another process may have taken the key since the check above: then this change is the retry, undone.
    const changeId = await this.#insertChange(c, change, input.clientChangeId);
    if (changeId === undefined) throw new DuplicateChange(now.id);
    const entries = await this.#appendEntries(c, userIds, { type: 'change', change }, { changeId });
    return { message: now, entries, duplicate: false };
  }

  /** Keeps a change (with its idempotency key, if any); its id, or `undefined` when the key is taken. */
  async #insertChange(
    c: PoolClient,
    change: MessageChange,
    clientChangeId: string | null,
  ): Promise<string | undefined> {
    const inserted = await c.query<{ id: string }>(
      `INSERT INTO ${this.#s}.message_changes (thread_id, seq, kind, user_id, at, text, emoji, client_change_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (user_id, client_change_id) DO NOTHING
       RETURNING id`,
      [
        change.threadId,
        change.seq,
        change.kind,
        change.userId,
        change.at,
        change.text ?? null,
        change.emoji ?? null,
        clientChangeId,
      ],
    );
    return inserted.rows[0]?.id;
  }

  /**
   * Appends an item to one inbox: a receipt as its JSON; a message or a change, which must name a stored
   * message, by name (a change is kept first). Runs inside the caller's transaction.
   */
  async #appendItem(c: PoolClient, userId: string, item: InboxItem): Promise<InboxEntry[]> {
    if (item.type === 'receipt') return this.#appendEntries(c, [userId], item, { payload: item });
    const { threadId, seq } = item.type === 'message' ? item.message : item.change;
    const stored = await c.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM ${this.#s}.messages WHERE thread_id = $1 AND seq = $2`,
      [threadId, seq],
    );
    const row = stored.rows[0];
    // An entry names a stored message; one the store does not hold would be handed back as something else.
    if (row === undefined || (item.type === 'message' && row.sender_id !== item.message.senderId)) {
      throw new ValidationError(`no stored message ${threadId}#${seq} to put in an inbox`);
    }
    if (item.type === 'message') {
      const message = toMessage(row);
      return this.#appendEntries(c, [userId], { type: 'message', message }, { threadId, seq: message.seq });
    }
    const change = frozenChange({ ...item.change, messageId: row.id });
    const changeId = (await this.#insertChange(c, change, null)) as string;
    return this.#appendEntries(c, [userId], { type: 'change', change }, { changeId });
  }

  /**
   * Appends one entry per user id (in the given order, repeats included), each holding `ref`, and trims what
   * retention drops. Runs inside the caller's transaction.
   */
  async #appendEntries(
    c: PoolClient,
    userIds: readonly string[],
    item: InboxItem,
    ref: EntryRef,
  ): Promise<InboxEntry[]> {
    const counts = new Map<string, number>();
    for (const id of userIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    // Bump each counter once by its count, in one statement that takes the row locks in user-id order (so two
    // appends never wait on each other in a cycle); then hand the numbers out in the order the ids were given.
    const ids = [...counts.keys()].sort();
    const bumped = await c.query<{ user_id: string; last_seq: string }>(
      `INSERT INTO ${this.#s}.inbox_counters AS t (user_id, last_seq)
       SELECT u, n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS v(u, n, o) ORDER BY o
       ON CONFLICT (user_id) DO UPDATE SET last_seq = t.last_seq + EXCLUDED.last_seq
       RETURNING user_id, last_seq`,
      [ids, ids.map((id) => counts.get(id) ?? 0)],
    );
    const next = new Map<string, number>();
    for (const row of bumped.rows)
      next.set(row.user_id, Number(row.last_seq) - (counts.get(row.user_id) ?? 0) + 1);
    if (next.size !== ids.length) throw new Error('inbox counter update returned too few rows');
    const entries = userIds.map((userId) => {
      const inboxSeq = next.get(userId) ?? 0;
      next.set(userId, inboxSeq + 1);
      return frozenEntry(userId, inboxSeq, item);
    });
    await c.query(
      `INSERT INTO ${this.#s}.inbox (user_id, inbox_seq, payload, thread_id, seq, change_id)
       SELECT u, s, $3::jsonb, $4, $5, $6 FROM unnest($1::text[], $2::bigint[]) AS t(u, s)`,
      [
        entries.map((e) => e.userId),
        entries.map((e) => e.inboxSeq),
        'payload' in ref ? JSON.stringify(ref.payload) : null,
        'threadId' in ref ? ref.threadId : null,
        'seq' in ref ? ref.seq : null,
        'changeId' in ref ? ref.changeId : null,
      ],
    );
    await this.#trim(c, next);
    return entries;
  }

  /**
   * Queues an append for the next batch and starts the batch loop when none runs; resolves after the
   * transaction holding the append commits.
   */
  #enqueue<T>(
    what: string,
    threadIds: readonly string[],
    userIds: readonly string[],
    work: (c: PoolClient) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ what, threadIds, userIds, work, resolve: resolve as (v: unknown) => void, reject });
      this.#spawn();
    });
  }

  /** Starts a batch runner when appends wait, no runner is gathering a batch, and fewer than the cap run. */
  #spawn(): void {
    if (this.#queue.length === 0 || this.#gathering || this.#runners.size >= this.#maxInFlight) return;
    this.#gathering = true;
    const runner: Promise<void> = this.#runBatches().finally(() => {
      this.#runners.delete(runner);
      this.#spawn(); // appends may have arrived while this runner was finishing
    });
    this.#runners.add(runner);
  }

  /** Writes batches while appends wait and no other runner is gathering one. Starts as the gathering runner. */
  async #runBatches(): Promise<void> {
    do {
      this.#gathering = true;
      await this.#writeBatch();
    } while (this.#queue.length > 0 && !this.#gathering);
  }

  /**
   * Writes up to `maxBatch` queued appends in one transaction: locks every counter they bump (thread counters,
   * then inbox counters, each sorted by id), runs each append in its own savepoint, commits once, then settles
   * the promises. Never throws: a failure rejects the appends it concerns.
   */
  async #writeBatch(): Promise<void> {
    let c: PoolClient;
    try {
      await this.start();
      c = await this.#pool.connect();
    } catch (e) {
      this.#gathering = false;
      for (const p of this.#queue.splice(0, this.#maxBatch)) p.reject(e);
      this.#spawn();
      return;
    }
    // Taken once the connection is ready, so the appends that arrived while waiting for it join the batch; a
    // fair share when other runners could start, so that batches of disjoint threads and inboxes overlap.
    const share = Math.ceil(this.#queue.length / (this.#maxInFlight - this.#runners.size + 1));
    const batch = this.#queue.splice(0, Math.min(this.#maxBatch, share));
    this.#gathering = false;
    // Batches take their locks one after another, in the order they took their appends: a batch sharing a
    // counter with an earlier one waits for that one's COMMIT, so seqs follow call order across batches too.
    const earlier = this.#locking;
    let locked!: () => void;
    this.#locking = new Promise<void>((resolve) => (locked = resolve));
    this.#spawn(); // more appends than one batch takes: another runner may start on them meanwhile
    const outcomes: { ok: boolean; value: unknown }[] = [];
    let broken = false;
    try {
      await c.query('BEGIN');
      await earlier;
      try {
        await this.#lockCounters(c, batch);
      } finally {
        locked();
      }
      // One round trip per append around its work: a fresh savepoint, releasing the last one when it is
      // still open (after a failure, ROLLBACK TO has left it in place: reuse it). COMMIT releases the last.
      let open = false;
      for (const p of batch) {
        if (!open) await c.query('SAVEPOINT chat_room_append');
        else if (outcomes[outcomes.length - 1]?.ok === true) {
          await c.query('RELEASE SAVEPOINT chat_room_append; SAVEPOINT chat_room_append');
        }
        open = true;
        try {
          outcomes.push({ ok: true, value: await p.work(c) });
        } catch (e) {
          await c.query('ROLLBACK TO SAVEPOINT chat_room_append').catch((cause: unknown) => {
            throw new BatchBroken('could not roll back to a savepoint', { cause });
          });
          outcomes.push({ ok: false, value: e });
        }
      }
      await c.query('COMMIT');
    } catch (e) {
      locked(); // (when BEGIN failed before the locks)
      // BEGIN, the locks, a savepoint or COMMIT failed: nothing of the batch was written.
      await c.query('ROLLBACK').catch(() => {
        broken = true; // a connection that cannot roll back must not go back to the pool
      });
      c.release(broken);
      const error = e instanceof BatchBroken ? e.cause : e;
      for (const p of batch) p.reject(error);
      return;
    }
    c.release();
    this.#stats.commits++;
    this.#stats.appends += batch.length;
    this.#stats.largestBatch = Math.max(this.#stats.largestBatch, batch.length);
    batch.forEach((p, i) => {
      const outcome = outcomes[i] as { ok: boolean; value: unknown };
      if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.value);
    });
  }

  /**
   * Takes the row locks of every counter a batch bumps, creating missing rows at 0: thread counters, then inbox
   * counters, each sorted by id, which is the order a single append takes them in; held until commit. Ids the
   * database would refuse are left out (their append fails alone, in its savepoint).
   */
  async #lockCounters(c: PoolClient, batch: readonly PendingAppend[]): Promise<void> {
    const usable = (id: unknown): id is string =>
      typeof id === 'string' && !id.includes('\u0000') && Buffer.byteLength(id) <= 2_000;
    const lock = async (table: 'thread_counters' | 'inbox_counters', key: string, ids: Set<string>) => {
      const sorted = [...ids].filter(usable).sort();
      if (sorted.length === 0) return;
      await c.query(
        `INSERT INTO ${this.#s}.${table} AS t (${key}, last_seq)
         SELECT k, 0 FROM unnest($1::text[]) WITH ORDINALITY AS v(k, o) ORDER BY o
         ON CONFLICT (${key}) DO UPDATE SET last_seq = t.last_seq`,
        [sorted],
      );
    };
    await lock('thread_counters', 'thread_id', new Set(batch.flatMap((p) => p.threadIds)));
    await lock('inbox_counters', 'user_id', new Set(batch.flatMap((p) => p.userIds)));
  }

  /**
   * Deletes the inbox rows retention drops, given each appended-to user's next inbox seq; runs inside the
   * caller's transaction, under the counter locks it holds.
   */
  async #trim(c: PoolClient, next: ReadonlyMap<string, number>): Promise<void> {
    if (this.#maxInbox === Number.POSITIVE_INFINITY) return;
    // Reads apply the exact limit; the rows past it go now, under the counter lock this append holds.
    const ids = [...next.keys()];
    await c.query(
      `DELETE FROM ${this.#s}.inbox i USING unnest($1::text[], $2::bigint[]) AS t(u, s)
       WHERE i.user_id = t.u AND i.inbox_seq <= t.s`,
      [ids, ids.map((id) => (next.get(id) ?? 1) - 1 - this.#maxInbox)],
    );
  }

  /**
   * Runs a unit of work on one pooled connection inside a transaction: commits when `keep(result)` holds,
   * rolls back otherwise or when the work throws.
   */
  async #transaction<T>(
    work: (c: PoolClient) => Promise<T>,
    keep: (result: T) => boolean = () => true,
  ): Promise<T> {
    await this.start();
    return inTransaction(this.#pool, 'BEGIN', work, keep);
  }

  async #query<R extends QueryResultRow>(sql: string, params: readonly unknown[]): Promise<R[]> {
    await this.start();
    const result = await this.#pool.query<R>(sql, [...params]);
    return result.rows;
  }

  /** Wraps driver errors in `StorageError` (the SQL stays out of the message; the driver error is the cause). */
  async #run<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StorageError(`PostgresMessageStore is closed: cannot ${what}`);
    try {
      return await work();
    } catch (e) {
      if (ChatRoomError.is(e)) throw e;
      throw new StorageError(`PostgresMessageStore could not ${what}`, { cause: e });
    }
  }
}

function toMessage(r: MessageRow): MessageData {
  return frozenMessage({
    id: r.id,
    threadId: r.thread_id,
    seq: Number(r.seq),
    senderId: r.sender_id,
    kind: r.kind as MessageKind,
    text: r.text,
    ...(r.media === null ? {} : { media: r.media }),
    clientMessageId: r.client_message_id,
    sentAt: Number(r.sent_at),
    ...(r.reply_to === null ? {} : { replyTo: r.reply_to }),
    ...(r.edited_at === null ? {} : { editedAt: Number(r.edited_at) }),
    ...(r.deleted_at === null ? {} : { deletedAt: Number(r.deleted_at) }),
    ...(r.reactions === null ? {} : { reactions: r.reactions }),
  });
}

/** The entry an inbox row holds: its JSON payload, or the change or message it names as they are now. */
function toEntry(userId: string, r: InboxRow): InboxEntry {
  const inboxSeq = Number(r.inbox_seq);
  if (r.payload !== null) return frozenEntry(userId, inboxSeq, r.payload);
  if (r.change_kind !== null) {
    const seq = Number(r.change_seq);
    const change: MessageChange = {
      kind: r.change_kind,
      threadId: r.change_thread_id,
      messageId: messageId(r.change_thread_id, seq),
      seq,
      userId: r.change_user_id,
      at: Number(r.change_at),
      ...(r.change_text === null ? {} : { text: r.change_text }),
      ...(r.change_emoji !== null || r.change_kind === 'reaction' ? { emoji: r.change_emoji } : {}),
    };
    return frozenEntry(userId, inboxSeq, { type: 'change', change });
  }
  return frozenEntry(userId, inboxSeq, { type: 'message', message: toMessage(r as InboxRow & MessageRow) });
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

/** Copies what the caller handed in, so neither the caller nor a reader can change what is stored. */
function copyItem(item: InboxItem): InboxItem {
  switch (item.type) {
    case 'receipt':
      return { type: 'receipt', receipt: frozenReceipt(item.receipt) };
    case 'message':
      return { type: 'message', message: frozenMessage(item.message) };
    case 'change':
      return { type: 'change', change: frozenChange(item.change) };
  }
}

/** A seq bound for SQL: infinities become the widest bigint, so `upToSeq = Infinity` means "no bound". */
function bound(n: number): string | number {
  if (n === Number.POSITIVE_INFINITY) return '9223372036854775807';
  if (n === Number.NEGATIVE_INFINITY) return '-9223372036854775808';
  return n;
}

/** A LIMIT for SQL: `null` (no limit) for infinity, never negative. */
function sqlLimit(limit: number): number | null {
  if (limit === Number.POSITIVE_INFINITY) return null;
  return Math.max(0, Math.trunc(limit));
}
