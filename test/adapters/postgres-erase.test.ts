import type { MessageChangeInput, NewMessage } from 'chat-room';
import { PostgresMessageStore } from 'chat-room/postgres';
import { postgresFixture } from '../support/postgres';
import { postgresOrSkip } from '../support/services';

/**
 * A delete for everyone really erases: once it resolves, the deleted text, the texts of its edits and the
 * previews quoting it are in no row of any table of the store's schema — including the inbox copies an older
 * schema version kept as JSON.
 */

const url = postgresOrSkip('PostgresMessageStore erasure');

const GROUP = 'group:erase';
/** Distinctive texts, found by a search only where the store wrote them. */
const SECRET = 'zebra-quokka-7319';
const EDITED = 'narwhal-ocelot-4482';

let n = 0;
const message = (patch: Partial<NewMessage> = {}): NewMessage => ({
  threadId: GROUP,
  senderId: 'alice',
  kind: 'text',
  text: `filler ${++n}`,
  clientMessageId: `c${n}`,
  sentAt: 1_000 + n,
  recipientIds: ['bob', 'carol'],
  ...patch,
});
const change = (
  patch: Partial<MessageChangeInput> & Pick<MessageChangeInput, 'messageId'>,
): MessageChangeInput => ({
  kind: 'edit',
  userId: 'alice',
  at: 9_000,
  clientChangeId: `change-${++n}`,
  recipientIds: ['bob', 'carol'],
  ...patch,
});

