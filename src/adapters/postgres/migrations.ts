/**
 * The versioned schema of the PostgreSQL message store. A migration is never edited once released: a change is
 * a new entry with the next version.
 *
 * @module
 */

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
]);
