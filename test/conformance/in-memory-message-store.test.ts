import { InMemoryMessageStore, ValidationError } from 'chat-room';
import { messageStoreSuite } from 'chat-room/testing';

messageStoreSuite('InMemoryMessageStore', async () => ({ store: new InMemoryMessageStore() }), {
  retention: async (max) => new InMemoryMessageStore({ maxInboxEntries: max }),
});

describe('InMemoryMessageStore options', () => {
  it.each([0, -1, 1.5, Number.NaN])('refuses maxInboxEntries %p', (max) => {
    expect(() => new InMemoryMessageStore({ maxInboxEntries: max })).toThrow(ValidationError);
  });
});

describe('InMemoryMessageStore idempotency keys whose hashes collide', () => {
  // Its key index is a hash table. Under the first sender it interns, these pairs have the same 32-bit hash.
  it.each([
    ['c-308475', 'c-1293310'],
    ['c-1293310', 'c-308475'],
    ['key1z0FbZl', 'key1'], // one key starts with the other
    ['key1', 'key1z0FbZl'],
  ])('keeps %p and %p apart', async (first, second) => {
    const store = new InMemoryMessageStore();
    const input = (clientMessageId: string) => ({
      threadId: 'dm:alice:bob',
      senderId: 'alice',
      kind: 'text' as const,
      text: clientMessageId,
      clientMessageId,
      sentAt: 1,
      recipientIds: ['bob'],
    });
    const a = await store.appendMessage(input(first));
    expect(await store.findByClientMessageId('alice', second)).toBeUndefined();
    const b = await store.appendMessage(input(second));
    expect(b.duplicate).toBe(false);
    expect(b.message.seq).toBe(2);
    expect(await store.findByClientMessageId('alice', first)).toEqual(a.message);
    expect(await store.findByClientMessageId('alice', second)).toEqual(b.message);
  });
});

describe('InMemoryMessageStore over many messages', () => {
  // Its columns grow a chunk at a time (8 192 numbers, 256 KiB of text); a trimmed inbox drops whole chunks.
  it('keeps 20 000 messages of one thread whole, and trims an inbox across chunks', async () => {
    const store = new InMemoryMessageStore({ maxInboxEntries: 5_000 });
    const text = (n: number) => `${n} ${n % 7 === 0 ? 'é' : ''}`.padEnd(60 + (n % 9), '.');
    const inboxOfBob: string[] = [];
    for (let n = 1; n <= 20_000; n++) {
      await store.appendMessage({
        threadId: 'dm:alice:bob',
        senderId: n % 2 === 0 ? 'alice' : 'bob',
        kind: 'text',
        text: text(n),
        clientMessageId: `c${n}`,
        sentAt: 1_000 + n,
        recipientIds: [n % 2 === 0 ? 'bob' : 'alice'],
      });
      // bob's inbox gets every message, his own included; it keeps at least the newest 5 000, trimmed in batches.
      if (n % 2_500 === 0) {
        const { entries } = await store.readInbox('bob', n - 5_000 < 0 ? 0 : n - 5_000, 5_000);
        inboxOfBob.push(entries.map((e) => (e.type === 'message' ? e.message.text : '')).join('|'));
      }
    }
    expect(inboxOfBob).toEqual(
      Array.from({ length: 8 }, (_, k) => {
        const n = 2_500 * (k + 1);
        return Array.from({ length: Math.min(n, 5_000) }, (__, i) =>
          text(n - Math.min(n, 5_000) + i + 1),
        ).join('|');
      }),
    );
    for (const n of [1, 8_192, 8_193, 16_385, 20_000]) {
      const [m] = await store.listMessages('dm:alice:bob', n - 1, n, 1);
      expect(m).toMatchObject({ seq: n, text: text(n), clientMessageId: `c${n}`, sentAt: 1_000 + n });
      expect(await store.findByClientMessageId(n % 2 === 0 ? 'alice' : 'bob', `c${n}`)).toEqual(m);
    }
    // bob's inbox holds every message (20 000 entries, his own included), of which it keeps the newest 5 000.
    await expect(store.readInbox('bob', 14_999, 10)).rejects.toMatchObject({
      code: 'RESYNC_REQUIRED',
      details: { oldest: 15_001 },
    });
    const page = await store.readInbox('bob', 15_000, 3);
    expect(page.entries.map((e) => e.inboxSeq)).toEqual([15_001, 15_002, 15_003]);
    expect(page.entries.map((e) => (e.type === 'message' ? e.message.text : ''))).toEqual([
      text(15_001),
      text(15_002),
      text(15_003),
    ]);
    const last = await store.readInbox('bob', 19_999, 10);
    expect(last.entries.map((e) => (e.type === 'message' ? e.message.text : ''))).toEqual([text(20_000)]);
  });
});

describe('InMemoryMessageStore texts longer than a chunk', () => {
  it('keeps a text bigger than a chunk of text (256 KiB) whole, and the texts around it', async () => {
    const store = new InMemoryMessageStore();
    const texts = ['before', 'é'.repeat(100_000), 'x'.repeat(300_000), 'after'];
    for (const [n, text] of texts.entries()) {
      await store.appendMessage({
        threadId: 'dm:alice:bob',
        senderId: 'alice',
        kind: 'text',
        text,
        clientMessageId: `c${n}`,
        sentAt: n,
        recipientIds: ['bob'],
      });
    }
    const stored = await store.listMessages('dm:alice:bob', 0, 10, 10);
    expect(stored.map((m) => m.text)).toEqual(texts);
  });
});
