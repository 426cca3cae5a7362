import { StorageError, ValidationError } from 'chat-room';
import { PostgresMediaStore } from 'chat-room/postgres';
import { mediaStoreSuite } from 'chat-room/testing';
import { postgresFixture } from '../support/postgres';
import { postgresOrSkip } from '../support/services';

const url = postgresOrSkip('PostgresMediaStore conformance');

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const info = (mediaId: string, bytes: Uint8Array) => ({
  mediaId,
  ownerId: 'alice',
  mimeType: 'image/png' as const,
  bytes: bytes.byteLength,
  width: 1,
  height: 1,
  createdAt: T0,
});

(url === undefined ? describe.skip : describe)('PostgreSQL', () => {
  const pg = postgresFixture(url);

  const fresh = async (): Promise<PostgresMediaStore> => {
    const store = new PostgresMediaStore({ pool: pg.pool, schema: pg.schema() });
    await store.start();
    return store;
  };

  mediaStoreSuite('PostgresMediaStore', async () => {
    const store = await fresh();
    return { store, close: () => store.close() };
  });

  describe('PostgresMediaStore in the database', () => {
    it('keeps the bytes in a bytea row that a delete removes, links included', async () => {
      const store = await fresh();
      const s = `"${pg.lastSchema}"`;
      const bytes = new Uint8Array([0, 1, 2, 255]);
      await store.put(info('m1', bytes), bytes);
      await store.link('m1', 'dm:alice:bob');
      const stored = await pg.pool.query<{ data: Buffer }>(`SELECT data FROM ${s}.media WHERE id = 'm1'`);
      expect([...(stored.rows[0]?.data ?? [])]).toEqual([0, 1, 2, 255]);
      expect(await store.delete('m1')).toBe(true);
      const left = await pg.pool.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM ${s}.media)::int + (SELECT count(*) FROM ${s}.media_links)::int AS n`,
      );
      expect(left.rows[0]?.n).toBe(0);
    });

    it('shares media between store instances on the same schema (two nodes)', async () => {
      const first = await fresh();
      const second = new PostgresMediaStore({ pool: pg.pool, schema: pg.lastSchema });
      const bytes = new Uint8Array([9, 8, 7]);
      await first.put(info('m1', bytes), bytes);
      await second.link('m1', 'group-1');
      expect([...((await second.get('m1'))?.bytes ?? [])]).toEqual([9, 8, 7]);
      expect(await first.threads('m1')).toEqual(['group-1']);
      await expect(second.put(info('m1', bytes), bytes)).rejects.toMatchObject({ code: 'CONFLICT' });
    });

    it('applies the media migration beside the others, once', async () => {
      await fresh();
      const { rows } = await pg.pool.query<{ version: number; name: string }>(
        `SELECT version, name FROM "${pg.lastSchema}".schema_migrations ORDER BY version`,
      );
      expect(rows.map((r) => r.version)).toEqual(rows.map((_, i) => i + 1));
      expect(rows.some((r) => r.name.startsWith('media:'))).toBe(true);
    });

    it('does not end a pool it was given, and refuses work once closed', async () => {
      const store = await fresh();
      await store.close();
      expect((await pg.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      await expect(store.info('m1')).rejects.toBeInstanceOf(StorageError);
    });

    it('wraps driver errors in StorageError without SQL in the message', async () => {
      const store = await fresh();
      const bytes = new Uint8Array([1]);
      const error = await store.put({ ...info('m1', bytes), width: 2 ** 40 }, bytes).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).not.toMatch(/SELECT|INSERT|UPDATE/);
      expect((error as Error).cause).toBeInstanceOf(Error);
    });

    it('refuses a missing pool or a bad schema name', () => {
      expect(() => new PostgresMediaStore({} as never)).toThrow(ValidationError);
      expect(() => new PostgresMediaStore({ pool: pg.pool, schema: '' })).toThrow(ValidationError);
    });
  });
});
