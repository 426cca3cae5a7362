import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ChatRoomError, ValidationError } from 'chat-room';
import type { NewMessage } from 'chat-room';
import { SqliteMessageStore } from 'chat-room/sqlite';
import { messageStoreSuite } from 'chat-room/testing';

const root = mkdtempSync(join(tmpdir(), 'chat-room-sqlite-'));
let files = 0;
/** Every store a test opened and did not close itself (the retention stores), closed after each test. */
const open: SqliteMessageStore[] = [];

const freshPath = (): string => join(root, `store-${++files}.db`);
const removeFiles = (path: string): void => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
};
const openStore = (options: { path: string; maxInboxEntries?: number }): SqliteMessageStore => {
  const store = new SqliteMessageStore(options);
  open.push(store);
  return store;
};

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** Checks that schema_migrations holds 1, 2, 3, ... once each, up to at least version 4 (changing messages). */
const expectEveryVersionOnce = (versions: unknown[]): void => {
  expect(versions).toEqual(versions.map((_, i) => i + 1));
  expect(versions.length).toBeGreaterThanOrEqual(4);
};

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

messageStoreSuite(
  'SqliteMessageStore',
  async () => {
    const path = freshPath();
    const store = new SqliteMessageStore({ path });
    return {
      store,
      close: async () => {
        await store.close();
        removeFiles(path);
      },
    };
  },
  { retention: async (max) => openStore({ path: freshPath(), maxInboxEntries: max }) },
);

