import { Pool } from 'pg';
import { ValidationError } from 'chat-room';
import type { UserRecord } from 'chat-room';
import { PostgresDirectoryStore, PostgresMessageStore } from 'chat-room/postgres';
import { postgresFixture } from '../support/postgres';
import { postgresOrSkip } from '../support/services';
import { directoryStoreSuite } from 'chat-room/testing';

const url = postgresOrSkip('PostgresDirectoryStore conformance');

const alice: UserRecord = { id: 'alice', name: 'Alice', contacts: ['bob'], blocked: [], pushDevices: [] };

(url === undefined ? describe.skip : describe)('PostgreSQL directory', () => {
  const pg = postgresFixture(url);
  const freshSchema = (): string => pg.schema();

  const versions = async (schema: string): Promise<number[]> => {
    const { rows } = await pg.pool.query<{ version: number }>(
      `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
    );
    return rows.map((r) => r.version);
  };
  /** 1, 2, 3, ... once each, up to at least version 3 (chat-list choices). */
  const expectEveryVersionOnce = (list: number[]): void => {
    expect(list).toEqual(list.map((_, i) => i + 1));
    expect(list.length).toBeGreaterThanOrEqual(3);
  };

  directoryStoreSuite('PostgresDirectoryStore', async () => {
    const schema = freshSchema();
    const store = new PostgresDirectoryStore({ pool: pg.pool, schema });
    await store.start();
    return {
      store,
      reopen: async () => {
        const again = new PostgresDirectoryStore({ pool: pg.pool, schema });
        await again.start();
        return again;
      },
      close: () => store.close(),
    };
  });

  describe('PostgresDirectoryStore lifecycle', () => {
    it('shares a schema with PostgresMessageStore: both migrate once, whichever starts first', async () => {
      for (const directoryFirst of [true, false]) {
        const schema = freshSchema();
        const directory = new PostgresDirectoryStore({ pool: pg.pool, schema });
        const messages = new PostgresMessageStore({ pool: pg.pool, schema });
        if (directoryFirst) await directory.start();
        await Promise.all([
          messages.start(),
          directory.start(),
          new PostgresDirectoryStore({ pool: pg.pool, schema }).start(),
        ]);
        expectEveryVersionOnce(await versions(schema));
        await directory.save({ users: [alice] });
        await messages.appendMessage({
          threadId: 'dm:alice:bob',
          senderId: 'alice',
          kind: 'text',
          text: 'hi',
          clientMessageId: 'c1',
          sentAt: 1,
          recipientIds: ['bob'],
        });
        expect((await directory.load()).users).toEqual([alice]);
        expect(await messages.lastSeq('dm:alice:bob')).toBe(1);
        await directory.close();
        await messages.close();
      }
    });

    it('migrates on the first call when start() was not called', async () => {
      const schema = freshSchema();
      const store = new PostgresDirectoryStore({ pool: pg.pool, schema });
      expect((await store.load()).users).toEqual([]);
      expectEveryVersionOnce(await versions(schema));
    });

    it('does not end a pool it was given, and refuses calls once closed', async () => {
      const store = new PostgresDirectoryStore({ pool: pg.pool, schema: freshSchema() });
      await store.start();
      await store.close();
      const { rows } = await pg.pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]?.one).toBe(1);
      await expect(store.load()).rejects.toMatchObject({ code: 'STORAGE' });
    });

    it('opens a schema migrated before feed records existed: it loads as before, and takes them', async () => {
      const schema = freshSchema();
      const first = new PostgresDirectoryStore({ pool: pg.pool, schema });
      await first.save({ users: [alice] });
      await first.close();
      // Turn the schema back into what migration 2 left: no directory_feeds table.
      await pg.pool.query(
        `DROP TABLE "${schema}".directory_feeds; DELETE FROM "${schema}".schema_migrations WHERE version = 3`,
      );
      const again = new PostgresDirectoryStore({ pool: pg.pool, schema });
      const loaded = await again.load();
      expect(loaded.users).toEqual([alice]);
      expect(loaded.feeds).toEqual([]);
      const choices = { userId: 'alice', pinned: [], archived: ['group:g1'], markedUnread: ['group:g1'] };
      await again.save({ feeds: [choices] });
      expect((await again.load()).feeds).toEqual([choices]);
      expectEveryVersionOnce(await versions(schema));
    });

    it('rolls back the whole batch when a write fails part way', async () => {
      const schema = freshSchema();
      const store = new PostgresDirectoryStore({ pool: pg.pool, schema });
      await store.save({ users: [alice] });
      // Groups are written after users: make that table refuse writes, so the batch fails after its users.
      await pg.pool.query(
        `ALTER TABLE "${schema}".directory_groups ADD CONSTRAINT refuse CHECK (record->>'name' <> 'Refused')`,
      );
      const error = await store
        .save({
          users: [{ ...alice, id: 'bob', name: 'Bob' }],
          groups: [{ id: 'g1', name: 'Refused', adminIds: [], memberIds: ['bob'], sizeLimit: 8 }],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toMatchObject({ code: 'STORAGE', name: 'StorageError' });
      expect((error as Error).message).not.toMatch(/SELECT|INSERT|UPDATE/);
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect((await store.load()).users.map((u) => u.id)).toEqual(['alice']);
    });

    it('wraps a failed migration in StorageError', async () => {
      const broken = new Pool({ connectionString: url, max: 1 });
      await broken.end();
      const store = new PostgresDirectoryStore({ pool: broken, schema: freshSchema() });
      await expect(store.start()).rejects.toMatchObject({ code: 'STORAGE', name: 'StorageError' });
    });

    it.each(['', 'x'.repeat(64), 'a\u0000b'])('refuses the schema name %p', (schema) => {
      expect(() => new PostgresDirectoryStore({ pool: pg.pool, schema })).toThrow(ValidationError);
    });

    it('refuses options without a pool', () => {
      expect(() => new PostgresDirectoryStore({} as { pool: Pool })).toThrow(ValidationError);
    });
  });
});
