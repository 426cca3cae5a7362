import type { InboxEntry, NewMessage } from 'chat-room';
import { ChatRoomError, InMemoryMessageStore } from 'chat-room';

/**
 * What a user of the in-memory store notices about what it keeps: a trimmed inbox keeps exactly the newest
 * `maxInboxEntries` and says so to an older cursor, a long thread comes back whole and in order, long texts come
 * back whole, and receipts are kept as they were given.
 */

const DM = 'dm:alice:bob';

/** A message of the direct thread, from alice (even n) or bob (odd n) to the other. */
const dm = (n: number, text = `message ${n}`): NewMessage => ({
  threadId: DM,
  senderId: n % 2 === 0 ? 'alice' : 'bob',
  kind: 'text',
  text,
  clientMessageId: `c${n}`,
  sentAt: 1_000 + n,
  recipientIds: [n % 2 === 0 ? 'bob' : 'alice'],
});

const textOf = (e: InboxEntry): string => (e.type === 'message' ? e.message.text : `(${e.type})`);

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('InMemoryMessageStore retention', () => {
  it('keeps exactly the newest maxInboxEntries of an inbox, and asks an older cursor to resync', async () => {
    const store = new InMemoryMessageStore({ maxInboxEntries: 100 });
    for (let n = 1; n <= 1_000; n++) await store.appendMessage(dm(n));
    // bob's inbox holds every message of the thread, his own included: 1 000 entries, of which the newest 100.
    expect(await store.latestInboxSeq('bob')).toBe(1_000);
    const page = await store.readInbox('bob', 900, 1_000);
    expect(page.entries.map((e) => e.inboxSeq)).toEqual(Array.from({ length: 100 }, (_, i) => 901 + i));
    expect(page.entries.map(textOf)).toEqual(Array.from({ length: 100 }, (_, i) => `message ${901 + i}`));
    expect(page).toMatchObject({ hasMore: false, cursor: 1_000, latest: 1_000 });
    for (const after of [0, 500, 899]) {
      const error = await rejection(store.readInbox('bob', after, 10));
      expect(ChatRoomError.is(error)).toBe(true);
      expect(error).toMatchObject({
        code: 'RESYNC_REQUIRED',
        details: { after, oldest: 901, latest: 1_000 },
      });
    }
    // The messages themselves stay in their thread: retention trims inboxes, not history.
    expect(await store.lastSeq(DM)).toBe(1_000);
    expect((await store.listMessages(DM, 0, 1, 1))[0]).toMatchObject({ seq: 1, text: 'message 1' });
  });

  it('trims receipts with the messages around them', async () => {
    const store = new InMemoryMessageStore({ maxInboxEntries: 3 });
    for (let n = 1; n <= 10; n++) {
      await store.appendEntry('alice', {
        type: 'receipt',
        receipt: { threadId: DM, status: n % 2 === 0 ? 'read' : 'delivered', upToSeq: n, at: 100 + n },
      });
      await store.appendMessage(dm(2 * n, `to bob ${n}`));
    }
    // alice's inbox: a receipt, then her own message, ten times; the newest three are kept.
    const { entries } = await store.readInbox('alice', 17, 10);
    expect(entries.map((e) => [e.inboxSeq, textOf(e)])).toEqual([
      [18, 'to bob 9'],
      [19, '(receipt)'],
      [20, 'to bob 10'],
    ]);
    expect(entries[1]).toMatchObject({ receipt: { status: 'read', upToSeq: 10, at: 110 } });
    await expect(store.readInbox('alice', 16, 10)).rejects.toMatchObject({
      code: 'RESYNC_REQUIRED',
      details: { oldest: 18 },
    });
  });

  it('keeps 20 000 messages of one thread, all in seq order, and finds each by id and key', async () => {
    const store = new InMemoryMessageStore({ maxInboxEntries: 5_000 });
    const text = (n: number) => `${n} ${n % 7 === 0 ? 'é' : ''}`.padEnd(60 + (n % 9), '.');
    for (let n = 1; n <= 20_000; n++) {
      await store.appendMessage(dm(n, text(n)));
      // Along the way, bob's inbox always has its newest 5 000 (or all, while fewer) to read, in order.
      if (n % 2_500 === 0) {
        const kept = Math.min(n, 5_000);
        const { entries } = await store.readInbox('bob', n - kept, 5_000);
        expect(entries.map(textOf)).toEqual(Array.from({ length: kept }, (_, i) => text(n - kept + i + 1)));
      }
    }
    const all = await store.listMessages(DM, 0, 20_000, 20_000);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
    expect(all.every((m, i) => m.text === text(i + 1) && m.sentAt === 1_001 + i)).toBe(true);
    for (const n of [1, 8_192, 8_193, 16_385, 20_000]) {
      const m = all[n - 1];
      expect(m).toMatchObject({ seq: n, text: text(n), clientMessageId: `c${n}`, sentAt: 1_000 + n });
      expect(await store.getMessage(`${DM}#${n}`)).toEqual(m);
      expect(await store.findByClientMessageId(n % 2 === 0 ? 'alice' : 'bob', `c${n}`)).toEqual(m);
    }
    // bob's inbox keeps the newest 5 000 of its 20 000 entries, in order.
    await expect(store.readInbox('bob', 14_999, 10)).rejects.toMatchObject({
      code: 'RESYNC_REQUIRED',
      details: { oldest: 15_001 },
    });
    const kept = await store.readInbox('bob', 15_000, 5_000);
    expect(kept.entries.map(textOf)).toEqual(Array.from({ length: 5_000 }, (_, i) => text(15_001 + i)));
  });

  it('keeps a text of 300 000 characters whole, and the texts around it', async () => {
    const store = new InMemoryMessageStore();
    const texts = ['before', 'é'.repeat(100_000), 'x'.repeat(300_000), 'after'];
    for (const [n, text] of texts.entries()) await store.appendMessage(dm(2 * n, text));
    expect((await store.listMessages(DM, 0, 10, 10)).map((m) => m.text)).toEqual(texts);
    expect((await store.readInbox('bob', 0, 10)).entries.map(textOf)).toEqual(texts);
  });

  it('hands back a stored message and a stored receipt exactly as they were given', async () => {
    const store = new InMemoryMessageStore();
    const at = Date.now();
    for (let i = 0; i < 5_000; i++) {
      await store.appendMessage({
        threadId: `d:u${i % 50}:v${i % 50}`,
        senderId: `u${i % 50}`,
        kind: 'text',
        text: `message ${i} `.padEnd(64, '.'),
        clientMessageId: `c${i}`,
        sentAt: at + i,
        recipientIds: [`v${i % 50}`],
      });
      await store.appendEntry(`u${i % 100}`, {
        type: 'receipt',
        receipt: {
          threadId: 'd:a:b',
          status: i % 2 === 0 ? 'delivered' : 'read',
          upToSeq: i + 1,
          at: at + i,
        },
      });
    }
    const [message] = await store.listMessages('d:u7:v7', 30, 31, 1);
    expect(message).toEqual({
      id: 'd:u7:v7#31',
      threadId: 'd:u7:v7',
      seq: 31,
      senderId: 'u7',
      kind: 'text',
      text: 'message 1507 '.padEnd(64, '.'),
      clientMessageId: 'c1507',
      sentAt: at + 1507,
    });
    // v7's inbox gets only messages; u7's gets its own messages and the receipts of every 100th i from 7.
    const u7 = (await store.readInbox('u7', 0, 1_000)).entries.filter((e) => e.type === 'receipt');
    expect(u7).toHaveLength(50);
    expect(u7[0]).toMatchObject({
      type: 'receipt',
      userId: 'u7',
      receipt: { threadId: 'd:a:b', status: 'read', upToSeq: 8, at: at + 7 },
    });
  });
});