describe('SqliteMessageStore on disk', () => {
  const input: NewMessage = {
    threadId: 'dm:alice:bob',
    senderId: 'alice',
    kind: 'photo',
    text: 'look',
    media: {
      mediaId: 'm1',
      mimeType: 'image/png',
      bytes: 10,
      width: 2,
      height: 3,
      thumbnailId: 't1',
    },
    clientMessageId: 'c1',
    sentAt: 1_000,
    recipientIds: ['bob'],
  };

  it('keeps messages, inboxes, watermarks and cursors across close and reopen', async () => {
    const path = freshPath();
    const first = new SqliteMessageStore({ path });
    const { message } = await first.appendMessage(input);
    await first.appendEntry('alice', {
      type: 'receipt',
      receipt: { threadId: input.threadId, status: 'read', upToSeq: 1, at: 2_000 },
    });
    await first.saveWatermark(input.threadId, {
      userId: 'bob',
      delivered: 1,
      read: 1,
      deliveredAt: 5,
      readAt: 6,
      since: 0,
    });
    await first.advanceCursor('bob', 'phone', 1);
    await first.close();

    const again = openStore({ path });
    expect(await again.findByClientMessageId('alice', 'c1')).toEqual(message);
    expect(await again.getMessage(message.id)).toEqual(message);
    const bob = await again.readInbox('bob', 0, 10);
    expect(bob).toMatchObject({ hasMore: false, cursor: 1, latest: 1 });
    expect(bob.entries).toEqual([{ type: 'message', message, userId: 'bob', inboxSeq: 1 }]);
    expect((await again.readInbox('alice', 0, 10)).entries.map((e) => e.type)).toEqual([
      'message',
      'receipt',
    ]);
    expect(await again.loadWatermarks(input.threadId)).toEqual([
      { userId: 'bob', delivered: 1, read: 1, deliveredAt: 5, readAt: 6, since: 0 },
    ]);
    expect(await again.getCursor('bob', 'phone')).toBe(1);

    const retried = await again.appendMessage({ ...input });
    expect(retried).toEqual({ message, entries: [], duplicate: true });
    const next = await again.appendMessage({ ...input, clientMessageId: 'c2' });
    expect(next.message.seq).toBe(2);
    expect(next.entries.map((e) => e.inboxSeq)).toEqual([3, 2]);
  });

  it('applies each migration once: reopening works and schema_migrations holds each version once', async () => {
    const path = freshPath();
    await new SqliteMessageStore({ path }).close();
    await new SqliteMessageStore({ path }).close();
    openStore({ path });
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

  it('sets the handle up for durable group commit: WAL, synchronous FULL, savepoint journals in memory', async () => {
    const db = new Database(freshPath());
    const store = new SqliteMessageStore({ db });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL: a resolved write survives a power cut
      // A batch in which a write fails runs again with a savepoint per write; a savepoint's journal in a temp file
      // cost a write per page touched.
      expect(db.pragma('temp_store', { simple: true })).toBe(2); // MEMORY
      // Fewer, larger checkpoints: a page rewritten by many batches is copied back to the database once.
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
      // What a write replaces or deletes (a message deleted for everyone) is zeroed, not left in free space.
      expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    } finally {
      await store.close();
      db.close();
    }
  });

  it('writes a backlog of up to 1 024 queued writes in one transaction by default, more in two', async () => {
    const store = openStore({ path: freshPath() });
    const backlog = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) =>
        store.appendMessage({
          threadId: input.threadId,
          senderId: input.senderId,
          kind: 'text',
          text: `m${from + i}`,
          clientMessageId: `backlog-${from + i}`,
          sentAt: input.sentAt,
          recipientIds: input.recipientIds,
        }),
      );
    const first = await Promise.all(backlog(0, 1024));
    expect(store.stats).toEqual({ commits: 1, appends: 1024, largestBatch: 1024 });
    const second = await Promise.all(backlog(1024, 1025));
    expect(store.stats).toEqual({ commits: 3, appends: 2049, largestBatch: 1024 });
    expect([...first, ...second].map((r) => r.message.seq)).toEqual(
      Array.from({ length: 2049 }, (_, i) => i + 1),
    );
  });

  it('a write that fails inside a batch is undone alone; the rest of the batch commits', async () => {
    const db = new Database(':memory:');
    const store = new SqliteMessageStore({ db });
    // Mallory's inbox refuses entries: a message to her fails after its message row went in.
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON inbox WHEN NEW.user_id = 'mallory'
             BEGIN SELECT RAISE(ABORT, 'mallory takes no entries'); END`);
    const { media: _photo, ...rest } = input;
    const text: NewMessage = { ...rest, kind: 'text', text: 'hi' };
    const before = store.stats.commits;
    const [toBob, toMallory, receipt, again] = await Promise.allSettled([
      store.appendMessage({ ...text, clientMessageId: 'b1' }),
      store.appendMessage({
        ...text,
        threadId: 'dm:alice:mallory',
        clientMessageId: 'm1',
        recipientIds: ['mallory'],
      }),
      store.appendEntry('bob', {
        type: 'receipt',
        receipt: { threadId: 'dm:alice:bob', status: 'read', upToSeq: 1, at: 2_000 },
      }),
      store.appendMessage({ ...text, clientMessageId: 'b2' }),
    ]);
    expect(store.stats.commits - before).toBe(1); // one batch
    expect(toBob).toMatchObject({ status: 'fulfilled', value: { message: { seq: 1 } } });
    expect(toMallory).toMatchObject({ status: 'rejected', reason: { code: 'STORAGE' } });
    expect(receipt).toMatchObject({ status: 'fulfilled', value: { inboxSeq: 2 } });
    expect(again).toMatchObject({ status: 'fulfilled', value: { message: { seq: 2 } } });
    // Nothing of the failed write stayed: no message row in Mallory's thread, no entry in Alice's inbox for it.
    expect(await store.lastSeq('dm:alice:mallory')).toBe(0);
    expect((await store.readInbox('alice', 0, 10)).entries.map((e) => e.inboxSeq)).toEqual([1, 2]);
    expect((await store.readInbox('bob', 0, 10)).entries.map((e) => e.type)).toEqual([
      'message',
      'receipt',
      'message',
    ]);
    await store.close();
    db.close();
  });

  it('uses a ready handle and leaves it open on close', async () => {
    const db = new Database(':memory:');
    const store = new SqliteMessageStore({ db });
    await store.appendMessage(input);
    await store.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) FROM messages').pluck().get()).toBe(1);
    db.close();
  });

  it('wraps driver errors in StorageError without SQL in the message', async () => {
    const store = new SqliteMessageStore({ path: freshPath() });
    await store.close();
    const error = await store.lastSeq('t').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ChatRoomError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 'STORAGE' });
    expect((error as Error).message).not.toMatch(/SELECT|FROM/);
    expect((error as Error).cause).toMatchObject({ message: expect.stringMatching(/not open/) });
  });

  it('migrates a file written at schema version 2: what it held reads as before, and new writes continue it', async () => {
    const path = freshPath();
    // The message store's tables as versions 1 and 2 left them, with what the store wrote into them then: a
    // message with its id as a column, and inbox entries holding the message (and a receipt) as JSON.
    const old = new Database(path);
    old.exec(`
      CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
      INSERT INTO schema_migrations VALUES (1, 0), (2, 0);
      CREATE TABLE messages (
        thread_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL UNIQUE, sender_id TEXT NOT NULL,
        kind TEXT NOT NULL, text TEXT NOT NULL, media TEXT, client_message_id TEXT NOT NULL, sent_at INTEGER NOT NULL,
        PRIMARY KEY (thread_id, seq), UNIQUE (sender_id, client_message_id)
      ) WITHOUT ROWID;
      CREATE TABLE inbox (
        user_id TEXT NOT NULL, inbox_seq INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (user_id, inbox_seq)
      ) WITHOUT ROWID;
      CREATE TABLE watermarks (
        thread_id TEXT NOT NULL, user_id TEXT NOT NULL, delivered INTEGER NOT NULL, "read" INTEGER NOT NULL,
        delivered_at INTEGER NOT NULL, read_at INTEGER NOT NULL, since INTEGER, PRIMARY KEY (thread_id, user_id)
      );
      CREATE TABLE cursors (
        user_id TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (user_id, name)
      ) WITHOUT ROWID;`);
    const message = {
      id: 'dm:alice:bob#1',
      threadId: 'dm:alice:bob',
      seq: 1,
      senderId: 'alice',
      kind: 'photo',
      text: 'look',
      media: input.media,
      clientMessageId: 'c1',
      sentAt: 1_000,
    };
    old
      .prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('dm:alice:bob', 1, message.id, 'alice', 'photo', 'look', JSON.stringify(input.media), 'c1', 1_000);
    const receipt = { threadId: 'dm:alice:bob', status: 'delivered', upToSeq: 1, at: 2_000 };
    const insertEntry = old.prepare('INSERT INTO inbox VALUES (?, ?, ?)');
    insertEntry.run('alice', 1, JSON.stringify({ type: 'message', message }));
    insertEntry.run('bob', 1, JSON.stringify({ type: 'message', message }));
    insertEntry.run('alice', 2, JSON.stringify({ type: 'receipt', receipt }));
    old.close();

    const store = openStore({ path });
    expect(await store.getMessage('dm:alice:bob#1')).toEqual(message);
    expect(await store.findByClientMessageId('alice', 'c1')).toEqual(message);
    expect(await store.appendMessage({ ...input })).toEqual({ message, entries: [], duplicate: true });
    const next = await store.appendMessage({ ...input, clientMessageId: 'c2', sentAt: 3_000 });
    expect(next.message).toMatchObject({ id: 'dm:alice:bob#2', seq: 2 });
    expect(next.entries.map((e) => [e.userId, e.inboxSeq])).toEqual([
      ['alice', 3],
      ['bob', 2],
    ]);
    const read = { threadId: 'dm:alice:bob', status: 'read', upToSeq: 2, at: 4_000 } as const;
    expect(await store.appendEntry('alice', { type: 'receipt', receipt: read })).toEqual({
      type: 'receipt',
      receipt: read,
      userId: 'alice',
      inboxSeq: 4,
    });
    expect((await store.readInbox('alice', 0, 10)).entries).toEqual([
      { type: 'message', message, userId: 'alice', inboxSeq: 1 },
      { type: 'receipt', receipt, userId: 'alice', inboxSeq: 2 },
      { type: 'message', message: next.message, userId: 'alice', inboxSeq: 3 },
      { type: 'receipt', receipt: read, userId: 'alice', inboxSeq: 4 },
    ]);
    expect(await store.listMessages('dm:alice:bob', 0, 2, 10)).toEqual([message, next.message]);

    const db = new Database(path, { readonly: true });
    try {
      expectEveryVersionOnce(
        db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(),
      );
      // No row holds a copy of a message (a message is written once, its entries name its row; version 4 made
      // the migrated copies name it too); a receipt is columns, and the migrated one keeps its JSON.
      expect(
        db.prepare('SELECT inbox_seq FROM inbox WHERE payload IS NULL AND user_id = ?').pluck().all('alice'),
      ).toEqual([1, 3, 4]);
      expect(
        db.prepare("SELECT payload ->> '$.type' FROM inbox WHERE payload IS NOT NULL").pluck().all(),
      ).toEqual(['receipt']);
    } finally {
      db.close();
    }
  });

  it('finds a message only by the id it gave', async () => {
    const store = openStore({ path: freshPath() });
    const { message } = await store.appendMessage(input);
    expect(await store.getMessage(message.id)).toEqual(message);
    for (const other of ['dm:alice:bob#01', 'dm:alice:bob#1.0', 'dm:alice:bob', '#1', 'dm:alice:bob#0', '1'])
      expect(await store.getMessage(other)).toBeUndefined();
  });

  it('refuses a newer schema than it knows', () => {
    const path = freshPath();
    openStore({ path });
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)').run();
    db.close();
    expect(() => new SqliteMessageStore({ path })).toThrow(expect.objectContaining({ code: 'STORAGE' }));
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxInboxEntries %p', (max) => {
    expect(() => new SqliteMessageStore({ path: ':memory:', maxInboxEntries: max })).toThrow(ValidationError);
  });

  it('refuses options with neither or both of db and path', () => {
    expect(() => new SqliteMessageStore({})).toThrow(ValidationError);
    const db = new Database(':memory:');
    expect(() => new SqliteMessageStore({ db, path: ':memory:' })).toThrow(ValidationError);
    db.close();
  });
});
