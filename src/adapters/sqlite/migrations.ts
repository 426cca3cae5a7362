import type Database from 'better-sqlite3';

/** One schema change; `version`s run in order, each once, in its own transaction. */
interface Migration {
  readonly version: number;
  readonly sql: string;
}

/** The schema, as a list of changes; append new ones, never edit an applied one. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE messages (
        thread_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        id TEXT NOT NULL UNIQUE,
        sender_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        media TEXT,
        client_message_id TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        PRIMARY KEY (thread_id, seq),
        UNIQUE (sender_id, client_message_id)
      ) WITHOUT ROWID;
      CREATE TABLE inbox (
        user_id TEXT NOT NULL,
        inbox_seq INTEGER NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (user_id, inbox_seq)
      ) WITHOUT ROWID;
      CREATE TABLE watermarks (
        thread_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        delivered INTEGER NOT NULL,
        "read" INTEGER NOT NULL,
        delivered_at INTEGER NOT NULL,
        read_at INTEGER NOT NULL,
        since INTEGER,
        PRIMARY KEY (thread_id, user_id)
      );
      CREATE TABLE cursors (
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (user_id, name)
      ) WITHOUT ROWID;
    `,
  },
  {
    // The directory (SqliteDirectoryStore): one JSON record per row. `saved_order` aliases the rowid, so an
    // upsert keeps a record's first place and VACUUM cannot renumber it.
    version: 2,
    sql: `
      CREATE TABLE directory_users (
        saved_order INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
      );
      CREATE TABLE directory_groups (
        saved_order INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
      );
      CREATE TABLE directory_settings (
        saved_order INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
      );
      CREATE TABLE directory_threads (
        saved_order INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
      );
    `,
  },
  {
    // Fewer pages written per message. A message row goes to the end of one table (`row_no` aliases the rowid,
    // so VACUUM cannot renumber it), found by two small indexes; its id (`<thread>#<seq>`) is no longer a column
    // with an index of its own. An inbox row holds no JSON: a message appended here is named by its row, a
    // receipt is four columns. A page then holds many more entries, so inserts split fewer pages. Rows written
    // before keep their JSON (`payload`), as does a message entry appended on its own; each row has exactly one
    // of a message row, a receipt and a payload.
    version: 3,
    sql: `
      CREATE TABLE messages_v3 (
        row_no INTEGER PRIMARY KEY,
        thread_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        sender_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        media TEXT,
        client_message_id TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        UNIQUE (thread_id, seq),
        UNIQUE (sender_id, client_message_id)
      );
      INSERT INTO messages_v3 (thread_id, seq, sender_id, kind, text, media, client_message_id, sent_at)
        SELECT thread_id, seq, sender_id, kind, text, media, client_message_id, sent_at FROM messages
        ORDER BY sent_at, thread_id, seq;
      CREATE TABLE inbox_v3 (
        user_id TEXT NOT NULL,
        inbox_seq INTEGER NOT NULL,
        message_row INTEGER,
        receipt_thread_id TEXT,
        receipt_status TEXT,
        receipt_up_to_seq INTEGER,
        receipt_at INTEGER,
        payload TEXT,
        PRIMARY KEY (user_id, inbox_seq),
        CHECK ((message_row IS NOT NULL) + (receipt_thread_id IS NOT NULL) + (payload IS NOT NULL) = 1),
        CHECK ((receipt_thread_id IS NULL) =
               (receipt_status IS NULL AND receipt_up_to_seq IS NULL AND receipt_at IS NULL))
      ) WITHOUT ROWID;
      INSERT INTO inbox_v3 (user_id, inbox_seq, payload) SELECT user_id, inbox_seq, payload FROM inbox;
      DROP TABLE messages;
      DROP TABLE inbox;
      ALTER TABLE messages_v3 RENAME TO messages;
      ALTER TABLE inbox_v3 RENAME TO inbox;
    `,
  },
  {
    // Messages that change: replies, edits, deletes for everyone, reactions, hides. A message row holds its
    // current state (the quote of a reply, with the quoted id in a column of its own so a delete finds the
    // replies to erase; the reactions as JSON). A change is one row of `message_changes`, which also holds its
    // idempotency key; the inbox names it (`change_row`) as it names a message's row, so the text of an edit is
    // written once and a delete erases it in one place. The inbox is rebuilt for the new column, and entries of
    // a stored message kept as JSON (written before version 3, or by appendEntry) now name its row: no inbox row
    // holds a copy of a message's text any more.
    version: 4,
    sql: `
      ALTER TABLE messages ADD COLUMN reply_to TEXT;
      ALTER TABLE messages ADD COLUMN reply_to_id TEXT;
      ALTER TABLE messages ADD COLUMN edited_at INTEGER;
      ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
      ALTER TABLE messages ADD COLUMN reactions TEXT;
      CREATE INDEX messages_by_quoted ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL;
      CREATE TABLE message_changes (
        row_no INTEGER PRIMARY KEY,
        thread_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        user_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        text TEXT,
        emoji TEXT,
        client_change_id TEXT,
        UNIQUE (user_id, client_change_id)
      );
      CREATE INDEX message_changes_by_message ON message_changes (thread_id, seq);
      CREATE TABLE hidden_messages (
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (user_id, thread_id, seq)
      ) WITHOUT ROWID;
      CREATE TABLE inbox_v4 (
        user_id TEXT NOT NULL,
        inbox_seq INTEGER NOT NULL,
        message_row INTEGER,
        change_row INTEGER,
        receipt_thread_id TEXT,
        receipt_status TEXT,
        receipt_up_to_seq INTEGER,
        receipt_at INTEGER,
        payload TEXT,
        PRIMARY KEY (user_id, inbox_seq),
        CHECK ((message_row IS NOT NULL) + (change_row IS NOT NULL) + (receipt_thread_id IS NOT NULL) +
               (payload IS NOT NULL) = 1),
        CHECK ((receipt_thread_id IS NULL) =
               (receipt_status IS NULL AND receipt_up_to_seq IS NULL AND receipt_at IS NULL))
      ) WITHOUT ROWID;
      INSERT INTO inbox_v4 (user_id, inbox_seq, message_row, receipt_thread_id, receipt_status, receipt_up_to_seq,
                            receipt_at, payload)
        SELECT i.user_id, i.inbox_seq, coalesce(i.message_row, m.row_no), i.receipt_thread_id, i.receipt_status,
               i.receipt_up_to_seq, i.receipt_at, CASE WHEN m.row_no IS NULL THEN i.payload END
        FROM inbox AS i LEFT JOIN messages AS m
          ON i.payload ->> '$.type' = 'message'
         AND m.thread_id = i.payload ->> '$.message.threadId'
         AND m.seq = i.payload ->> '$.message.seq'
         AND m.sender_id = i.payload ->> '$.message.senderId';
      DROP TABLE inbox;
      ALTER TABLE inbox_v4 RENAME TO inbox;
    `,
  },
  {
    // The directory's fifth record kind: each user's chat-list choices (pins, archive, unread marks). A database
    // from before has none, which reads as no choices.
    version: 5,
    sql: `
      CREATE TABLE directory_feeds (
        saved_order INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
      );
    `,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings a database to {@link SCHEMA_VERSION}: creates `schema_migrations`, then applies each missing
 * migration and records it, under the write lock so two processes starting together do not both apply it.
 *
 * @param db - an open better-sqlite3 handle
 * @throws Error when the database was written by a newer version of this code
 */
export function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
  )`);
  const apply = db.transaction(() => {
    const current =
      (db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this code's ${SCHEMA_VERSION}`);
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      record.run(m.version, Date.now());
    }
  });
  apply.immediate();
}