(url === undefined ? describe.skip : describe)(
  'PostgresMessageStore: a delete for everyone erases the text',
  () => {
    const pg = postgresFixture(url);

    /** Every row of every table of the schema, as text, one per line. */
    const everyRow = async (schema: string): Promise<string> => {
      const tables = await pg.pool.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      );
      expect(tables.rows.map((t) => t.table_name)).toEqual(expect.arrayContaining(['messages', 'inbox']));
      const lines: string[] = [];
      for (const { table_name: table } of tables.rows) {
        const rows = await pg.pool.query<{ row: string }>(
          `SELECT t::text AS row FROM "${schema}"."${table}" AS t`,
        );
        lines.push(...rows.rows.map((r) => `${table}: ${r.row}`));
      }
      return lines.join('\n');
    };

    it('leaves the text, its edit and the quotes of it in no row of any table', async () => {
      const schema = pg.schema();
      const store = new PostgresMessageStore({ pool: pg.pool, schema });
      await store.start();
      await store.appendMessage(message());
      const { message: secret } = await store.appendMessage(message({ text: `the code is ${SECRET}` }));
      const quote = (preview: string) => ({
        messageId: secret.id,
        senderId: 'alice',
        kind: 'text' as const,
        preview,
      });
      await store.appendMessage(
        message({ senderId: 'bob', recipientIds: ['alice'], text: 'noted', replyTo: quote(secret.text) }),
      );
      await store.applyChange(change({ messageId: secret.id, text: `now it is ${EDITED}` }));
      await store.appendMessage(
        message({
          senderId: 'carol',
          recipientIds: ['alice'],
          text: 'ok',
          replyTo: quote(`now it is ${EDITED}`),
        }),
      );
      await store.applyChange(change({ messageId: secret.id, kind: 'reaction', emoji: '🙈', userId: 'bob' }));
      const before = await everyRow(schema);
      expect(before).toContain(SECRET);
      expect(before).toContain(EDITED);

      await store.applyChange(change({ messageId: secret.id, kind: 'delete' }));
      const after = await everyRow(schema);
      expect(after).not.toContain(SECRET);
      expect(after).not.toContain(EDITED);
      expect(after).toContain('filler 1');
      expect(await store.getMessage(secret.id)).toMatchObject({ text: '', deletedAt: 9_000 });
      await store.close();
    });

    it('erases the copies version 1 kept: inbox entries holding the message as JSON', async () => {
      const schema = pg.schema();
      const s = `"${schema}"`;
      // The schema as versions 1 and 2 left it, with a message and its inbox copies.
      await pg.pool.query(`CREATE SCHEMA ${s}`);
      await pg.pool.query(`
      CREATE TABLE ${s}.schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO ${s}.schema_migrations (version, name) VALUES (1, 'messages'), (2, 'directory');
      CREATE TABLE ${s}.messages (
        thread_id text NOT NULL, seq bigint NOT NULL, id text NOT NULL UNIQUE, sender_id text NOT NULL,
        kind text NOT NULL, text text NOT NULL, media jsonb, client_message_id text NOT NULL, sent_at bigint NOT NULL,
        PRIMARY KEY (thread_id, seq), UNIQUE (sender_id, client_message_id));
      CREATE TABLE ${s}.thread_counters (thread_id text PRIMARY KEY, last_seq bigint NOT NULL);
      CREATE TABLE ${s}.inbox (
        user_id text NOT NULL, inbox_seq bigint NOT NULL, payload jsonb NOT NULL, PRIMARY KEY (user_id, inbox_seq));
      CREATE TABLE ${s}.inbox_counters (user_id text PRIMARY KEY, last_seq bigint NOT NULL);
      CREATE TABLE ${s}.watermarks (
        thread_id text NOT NULL, user_id text NOT NULL, delivered bigint NOT NULL, delivered_at bigint NOT NULL,
        read bigint NOT NULL, read_at bigint NOT NULL, since bigint,
        saved_order bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (thread_id, user_id));
      CREATE TABLE ${s}.cursors (
        user_id text NOT NULL, name text NOT NULL, value bigint NOT NULL, PRIMARY KEY (user_id, name));
      CREATE TABLE ${s}.directory_users (id text PRIMARY KEY, record jsonb NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY);
      CREATE TABLE ${s}.directory_groups (id text PRIMARY KEY, record jsonb NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY);
      CREATE TABLE ${s}.directory_settings (id text PRIMARY KEY, record jsonb NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY);
      CREATE TABLE ${s}.directory_threads (id text PRIMARY KEY, record jsonb NOT NULL,
        saved_order bigint GENERATED ALWAYS AS IDENTITY);`);
      const secret = {
        id: `${GROUP}#1`,
        threadId: GROUP,
        seq: 1,
        senderId: 'alice',
        kind: 'text',
        text: `the code is ${SECRET}`,
        clientMessageId: 'old-1',
        sentAt: 1,
      };
      await pg.pool.query(
        `INSERT INTO ${s}.messages VALUES ($1, 1, $2, 'alice', 'text', $3, NULL, 'old-1', 1)`,
        [GROUP, secret.id, secret.text],
      );
      await pg.pool.query(`INSERT INTO ${s}.thread_counters VALUES ($1, 1)`, [GROUP]);
      for (const userId of ['alice', 'bob', 'carol']) {
        await pg.pool.query(`INSERT INTO ${s}.inbox VALUES ($1, 1, $2)`, [
          userId,
          JSON.stringify({ type: 'message', message: secret }),
        ]);
        await pg.pool.query(`INSERT INTO ${s}.inbox_counters VALUES ($1, 1)`, [userId]);
      }
      expect(await everyRow(schema)).toContain(SECRET);

      const store = new PostgresMessageStore({ pool: pg.pool, schema });
      await store.start();
      expect((await store.readInbox('bob', 0, 10)).entries).toEqual([
        { type: 'message', message: secret, userId: 'bob', inboxSeq: 1 },
      ]);
      expect(Object.fromEntries(await store.highestReceived('bob', 0, 1))).toEqual({ [GROUP]: 1 });
      await store.applyChange(change({ messageId: secret.id, kind: 'delete' }));
      expect(await everyRow(schema)).not.toContain(SECRET);
      expect((await store.readInbox('bob', 0, 10)).entries[0]).toMatchObject({
        type: 'message',
        message: { id: secret.id, text: '', deletedAt: 9_000 },
      });
      const next = await store.appendMessage(message({ clientMessageId: 'after-upgrade' }));
      expect(next.message.seq).toBe(2);
      await store.close();
    });
  },
);
