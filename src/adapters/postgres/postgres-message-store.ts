import { Pool } from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import type {
  InboxEntry,
  InboxItem,
  InboxPage,
  MediaRef,
  MessageData,
  MessageKind,
  Watermark,
} from '../../domain';
import { ChatRoomError, ResyncRequiredError, StorageError, ValidationError } from '../../domain';
import type { AppendResult, MessageStore, NewMessage } from '../../ports';
import { MIGRATIONS } from './migrations';

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
}

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
}

const MESSAGE_COLUMNS = 'thread_id, seq, id, sender_id, kind, text, media, client_message_id, sent_at';

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
  readonly #schema: string;
  /** The quoted schema, safe to splice into SQL. */
  readonly #s: string;
  readonly #maxInbox: number;
  #started: Promise<void> | undefined;
  #closed = false;

  /**
   * Creates a store; nothing touches the database until `start()` or the first call.
   *
   * @param options - the pool (or a connection string), the schema and retention
   * @throws ValidationError when neither `pool` nor `connectionString` is given, the schema name is empty or
   *   longer than 63 bytes, or `maxInboxEntries` is not a positive integer
   */
  constructor(options: PostgresMessageStoreOptions) {
    const schema = options.schema ?? 'public';
    if (schema.length === 0 || Buffer.byteLength(schema) > 63 || schema.includes('\u0000')) {
      throw new ValidationError('schema must be a PostgreSQL identifier of 1 to 63 bytes', {
        details: { field: 'schema' },
      });
    }
    const max = options.maxInboxEntries ?? Number.POSITIVE_INFINITY;
    if (max !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(max) || max < 1)) {
      throw new ValidationError('maxInboxEntries must be a positive integer', {
        details: { field: 'maxInboxEntries' },
      });
    }
    if (options.pool !== undefined) {
      this.#pool = options.pool;
      this.#ownsPool = false;
    } else if (options.connectionString !== undefined) {
      this.#pool = new Pool({ connectionString: options.connectionString });
      this.#ownsPool = true;
    } else {
      throw new ValidationError('give a pool or a connectionString', { details: { field: 'pool' } });
    }
    this.#schema = schema;
    this.#s = `"${schema.replace(/"/g, '""')}"`;
    this.#maxInbox = max;
  }

  /**
   * Creates the schema when missing and applies the migrations it lacks; safe to call from several processes
   * at once (an advisory lock serialises them) and more than once.
   *
   * @throws StorageError when the database cannot be reached or a migration fails
   */
  async start(): Promise<void> {
    this.#started ??= this.#migrate().catch((e: unknown) => {
      this.#started = undefined; // let a later call retry
      throw e;
    });
    return this.#started;
  }

  /** Stops using the database; ends the pool only when the store made it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) await this.#pool.end();
  }

  async appendMessage(input: NewMessage): Promise<AppendResult> {
    // Copy the input first: the caller may change its objects while we wait for the database.
    const userIds = [input.senderId, ...input.recipientIds];
    const media = input.media === undefined ? undefined : { ...input.media };
    const fields = {
      threadId: input.threadId,
      senderId: input.senderId,
      kind: input.kind,
      text: input.text,
      clientMessageId: input.clientMessageId,
      sentAt: input.sentAt,
    };
    return this.#run('append a message', async () => {
      const earlier = await this.findByClientMessageId(fields.senderId, fields.clientMessageId);
      if (earlier !== undefined) return { message: earlier, entries: [], duplicate: true };
      const appended = await this.#transaction(
        async (c) => {
          // Lock order, to rule out deadlocks: the one thread counter, then the inbox counters by user id.
          const seq = await this.#bump(c, 'thread_counters', 'thread_id', fields.threadId, 1);
          const inserted = await c.query(
            `INSERT INTO ${this.#s}.messages (${MESSAGE_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (sender_id, client_message_id) DO NOTHING
             RETURNING id`,
            [
              fields.threadId,
              seq,
              `${fields.threadId}#${seq}`,
              fields.senderId,
              fields.kind,
              fields.text,
              media === undefined ? null : JSON.stringify(media),
              fields.clientMessageId,
              fields.sentAt,
            ],
          );
          // A concurrent retry of the same send committed first: report the earlier message.
          if (inserted.rowCount === 0) return undefined;
          const message = freezeMessage({
            id: `${fields.threadId}#${seq}`,
            seq,
            ...fields,
            ...(media === undefined ? {} : { media }),
          });
          const entries = await this.#appendEntries(c, userIds, { type: 'message', message });
          return { message, entries, duplicate: false };
        },
        // Nothing inserted: roll back, which gives the counter bump back (no gap).
        (result) => result !== undefined,
      );
      if (appended !== undefined) return appended;
      const first = await this.findByClientMessageId(fields.senderId, fields.clientMessageId);
      if (first === undefined) throw new Error('idempotency key conflicted but no message holds it');
      return { message: first, entries: [], duplicate: true };
    });
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

  async lastSeq(threadId: string): Promise<number> {
    return this.#run('read the last seq', async () => {
      const rows = await this.#query<{ last_seq: string }>(
        `SELECT last_seq FROM ${this.#s}.thread_counters WHERE thread_id = $1`,
        [threadId],
      );
      return rows[0] === undefined ? 0 : Number(rows[0].last_seq);
    });
  }

  async appendEntry(userId: string, item: InboxItem): Promise<InboxEntry> {
    const payload = copyItem(item);
    return this.#run('append an inbox entry', async () => {
      const [entry] = await this.#transaction((c) => this.#appendEntries(c, [userId], payload));
      if (entry === undefined) throw new Error('no inbox entry was written');
      return entry;
    });
  }

  async readInbox(userId: string, after: number, limit: number): Promise<InboxPage> {
    return this.#run('read an inbox', async () => {
      // One statement, so the counter and the rows come from one snapshot: an append trimming old entries
      // between two statements could otherwise make a page start later than `after + 1`.
      const rows = await this.#query<{ latest: string; inbox_seq: string | null; payload: InboxItem | null }>(
        `SELECT c.last_seq AS latest, i.inbox_seq, i.payload
         FROM ${this.#s}.inbox_counters c
         LEFT JOIN LATERAL (
           SELECT inbox_seq, payload FROM ${this.#s}.inbox
           WHERE user_id = c.user_id AND inbox_seq > $2 AND inbox_seq <= c.last_seq
           ORDER BY inbox_seq LIMIT $3
         ) i ON true
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
      const entries = rows.flatMap((r) =>
        r.inbox_seq === null || r.payload === null
          ? []
          : [freezeEntry({ ...r.payload, userId, inboxSeq: Number(r.inbox_seq) })],
      );
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
   * Appends one entry per user id (in the given order, repeats included) and trims what retention drops.
   * Runs inside the caller's transaction.
   */
  async #appendEntries(c: PoolClient, userIds: readonly string[], item: InboxItem): Promise<InboxEntry[]> {
    const counts = new Map<string, number>();
    for (const id of userIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    // Bump each counter once by its count, in user-id order so that two appends never wait on each other in
    // a cycle; then hand the numbers out in the order the ids were given.
    const next = new Map<string, number>();
    for (const id of [...counts.keys()].sort()) {
      const n = counts.get(id) ?? 0;
      const last = await this.#bump(c, 'inbox_counters', 'user_id', id, n);
      next.set(id, last - n + 1);
    }
    const entries = userIds.map((userId) => {
      const inboxSeq = next.get(userId) ?? 0;
      next.set(userId, inboxSeq + 1);
      return freezeEntry({ ...item, userId, inboxSeq });
    });
    const payload = JSON.stringify(item);
    await c.query(
      `INSERT INTO ${this.#s}.inbox (user_id, inbox_seq, payload)
       SELECT u, s, $3::jsonb FROM unnest($1::text[], $2::bigint[]) AS t(u, s)`,
      [entries.map((e) => e.userId), entries.map((e) => e.inboxSeq), payload],
    );
    if (this.#maxInbox !== Number.POSITIVE_INFINITY) {
      // Reads apply the exact limit; the rows past it go now, under the counter lock this append holds.
      const keepAfter = [...counts.keys()].map((id) => (next.get(id) ?? 1) - 1 - this.#maxInbox);
      await c.query(
        `DELETE FROM ${this.#s}.inbox i USING unnest($1::text[], $2::bigint[]) AS t(u, s)
         WHERE i.user_id = t.u AND i.inbox_seq <= t.s`,
        [[...counts.keys()], keepAfter],
      );
    }
    return entries;
  }

  /** Adds `by` to a counter row (creating it at 0) and returns the new value; holds its row lock until commit. */
  async #bump(
    c: PoolClient,
    table: 'thread_counters' | 'inbox_counters',
    key: 'thread_id' | 'user_id',
    id: string,
    by: number,
  ): Promise<number> {
    const result = await c.query<{ last_seq: string }>(
      `INSERT INTO ${this.#s}.${table} AS t (${key}, last_seq) VALUES ($1, $2)
       ON CONFLICT (${key}) DO UPDATE SET last_seq = t.last_seq + EXCLUDED.last_seq
       RETURNING last_seq`,
      [id, by],
    );
    const row = result.rows[0];
    if (row === undefined) throw new Error('counter update returned no row');
    return Number(row.last_seq);
  }

  async #migrate(): Promise<void> {
    try {
      await this.#transaction(
        async (c) => {
          // Several processes may start at once: one migrates, the others wait and then find nothing to do.
          await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`chat-room:migrate:${this.#schema}`]);
          await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.#s}`);
          await c.query(
            `CREATE TABLE IF NOT EXISTS ${this.#s}.schema_migrations (
               version    integer     PRIMARY KEY,
               name       text        NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now()
             )`,
          );
          const done = await c.query<{ version: number }>(`SELECT version FROM ${this.#s}.schema_migrations`);
          const applied = new Set(done.rows.map((r) => r.version));
          for (const m of MIGRATIONS) {
            if (applied.has(m.version)) continue;
            await c.query(m.sql(this.#s));
            await c.query(`INSERT INTO ${this.#s}.schema_migrations (version, name) VALUES ($1, $2)`, [
              m.version,
              m.name,
            ]);
          }
        },
        () => true,
        true,
      );
    } catch (e) {
      throw new StorageError(`PostgresMessageStore could not migrate schema ${this.#schema}`, { cause: e });
    }
  }

  /**
   * Runs a unit of work on one pooled connection inside a transaction: commits when `keep(result)` holds,
   * rolls back otherwise or when the work throws.
   */
  async #transaction<T>(
    work: (c: PoolClient) => Promise<T>,
    keep: (result: T) => boolean = () => true,
    migrating = false,
  ): Promise<T> {
    if (!migrating) await this.start();
    const c = await this.#pool.connect();
    let broken = false;
    try {
      await c.query('BEGIN');
      const result = await work(c);
      await c.query(keep(result) ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {
        broken = true; // a connection that cannot roll back must not go back to the pool
      });
      throw e;
    } finally {
      c.release(broken);
    }
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
  return freezeMessage({
    id: r.id,
    threadId: r.thread_id,
    seq: Number(r.seq),
    senderId: r.sender_id,
    kind: r.kind as MessageKind,
    text: r.text,
    ...(r.media === null ? {} : { media: r.media }),
    clientMessageId: r.client_message_id,
    sentAt: Number(r.sent_at),
  });
}

function freezeMessage(m: MessageData): MessageData {
  return Object.freeze({ ...m, ...(m.media === undefined ? {} : { media: Object.freeze({ ...m.media }) }) });
}

/** Freezes an entry and what it carries, so a reader cannot change what another reader gets. */
function freezeEntry(entry: InboxEntry): InboxEntry {
  return Object.freeze(
    entry.type === 'message'
      ? { ...entry, message: freezeMessage(entry.message) }
      : { ...entry, receipt: Object.freeze({ ...entry.receipt }) },
  );
}

/** Copies what the caller handed in, so neither the caller nor a reader can change what is stored. */
function copyItem(item: InboxItem): InboxItem {
  return item.type === 'receipt'
    ? { type: 'receipt', receipt: { ...item.receipt } }
    : { type: 'message', message: freezeMessage(item.message) };
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
