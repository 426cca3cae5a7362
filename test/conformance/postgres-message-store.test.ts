import { ValidationError } from 'chat-room';
import { PostgresMessageStore } from 'chat-room/postgres';
import { postgresFixture } from '../support/postgres';
import { postgresOrSkip } from '../support/services';
import { messageStoreSuite } from 'chat-room/testing';

const url = postgresOrSkip('PostgresMessageStore conformance');

(url === undefined ? describe.skip : describe)('PostgreSQL', () => {
  const pg = postgresFixture(url);

  const fresh = async (maxInboxEntries?: number): Promise<PostgresMessageStore> => {
    const schema = pg.schema();
    const store = new PostgresMessageStore({
      pool: pg.pool,
      schema,
      ...(maxInboxEntries === undefined ? {} : { maxInboxEntries }),
    });
    await store.start();
    return store;
  };

  messageStoreSuite(
    'PostgresMessageStore',
    async () => {
      const store = await fresh();
      return { store, close: () => store.close() };
    },
    { retention: (max) => fresh(max) },
  );

  describe('PostgresMessageStore lifecycle', () => {
    it('applies its migrations once, however often start() runs', async () => {
      const store = await fresh();
      const schema = pg.lastSchema;
      await Promise.all([store.start(), new PostgresMessageStore({ pool: pg.pool, schema }).start()]);
      const { rows } = await pg.pool.query<{ version: number }>(
        `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
      );
      // 1, 2, 3, ... once each, up to at least version 4 (messages that change).
      const versions = rows.map((r) => r.version);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
      expect(versions.length).toBeGreaterThanOrEqual(4);
    });

    it('keeps its data across store instances on the same schema', async () => {
      const first = await fresh();
      const schema = pg.lastSchema;
      await first.appendMessage({
        threadId: 'dm:a:b',
        senderId: 'a',
        kind: 'text',
        text: 'persisted',
        clientMessageId: 'c1',
        sentAt: 1,
        recipientIds: ['b'],
      });
      await first.close();
      const second = new PostgresMessageStore({ pool: pg.pool, schema });
      expect(await second.getMessage('dm:a:b#1')).toMatchObject({ text: 'persisted' });
      expect(await second.latestInboxSeq('b')).toBe(1);
    });

    it('does not end a pool it was given', async () => {
      const store = await fresh();
      await store.close();
      const { rows } = await pg.pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]?.one).toBe(1);
    });

    it('wraps driver errors in StorageError without SQL in the message', async () => {
      const store = await fresh();
      const error = await store.advanceCursor('bob', 'phone', 1.5).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'STORAGE', name: 'StorageError' });
      expect((error as Error).message).not.toMatch(/SELECT|INSERT|UPDATE/);
      expect((error as Error).cause).toBeInstanceOf(Error);
    });

    it.each([0, -1, 1.5])('refuses maxInboxEntries %p', (max) => {
      expect(() => new PostgresMessageStore({ pool: pg.pool, maxInboxEntries: max })).toThrow(
        ValidationError,
      );
    });
  });
});
