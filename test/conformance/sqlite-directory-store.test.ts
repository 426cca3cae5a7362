import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ChatRoomError, ValidationError } from 'chat-room';
import type { UserRecord } from 'chat-room';
import { SqliteDirectoryStore, SqliteMessageStore } from 'chat-room/sqlite';
import { directoryStoreSuite } from 'chat-room/testing';

const root = mkdtempSync(join(tmpdir(), 'chat-room-sqlite-directory-'));
let files = 0;

const freshPath = (): string => join(root, `directory-${++files}.db`);
const removeFiles = (path: string): void => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
};

/** Checks that schema_migrations holds 1, 2, 3, ... once each, up to at least version 5 (chat-list choices). */
const expectEveryVersionOnce = (versions: unknown[]): void => {
  expect(versions).toEqual(versions.map((_, i) => i + 1));
  expect(versions.length).toBeGreaterThanOrEqual(5);
};

const alice: UserRecord = { id: 'alice', name: 'Alice', contacts: ['bob'], blocked: [], pushDevices: [] };

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

directoryStoreSuite('SqliteDirectoryStore', async () => {
  const path = freshPath();
  const store = new SqliteDirectoryStore({ path });
  return {
    store,
    reopen: async () => new SqliteDirectoryStore({ path }),
    close: async () => {
      await store.close();
      removeFiles(path);
    },
  };
});

describe('SqliteDirectoryStore on disk', () => {
  it('shares one handle with SqliteMessageStore, whichever opens first', async () => {
    for (const order of ['messages first', 'directory first'] as const) {
      const db = new Database(':memory:');
      try {
        const make = (): [SqliteMessageStore, SqliteDirectoryStore] => {
          if (order === 'messages first') {
            const messages = new SqliteMessageStore({ db });
            return [messages, new SqliteDirectoryStore({ db })];
          }
          const directory = new SqliteDirectoryStore({ db });
          return [new SqliteMessageStore({ db }), directory];
        };
        const [messages, directory] = make();
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
        expectEveryVersionOnce(
          db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(),
        );
        await directory.close();
        await messages.close();
        expect(db.open).toBe(true);
      } finally {
        db.close();
      }
    }
  });

  it('shares one file with SqliteMessageStore across close and reopen', async () => {
    const path = freshPath();
    const messages = new SqliteMessageStore({ path });
    const directory = new SqliteDirectoryStore({ path });
    await directory.save({
      users: [alice],
      threads: [{ id: 'dm:alice:bob', participantIds: ['alice', 'bob'] }],
    });
    await directory.close();
    await messages.close();
    const again = new SqliteDirectoryStore({ path });
    try {
      const loaded = await again.load();
      expect(loaded.users).toEqual([alice]);
      expect(loaded.threads.map((t) => t.id)).toEqual(['dm:alice:bob']);
      expect(Object.isFrozen(loaded.users[0]?.contacts)).toBe(true);
    } finally {
      await again.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      expectEveryVersionOnce(
        db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(),
      );
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('opens a file written before feed records existed: it loads as before, with no feeds, and takes them', async () => {
    const path = freshPath();
    // The directory's tables as versions 2 to 4 left them (the message tables play no part here), with a user
    // and a direct thread in them.
    const old = new Database(path);
    const table = (name: string): string =>
      `CREATE TABLE ${name} (saved_order INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, record TEXT NOT NULL);`;
    old.exec(`
      CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
      INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0);
      ${['users', 'groups', 'settings', 'threads'].map((kind) => table(`directory_${kind}`)).join('\n')}
    `);
    old.prepare('INSERT INTO directory_users (id, record) VALUES (?, ?)').run('alice', JSON.stringify(alice));
    old
      .prepare('INSERT INTO directory_threads (id, record) VALUES (?, ?)')
      .run('dm:alice:bob', JSON.stringify({ id: 'dm:alice:bob', participantIds: ['alice', 'bob'] }));
    old.close();
    const again = new SqliteDirectoryStore({ path });
    try {
      const loaded = await again.load();
      expect(loaded.users).toEqual([alice]);
      expect(loaded.threads.map((t) => t.id)).toEqual(['dm:alice:bob']);
      expect(loaded.feeds).toEqual([]);
      const choices = { userId: 'alice', pinned: ['dm:alice:bob'], archived: [], markedUnread: [] };
      await again.save({ feeds: [choices] });
      expect((await again.load()).feeds).toEqual([choices]);
    } finally {
      await again.close();
    }
  });

  it('rolls back the whole batch when a write fails part way', async () => {
    const db = new Database(':memory:');
    try {
      const store = new SqliteDirectoryStore({ db });
      await store.save({ users: [alice] });
      // Groups are written after users: make that table refuse writes, so the batch fails after its users.
      db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON directory_groups BEGIN SELECT RAISE(ABORT, 'no'); END`);
      const error = await store
        .save({
          users: [{ ...alice, id: 'bob', name: 'Bob' }],
          groups: [{ id: 'g1', name: 'G', adminIds: [], memberIds: ['bob'], sizeLimit: 8 }],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toMatchObject({ code: 'STORAGE', name: 'StorageError' });
      expect((await store.load()).users.map((u) => u.id)).toEqual(['alice']);
    } finally {
      db.close();
    }
  });

  it('wraps driver errors in StorageError without SQL in the message', async () => {
    const store = new SqliteDirectoryStore({ path: freshPath() });
    await store.close();
    const error = await store.load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ChatRoomError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 'STORAGE' });
    expect((error as Error).message).not.toMatch(/SELECT|INSERT|FROM/);
    expect((error as Error).cause).toMatchObject({ message: expect.stringMatching(/not open/) });
  });

  it('refuses a newer schema than it knows with StorageError', () => {
    const path = freshPath();
    const db = new Database(path);
    try {
      new SqliteDirectoryStore({ db });
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)').run();
    } finally {
      db.close();
    }
    expect(() => new SqliteDirectoryStore({ path })).toThrow(expect.objectContaining({ code: 'STORAGE' }));
  });

  it('refuses options with neither or both of db and path', () => {
    expect(() => new SqliteDirectoryStore({})).toThrow(ValidationError);
    const db = new Database(':memory:');
    expect(() => new SqliteDirectoryStore({ db, path: ':memory:' })).toThrow(ValidationError);
    db.close();
  });
});
