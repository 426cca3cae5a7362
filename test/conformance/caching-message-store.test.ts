import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageChangeInput, MessageStore, NewMessage } from 'chat-room';
import { InMemoryMessageStore, ValidationError } from 'chat-room';
import { CachingMessageStore } from 'chat-room/caching';
import { SqliteMessageStore } from 'chat-room/sqlite';
import { messageStoreSuite } from 'chat-room/testing';

messageStoreSuite(
  'CachingMessageStore over InMemoryMessageStore',
  async () => ({ store: new CachingMessageStore(new InMemoryMessageStore(), { capacity: 4 }) }),
  {
    retention: async (max) =>
      new CachingMessageStore(new InMemoryMessageStore({ maxInboxEntries: max }), { capacity: max }),
  },
);

const root = mkdtempSync(join(tmpdir(), 'chat-room-caching-'));
let files = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The retention stores, closed after each test. */
const opened: SqliteMessageStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

messageStoreSuite(
  'CachingMessageStore over SqliteMessageStore',
  async () => {
    const inner = new SqliteMessageStore({ path: join(root, `store-${++files}.db`) });
    return { store: new CachingMessageStore(inner), close: () => inner.close() };
  },
  {
    retention: async (max) => {
      const inner = new SqliteMessageStore({ path: join(root, `store-${++files}.db`), maxInboxEntries: max });
      opened.push(inner);
      return new CachingMessageStore(inner, { capacity: max });
    },
  },
);

/** An in-memory store that counts the reads the cache is meant to save. */
class CountingStore extends InMemoryMessageStore {
  reads = 0;
  override async highestReceived(userId: string, after: number, upTo: number): Promise<Map<string, number>> {
    this.reads++;
    return super.highestReceived(userId, after, upTo);
  }
  override async sendersBetween(threadId: string, afterSeq: number, upToSeq: number): Promise<string[]> {
    this.reads++;
    return super.sendersBetween(threadId, afterSeq, upToSeq);
  }
}

let n = 0;
const message = (patch: Partial<NewMessage> = {}): NewMessage => ({
  threadId: 'dm:alice:bob',
  senderId: 'alice',
  kind: 'text',
  text: `hi ${++n}`,
  clientMessageId: `c${n}`,
  sentAt: n,
  recipientIds: ['bob'],
  ...patch,
});

describe('CachingMessageStore', () => {
  test('answers what an ack covers and whom a receipt tells from what it appended, without reading the store', async () => {
    const inner = new CountingStore();
    const store = new CachingMessageStore(inner);
    for (let i = 0; i < 5; i++) await store.appendMessage(message());
    expect(Object.fromEntries(await store.highestReceived('bob', 2, 5))).toEqual({ 'dm:alice:bob': 5 });
    expect(await store.sendersBetween('dm:alice:bob', 0, 5)).toEqual(['alice']);
    expect(inner.reads).toBe(0);
  });

  test('reads the store for a range another writer filled in part, and gets it right', async () => {
    const inner = new CountingStore();
    const here = new CachingMessageStore(inner);
    const there: MessageStore = inner; // another node writing the same store
    await here.appendMessage(message());
    await there.appendMessage(message({ threadId: 'group:g', senderId: 'carol' }));
    await here.appendMessage(message());
    expect(Object.fromEntries(await here.highestReceived('bob', 0, 3))).toEqual({
      'dm:alice:bob': 2,
      'group:g': 1,
    });
    expect(inner.reads).toBe(1);
  });

  test('forgets the oldest positions past its capacity, and reads the store for them', async () => {
    const inner = new CountingStore();
    const store = new CachingMessageStore(inner, { capacity: 2 });
    for (let i = 0; i < 10; i++) await store.appendMessage(message());
    expect(Object.fromEntries(await store.highestReceived('bob', 8, 10))).toEqual({ 'dm:alice:bob': 10 });
    expect(inner.reads).toBe(0);
    expect(Object.fromEntries(await store.highestReceived('bob', 0, 3))).toEqual({ 'dm:alice:bob': 3 });
    expect(inner.reads).toBe(1);
  });

  test('keeps answering from memory across edits and deletes, and reads every message as it is now', async () => {
    const inner = new CountingStore();
    const store = new CachingMessageStore(inner);
    const change = (patch: Partial<MessageChangeInput>): MessageChangeInput => ({
      kind: 'edit',
      messageId: 'dm:alice:bob#1',
      userId: 'alice',
      at: 5_000,
      clientChangeId: `change ${++n}`,
      recipientIds: ['bob'],
      ...patch,
    });
    await store.appendMessage(message()); // bob's inbox 1
    await store.applyChange(change({ text: 'edited' })); // 2
    const { message: second } = await store.appendMessage(message()); // 3
    await store.applyChange(change({ kind: 'delete' })); // 4
    // Change entries take their places in the inbox (counting for nothing); a tombstone keeps its sender.
    expect(Object.fromEntries(await store.highestReceived('bob', 0, 4))).toEqual({ 'dm:alice:bob': 2 });
    expect(Object.fromEntries(await store.highestReceived('bob', 3, 4))).toEqual({});
    expect(await store.sendersBetween('dm:alice:bob', 0, 2)).toEqual(['alice']);
    expect(inner.reads).toBe(0);
    expect(await store.getMessage('dm:alice:bob#1')).toMatchObject({ text: '', deletedAt: 5_000 });
    expect((await store.history('dm:alice:bob', { afterSeq: 0, limit: 10 })).map((m) => m.text)).toEqual([
      second.text,
      '',
    ]);
  });

  test('refuses a capacity or key limit that is not a positive integer', () => {
    for (const options of [{ capacity: 0 }, { capacity: 1.5 }, { maxKeys: -1 }]) {
      expect(() => new CachingMessageStore(new InMemoryMessageStore(), options)).toThrow(ValidationError);
    }
  });
});
