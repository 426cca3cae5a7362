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
