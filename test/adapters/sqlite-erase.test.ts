import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MessageChangeInput, MessageStore, NewMessage } from 'chat-room';
import { SqliteMessageStore } from 'chat-room/sqlite';

/**
 * A delete for everyone really erases: once it resolves, the deleted text, the texts of its edits and the
 * previews quoting it are in no byte of the database file or of its WAL — wherever they were before (the file
 * after a checkpoint, WAL frames, overflow pages of a long text, JSON copies an older schema kept).
 */

const root = mkdtempSync(join(tmpdir(), 'chat-room-erase-'));
let files = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const GROUP = 'group:erase';
/** Distinctive texts, found by a byte search only where the store wrote them. */
const SECRET = 'zebra-quokka-7319';
const EDITED = 'narwhal-ocelot-4482';

/** Whether the database file or its WAL holds `text` (as UTF-8, the database's encoding). */
function onDisk(path: string, text: string): boolean {
  const needle = Buffer.from(text, 'utf8');
  return ['', '-wal'].some(
    (suffix) => existsSync(path + suffix) && readFileSync(path + suffix).includes(needle),
  );
}

/** Copies the WAL into the database file from a second connection, so some texts sit in the file itself. */
function checkpointFromOutside(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

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

/**
 * Sends alice's secret to the group (checkpointed into the file), edits it, has bob and carol quote it before
 * and after the edit, reacts to it; returns its id.
 */
async function secretWithTraces(
  store: MessageStore,
  path: string,
  text = `the code is ${SECRET}`,
): Promise<string> {
  await store.appendMessage(message());
  const { message: secret } = await store.appendMessage(message({ text }));
  checkpointFromOutside(path);
  const quote = (preview: string) => ({
    messageId: secret.id,
    senderId: 'alice',
    kind: 'text' as const,
    preview,
  });
  await store.appendMessage(
    message({
      senderId: 'bob',
      recipientIds: ['alice', 'carol'],
      text: 'noted',
      replyTo: quote(text.slice(0, 100)),
    }),
  );
  await store.applyChange(change({ messageId: secret.id, text: `now it is ${EDITED}` }));
  await store.appendMessage(
    message({
      senderId: 'carol',
      recipientIds: ['alice', 'bob'],
      text: 'ok',
      replyTo: quote(`now it is ${EDITED}`),
    }),
  );
  await store.applyChange(change({ messageId: secret.id, kind: 'reaction', emoji: '🙈', userId: 'bob' }));
  await store.appendMessage(message());
  return secret.id;
}

describe('SqliteMessageStore: a delete for everyone erases the text from the files', () => {
  it('leaves no byte of the text, its edit or the quotes of it in the database file or the WAL', async () => {
    const path = join(root, `erase-${++files}.db`);
    const store = new SqliteMessageStore({ path });
    const id = await secretWithTraces(store, path);
    // The search finds them while they are stored: in the file (checkpointed) and in WAL frames.
    expect(onDisk(path, SECRET)).toBe(true);
    expect(onDisk(path, EDITED)).toBe(true);

    await store.applyChange(change({ messageId: id, kind: 'delete' }));
    expect(onDisk(path, SECRET)).toBe(false);
    expect(onDisk(path, EDITED)).toBe(false);
    // The rest is still there, and the tombstone reads as one.
    expect(onDisk(path, 'filler 1')).toBe(true);
    expect(await store.getMessage(id)).toMatchObject({ text: '', deletedAt: 9_000 });
    expect((await store.listMessages(GROUP, 0, 10, 10)).map((m) => m.replyTo?.preview)).not.toContain(
      `now it is ${EDITED}`,
    );
    await store.close();
    expect(onDisk(path, SECRET)).toBe(false);
    expect(onDisk(path, EDITED)).toBe(false);
  });

  it('erases a long text kept in overflow pages', async () => {
    const path = join(root, `erase-${++files}.db`);
    const store = new SqliteMessageStore({ path });
    const long = `${SECRET} `.repeat(2_000); // about 36 KB: many overflow pages
    const id = await secretWithTraces(store, path, long);
    expect(onDisk(path, SECRET)).toBe(true);
    await store.applyChange(change({ messageId: id, kind: 'delete' }));
    expect(onDisk(path, SECRET)).toBe(false);
    expect(onDisk(path, EDITED)).toBe(false);
    await store.close();
  });

  it('erases it when the delete commits in a batch with other writes', async () => {
    const path = join(root, `erase-${++files}.db`);
    const store = new SqliteMessageStore({ path });
    const id = await secretWithTraces(store, path);
    await Promise.all([
      store.appendMessage(message()),
      store.applyChange(change({ messageId: id, kind: 'delete' })),
      store.appendMessage(message()),
    ]);
    expect(onDisk(path, SECRET)).toBe(false);
    expect(onDisk(path, EDITED)).toBe(false);
    await store.close();
  });

  it('erases the copies an older schema kept: inbox entries holding the message as JSON', async () => {
    const path = join(root, `erase-${++files}.db`);
    // The message store's tables as versions 1 and 2 left them: inbox entries hold the message as JSON.
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
    old
      .prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)')
      .run(GROUP, 1, secret.id, 'alice', 'text', secret.text, 'old-1', 1);
    for (const userId of ['alice', 'bob', 'carol']) {
      old
        .prepare('INSERT INTO inbox VALUES (?, 1, ?)')
        .run(userId, JSON.stringify({ type: 'message', message: secret }));
    }
    old.close();
    expect(onDisk(path, SECRET)).toBe(true);

    const store = new SqliteMessageStore({ path });
    expect((await store.readInbox('bob', 0, 10)).entries).toEqual([
      { type: 'message', message: secret, userId: 'bob', inboxSeq: 1 },
    ]);
    await store.applyChange(change({ messageId: secret.id, kind: 'delete' }));
    expect(onDisk(path, SECRET)).toBe(false);
    expect((await store.readInbox('bob', 0, 10)).entries[0]).toMatchObject({
      type: 'message',
      message: { id: secret.id, text: '', deletedAt: 9_000 },
    });
    await store.close();
  });
});
