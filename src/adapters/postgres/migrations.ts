/**
 * The versioned schema of the PostgreSQL stores (`PostgresMessageStore`, `PostgresDirectoryStore`,
 * `PostgresMediaStore`), shared by all three: whichever starts first on a schema applies every pending
 * migration. A migration is never edited once released: a change is a new entry with the next version.
 *
 * @module
 */
import type { PoolClient } from 'pg';

/** One step of the schema, applied once per schema and recorded in `schema_migrations`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The DDL, given the quoted schema name. */
  readonly sql: (schema: string) => string;
}

/** Every migration, in version order. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'messages, inboxes, watermarks and cursors',
    sql: (s: string) => `
      CREATE TABLE ${s}.messages (
        thread_id         text   NOT NULL,
        seq               bigint NOT NULL,
        id                text   NOT NULL UNIQUE,
        sender_id         text   NOT NULL,
        kind              text   NOT NULL,
        text              text   NOT NULL,
        media             jsonb,
        client_message_id text   NOT NULL,
        sent_at           bigint NOT NULL,
        PRIMARY KEY (thread_id, seq),
        UNIQUE (sender_id, client_message_id)
      );
      CREATE TABLE ${s}.thread_counters (
        thread_id text   PRIMARY KEY,
        last_seq  bigint NOT NULL
      );
      CREATE TABLE ${s}.inbox (
        user_id   text   NOT NULL,
        inbox_seq bigint NOT NULL,
        payload   jsonb  NOT NULL,
        PRIMARY KEY (user_id, inbox_seq)
      );
      CREATE TABLE ${s}.inbox_counters (
        user_id  text   PRIMARY KEY,
        last_seq bigint NOT NULL
      );
      CREATE TABLE ${s}.watermarks (
        thread_id    text   NOT NULL,
        user_id      text   NOT NULL,
        delivered    bigint NOT NULL,
        delivered_at bigint NOT NULL,
        read         bigint NOT NULL,
        read_at      bigint NOT NULL,
        since        bigint,
        saved_order  bigint GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (thread_id, user_id)
      );
      CREATE TABLE ${s}.cursors (
        user_id text   NOT NULL,
        name    text   NOT NULL,
        value   bigint NOT NULL,
        PRIMARY KEY (user_id, name)
      );
    `,
  },
  {
    version: 2,
    name: 'directory: users, groups, settings and direct threads',
    // One jsonb record per row; `saved_order` is taken on first insert and kept by the upsert (load order).
    sql: (s: string) => `
      CREATE TABLE ${s}.directory_users (
        id          text   PRIMARY KEY,
        record      jsonb  NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE TABLE ${s}.directory_groups (
        id          text   PRIMARY KEY,
        record      jsonb  NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE TABLE ${s}.directory_settings (
        id          text   PRIMARY KEY,
        record      jsonb  NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE TABLE ${s}.directory_threads (
        id          text   PRIMARY KEY,
        record      jsonb  NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY
      );
    `,
  },
  {
    version: 3,
    name: "directory: each user's chat-list choices (pins, archive, unread marks)",
    // A schema from before has none, which reads as no choices.
    sql: (s: string) => `
      CREATE TABLE ${s}.directory_feeds (
        id          text   PRIMARY KEY,
        record      jsonb  NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY
      );
    `,
  },
  {
    version: 4,
    name: 'messages that change: replies, edits, deletes for everyone, reactions, hides',
    // A message row holds its current state (a reply's quote, with the quoted id in a column of its own so a
    // delete finds the replies to erase; the reactions as json, which keeps their order). A change is one row of
    // `message_changes`, which also holds its idempotency key. Inbox rows name a message (thread_id, seq) or a
    // change (change_id) instead of copying it, so a text lives in one place and a delete erases it there; the
    // copies written before are turned into names. Receipts keep their JSON payload.
    sql: (s: string) => `
      ALTER TABLE ${s}.messages
        ADD COLUMN reply_to    jsonb,
        ADD COLUMN reply_to_id text,
        ADD COLUMN edited_at   bigint,
        ADD COLUMN deleted_at  bigint,
        ADD COLUMN reactions   json;
      CREATE INDEX messages_by_quoted ON ${s}.messages (reply_to_id) WHERE reply_to_id IS NOT NULL;
      CREATE TABLE ${s}.message_changes (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        thread_id        text   NOT NULL,
        seq              bigint NOT NULL,
        kind             text   NOT NULL,
        user_id          text   NOT NULL,
        at               bigint NOT NULL,
        text             text,
        emoji            text,
        client_change_id text,
        UNIQUE (user_id, client_change_id)
      );
      CREATE INDEX message_changes_by_message ON ${s}.message_changes (thread_id, seq);
      CREATE TABLE ${s}.hidden_messages (
        user_id   text   NOT NULL,
        thread_id text   NOT NULL,
        seq       bigint NOT NULL,
        PRIMARY KEY (user_id, thread_id, seq)
      );
      ALTER TABLE ${s}.inbox
        ALTER COLUMN payload DROP NOT NULL,
        ADD COLUMN thread_id text,
        ADD COLUMN seq       bigint,
        ADD COLUMN change_id bigint;
      UPDATE ${s}.inbox AS i SET thread_id = m.thread_id, seq = m.seq, payload = NULL
        FROM ${s}.messages AS m
        WHERE i.payload->>'type' = 'message'
          AND m.thread_id = i.payload->'message'->>'threadId'
          AND m.seq = (i.payload->'message'->>'seq')::bigint
          AND m.sender_id = i.payload->'message'->>'senderId';
      ALTER TABLE ${s}.inbox ADD CONSTRAINT inbox_names_one_item
        CHECK (num_nonnulls(payload, seq, change_id) = 1 AND (thread_id IS NULL) = (seq IS NULL));
    `,
  },
  {
    version: 5,
    name: 'media: photo bytes, their facts and the threads they were sent in',
    // One row per image, its bytes in a bytea column (read only by `get`). `linked` turns true with the first
    // link and never back, so the partial index holds exactly the unsent uploads the sweep looks for.
    sql: (s: string) => `
      CREATE TABLE ${s}.media (
        id           text             PRIMARY KEY,
        owner_id     text             NOT NULL,
        mime_type    text             NOT NULL,
        size         integer          NOT NULL,
        width        integer          NOT NULL,
        height       integer          NOT NULL,
        thumbnail_id text,
        created_at   double precision NOT NULL,
        linked       boolean          NOT NULL DEFAULT false,
        data         bytea            NOT NULL
      );
      CREATE INDEX media_unlinked ON ${s}.media (created_at) WHERE NOT linked;
      CREATE TABLE ${s}.media_links (
        media_id     text   NOT NULL REFERENCES ${s}.media (id) ON DELETE CASCADE,
        thread_id    text   NOT NULL,
        linked_order bigint GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (media_id, thread_id)
      );
    `,
  },
]);

/**
 * Brings a schema up to date: creates it and `schema_migrations` when missing, then applies each migration it
 * lacks and records it. Runs on `client` inside the caller's transaction, under a transaction-level advisory
 * lock per schema, so that several stores or processes starting at once migrate once: one applies, the others
 * wait and then find nothing to do. Every PostgreSQL store calls this from its `start()`.
 *
 * @param client - a pooled connection with an open transaction
 * @param schema - the schema name, unquoted
 */
export async function applyMigrations(client: PoolClient, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`chat-room:migrate:${schema}`]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
       version    integer     PRIMARY KEY,
       name       text        NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const done = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`);
  const applied = new Set(done.rows.map((r) => r.version));
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    await client.query(m.sql(s));
    await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
      m.version,
      m.name,
    ]);
  }
}

/** Quotes an identifier (a schema name) so it is safe to splice into SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
