/// <reference types="jest" />
/**
 * The conformance suite of the `MessageStore` port: every store (in-memory, SQLite, Postgres, a third party's)
 * runs it and must pass it. The in-memory store is the reference.
 *
 * @example
 * ```ts
 * import { messageStoreSuite } from 'chat-room/testing'
 * messageStoreSuite('SqliteMessageStore', async () => {
 *   const store = new SqliteMessageStore({ path: ':memory:' })
 *   return { store, close: () => store.close() }
 * })
 * ```
 *
 * @module
 */
import type { InboxEntry, MessageData, ReceiptData, Watermark } from '../domain';
import type { MessageStore, NewMessage } from '../ports';
import { ChatRoomError } from '../domain';

/** What an adapter can do beyond the core contract; the matching tests are skipped when a capability is absent. */
export interface MessageStoreCaps {
  /** Makes a store that keeps only the newest `max` entries of each inbox. */
  readonly retention?: (max: number) => Promise<MessageStore>;
}

const DM = 'dm:alice:bob';
const GROUP = 'group:g1';

/**
 * Registers the `MessageStore` conformance tests (with jest's `describe`/`test`) for one adapter.
 *
 * @param name - the adapter's name, shown in the test titles
 * @param make - makes a fresh, empty store for each test, with an optional `close`
 * @param caps - optional capabilities
 */
export function messageStoreSuite(
  name: string,
  make: () => Promise<{ store: MessageStore; close?: () => Promise<void> }>,
  caps: MessageStoreCaps = {},
): void {
  const it = (title: string, fn: () => Promise<void>): void => void test(title, fn);

  describe(`MessageStore conformance: ${name}`, () => {
    let store: MessageStore;
    let close: (() => Promise<void>) | undefined;
    let n = 0;

    beforeEach(async () => {
      n = 0;
      const made = await make();
      store = made.store;
      close = made.close;
    });

    afterEach(async () => {
      await close?.();
    });

    /** A message from alice to bob, with a fresh idempotency key unless told otherwise. */
    const newMessage = (patch: Partial<NewMessage> = {}): NewMessage => ({
      threadId: DM,
      senderId: 'alice',
      kind: 'text',
      text: `hello ${++n}`,
      clientMessageId: `c-${n}`,
      sentAt: 1_000 + n,
      recipientIds: ['bob'],
      ...patch,
    });

    /** Reads a whole inbox from a cursor, page by page. */
    const readAll = async (
      s: MessageStore,
      userId: string,
      after = 0,
      limit = 100,
    ): Promise<InboxEntry[]> => {
      const out: InboxEntry[] = [];
      let cursor = after;
      for (let pages = 0; pages < 10_000; pages++) {
        const page = await s.readInbox(userId, cursor, limit);
        out.push(...page.entries);
        cursor = page.cursor;
        if (!page.hasMore) return out;
      }
      throw new Error('readInbox never stopped saying hasMore');
    };

    const seqsOf = (entries: readonly InboxEntry[]): number[] => entries.map((e) => e.inboxSeq);
    const range = (from: number, to: number): number[] =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);

    /** Expects a promise to reject with the stable code, whatever copy of the package made the error. */
    const expectCode = async (promise: Promise<unknown>, code: string): Promise<void> => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ChatRoomError.is(error)).toBe(true);
      expect(error).toMatchObject({ code });
    };

    /** Runs a mutation that a frozen object may refuse by throwing; either way the store must not change. */
    const attempt = (mutate: () => void): void => {
      try {
        mutate();
      } catch {
        // A frozen object refusing the write is one correct answer; a defensive copy is the other.
      }
    };

    describe('appending messages', () => {
      it('numbers the messages of a thread 1, 2, 3, independently of other threads', async () => {
        const a1 = await store.appendMessage(newMessage());
        const g1 = await store.appendMessage(newMessage({ threadId: GROUP, recipientIds: ['bob', 'carol'] }));
        const a2 = await store.appendMessage(newMessage({ senderId: 'bob', recipientIds: ['alice'] }));
        const a3 = await store.appendMessage(newMessage());
        const g2 = await store.appendMessage(newMessage({ threadId: GROUP, recipientIds: ['bob', 'carol'] }));
        expect([a1, a2, a3].map((r) => r.message.seq)).toEqual([1, 2, 3]);
        expect([g1, g2].map((r) => r.message.seq)).toEqual([1, 2]);
        expect(await store.lastSeq(DM)).toBe(3);
        expect(await store.lastSeq(GROUP)).toBe(2);
      });

      it('stores what it was given and finds it again by id', async () => {
        const input = newMessage({ text: 'Hello Gainlo', clientMessageId: 'k1', sentAt: 1234 });
        const { message, duplicate } = await store.appendMessage(input);
        expect(duplicate).toBe(false);
        expect(message).toEqual({
          id: message.id,
          threadId: DM,
          seq: 1,
          senderId: 'alice',
          kind: 'text',
          text: 'Hello Gainlo',
          clientMessageId: 'k1',
          sentAt: 1234,
        });
        expect(typeof message.id).toBe('string');
        expect(await store.getMessage(message.id)).toEqual(message);
        expect(await store.getMessage('no-such-message')).toBeUndefined();
      });

      it('gives every message its own id, across threads', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push((await store.appendMessage(newMessage())).message.id);
          ids.push((await store.appendMessage(newMessage({ threadId: GROUP }))).message.id);
          ids.push(
            (await store.appendMessage(newMessage({ threadId: 'dm:bob:carol', senderId: 'carol' }))).message
              .id,
          );
        }
        expect(new Set(ids).size).toBe(15);
      });

      it('reports the last seq of a thread, 0 when it is empty', async () => {
        expect(await store.lastSeq(DM)).toBe(0);
        for (let i = 0; i < 4; i++) await store.appendMessage(newMessage());
        expect(await store.lastSeq(DM)).toBe(4);
        expect(await store.lastSeq(GROUP)).toBe(0);
      });
    });

    describe('idempotency', () => {
      it('a retried send with the same key stores nothing new and returns the first message', async () => {
        const input = newMessage({ clientMessageId: 'retry-me', recipientIds: ['bob', 'carol'] });
        const first = await store.appendMessage(input);
        const latest = {
          alice: await store.latestInboxSeq('alice'),
          bob: await store.latestInboxSeq('bob'),
          carol: await store.latestInboxSeq('carol'),
        };
        const again = await store.appendMessage({ ...input });
        expect(again.duplicate).toBe(true);
        expect(again.message).toEqual(first.message);
        expect(again.entries).toEqual([]);
        expect(await store.lastSeq(DM)).toBe(1);
        expect({
          alice: await store.latestInboxSeq('alice'),
          bob: await store.latestInboxSeq('bob'),
          carol: await store.latestInboxSeq('carol'),
        }).toEqual(latest);
        expect(await store.listMessages(DM, 0, 100, 100)).toEqual([first.message]);
      });

      it('the same key from another sender is another message', async () => {
        const fromAlice = await store.appendMessage(newMessage({ clientMessageId: 'same' }));
        const fromBob = await store.appendMessage(
          newMessage({ clientMessageId: 'same', senderId: 'bob', recipientIds: ['alice'] }),
        );
        expect(fromBob.duplicate).toBe(false);
        expect(fromBob.message.id).not.toBe(fromAlice.message.id);
        expect(fromBob.message.seq).toBe(2);
        expect(fromBob.entries).toHaveLength(2);
      });

      it('finds a message by its sender and key', async () => {
        const { message } = await store.appendMessage(newMessage({ clientMessageId: 'k' }));
        expect(await store.findByClientMessageId('alice', 'k')).toEqual(message);
        expect(await store.findByClientMessageId('bob', 'k')).toBeUndefined();
        expect(await store.findByClientMessageId('alice', 'other')).toBeUndefined();
      });

      it('tells apart keys that share a prefix, and finds every key of many senders', async () => {
        const senders = ['alice', 'bob', 'carol'];
        const stored = new Map<string, MessageData>();
        for (let n = 0; n < 300; n++) {
          const senderId = senders[n % 3] as string;
          const clientMessageId = `k${Math.floor(n / 3)}`; // k1, k10 and k100 share a prefix
          const input = newMessage({
            senderId,
            clientMessageId,
            recipientIds: senders.filter((id) => id !== senderId),
            threadId: GROUP,
          });
          stored.set(`${senderId} ${clientMessageId}`, (await store.appendMessage(input)).message);
        }
        for (const [key, message] of stored) {
          const [senderId, clientMessageId] = key.split(' ') as [string, string];
          expect(await store.findByClientMessageId(senderId, clientMessageId)).toEqual(message);
        }
        expect(await store.findByClientMessageId('alice', 'k100')).toBeUndefined();
        expect(await store.findByClientMessageId('dave', 'k1')).toBeUndefined();
      });
    });

    describe('texts', () => {
      it('keeps accents, scripts and emoji (surrogate pairs) exactly as sent', async () => {
        const texts = ['Olá, Zoë! Crème brûlée', '你好，世界', 'مرحبا', 'party 🎉👩‍👩‍👧 ok', 'ascii then é'];
        const sent: MessageData[] = [];
        for (const text of texts) sent.push((await store.appendMessage(newMessage({ text }))).message);
        expect(sent.map((m) => m.text)).toEqual(texts);
        expect((await store.listMessages(DM, 0, 100, 100)).map((m) => m.text)).toEqual(texts);
        for (const m of sent) expect(await store.getMessage(m.id)).toEqual(m);
        const inbox = await readAll(store, 'bob');
        expect(inbox.map((e) => (e.type === 'message' ? e.message.text : undefined))).toEqual(texts);
      });
    });

    describe('inboxes', () => {
      it('gives each recipient and the sender one entry for the message', async () => {
        const { message, entries } = await store.appendMessage(
          newMessage({ threadId: GROUP, recipientIds: ['bob', 'carol'] }),
        );
        expect(entries.map((e) => e.userId).sort()).toEqual(['alice', 'bob', 'carol']);
        for (const e of entries) {
          expect(e).toMatchObject({ type: 'message', inboxSeq: 1, message });
          expect(await readAll(store, e.userId)).toEqual([e]);
        }
        expect(await readAll(store, 'dave')).toEqual([]);
      });

      it('numbers each user’s inbox 1, 2, 3 whoever sends', async () => {
        await store.appendMessage(newMessage()); // alice → bob
        await store.appendMessage(newMessage({ senderId: 'bob', recipientIds: ['alice'] }));
        await store.appendMessage(
          newMessage({ threadId: GROUP, senderId: 'carol', recipientIds: ['alice', 'bob'] }),
        );
        await store.appendMessage(newMessage()); // alice → bob
        expect(seqsOf(await readAll(store, 'alice'))).toEqual([1, 2, 3, 4]);
        expect(seqsOf(await readAll(store, 'bob'))).toEqual([1, 2, 3, 4]);
        expect(seqsOf(await readAll(store, 'carol'))).toEqual([1]);
        expect(await store.latestInboxSeq('alice')).toBe(4);
        expect(await store.latestInboxSeq('carol')).toBe(1);
        expect(await store.latestInboxSeq('dave')).toBe(0);
        const bobTexts = (await readAll(store, 'bob')).map((e) =>
          e.type === 'message' ? e.message.text : '',
        );
        expect(bobTexts).toEqual(['hello 1', 'hello 2', 'hello 3', 'hello 4']);
      });

      it('reads an empty inbox as an empty page at 0', async () => {
        expect(await store.readInbox('dave', 0, 10)).toEqual({
          entries: [],
          hasMore: false,
          cursor: 0,
          latest: 0,
        });
      });

      it('pages through an inbox, reading every entry exactly once, in order', async () => {
        for (let i = 0; i < 10; i++) await store.appendMessage(newMessage());
        const pages = [];
        let cursor = 0;
        for (;;) {
          const page = await store.readInbox('bob', cursor, 3);
          pages.push({
            seqs: seqsOf(page.entries),
            hasMore: page.hasMore,
            cursor: page.cursor,
            latest: page.latest,
          });
          cursor = page.cursor;
          if (!page.hasMore) break;
        }
        expect(pages).toEqual([
          { seqs: [1, 2, 3], hasMore: true, cursor: 3, latest: 10 },
          { seqs: [4, 5, 6], hasMore: true, cursor: 6, latest: 10 },
          { seqs: [7, 8, 9], hasMore: true, cursor: 9, latest: 10 },
          { seqs: [10], hasMore: false, cursor: 10, latest: 10 },
        ]);
      });

      it('reads from the middle of an inbox', async () => {
        for (let i = 0; i < 6; i++) await store.appendMessage(newMessage());
        const page = await store.readInbox('bob', 4, 10);
        expect(seqsOf(page.entries)).toEqual([5, 6]);
        expect(page).toMatchObject({ hasMore: false, cursor: 6, latest: 6 });
      });

      it('reads nothing after the newest entry, keeping the cursor', async () => {
        for (let i = 0; i < 3; i++) await store.appendMessage(newMessage());
        expect(await store.readInbox('bob', 3, 10)).toEqual({
          entries: [],
          hasMore: false,
          cursor: 3,
          latest: 3,
        });
      });

      it('asks for a resync when the cursor is ahead of the inbox', async () => {
        for (let i = 0; i < 3; i++) await store.appendMessage(newMessage());
        await expectCode(store.readInbox('bob', 4, 10), 'RESYNC_REQUIRED');
        await expectCode(store.readInbox('dave', 1, 10), 'RESYNC_REQUIRED');
      });

      it('returns the same entries from appendMessage as a later read', async () => {
        const { entries } = await store.appendMessage(newMessage());
        const bob = entries.find((e) => e.userId === 'bob');
        expect(await readAll(store, 'bob')).toEqual([bob]);
      });

      it('appends receipts to the same inbox order as messages', async () => {
        await store.appendMessage(newMessage());
        const receipt: ReceiptData = { threadId: DM, status: 'read', upToSeq: 1, at: 5_000 };
        const entry = await store.appendEntry('alice', { type: 'receipt', receipt });
        expect(entry).toEqual({ type: 'receipt', receipt, userId: 'alice', inboxSeq: 2 });
        await store.appendMessage(newMessage());
        const inbox = await readAll(store, 'alice');
        expect(inbox.map((e) => [e.inboxSeq, e.type])).toEqual([
          [1, 'message'],
          [2, 'receipt'],
          [3, 'message'],
        ]);
        expect(inbox[1]).toEqual(entry);
        expect(await store.latestInboxSeq('alice')).toBe(3);
        expect(await store.latestInboxSeq('bob')).toBe(2);
      });
    });

    (caps.retention === undefined ? describe.skip : describe)('retention', () => {
      const retained = async (max: number): Promise<MessageStore> => {
        if (caps.retention === undefined) throw new Error('unreachable: no retention capability');
        return caps.retention(max);
      };

      it('keeps the newest entries readable and refuses a cursor before them with RESYNC_REQUIRED', async () => {
        const s = await retained(3);
        for (let i = 0; i < 6; i++) await s.appendMessage(newMessage());
        expect(seqsOf(await readAll(s, 'bob', 3))).toEqual([4, 5, 6]);
        expect(seqsOf(await readAll(s, 'bob', 5))).toEqual([6]);
        await expectCode(s.readInbox('bob', 2, 10), 'RESYNC_REQUIRED');
        await expectCode(s.readInbox('bob', 0, 10), 'RESYNC_REQUIRED');
      });

      it('never skips silently, however far behind the cursor is', async () => {
        const s = await retained(4);
        for (let i = 0; i < 50; i++) await s.appendMessage(newMessage());
        for (let after = 0; after <= 50; after++) {
          if (after < 46) await expectCode(s.readInbox('bob', after, 10), 'RESYNC_REQUIRED');
          else expect(seqsOf(await readAll(s, 'bob', after))).toEqual(range(after + 1, 50));
        }
      });

      it('counts no trimmed entry among what a delivered ack covers', async () => {
        const s = await retained(3);
        for (let i = 0; i < 6; i++) await s.appendMessage(newMessage());
        expect([...(await s.highestReceived('bob', 0, 6))]).toEqual([[DM, 6]]);
        expect([...(await s.highestReceived('bob', 0, 3))]).toEqual([]);
      });

      it('keeps everything while an inbox is within the limit', async () => {
        const s = await retained(5);
        for (let i = 0; i < 5; i++) await s.appendMessage(newMessage());
        expect(seqsOf(await readAll(s, 'bob'))).toEqual([1, 2, 3, 4, 5]);
      });
    });

    describe('listing messages', () => {
      it('lists a range of a thread in seq order, at most limit', async () => {
        for (let i = 0; i < 5; i++) await store.appendMessage(newMessage());
        await store.appendMessage(newMessage({ threadId: GROUP }));
        const seqs = async (after: number, upTo: number, limit: number) =>
          (await store.listMessages(DM, after, upTo, limit)).map((m) => m.seq);
        expect(await seqs(0, 5, 100)).toEqual([1, 2, 3, 4, 5]);
        expect(await seqs(1, 4, 100)).toEqual([2, 3, 4]);
        expect(await seqs(0, 5, 2)).toEqual([1, 2]);
        expect(await seqs(2, 100, 100)).toEqual([3, 4, 5]);
        expect(await seqs(5, 10, 100)).toEqual([]);
        expect(await seqs(3, 3, 100)).toEqual([]);
        expect((await store.listMessages(DM, 0, 5, 100)).every((m) => m.threadId === DM)).toBe(true);
        expect(await store.listMessages('dm:nobody:here', 0, 10, 10)).toEqual([]);
      });
    });

    describe('what receipts read', () => {
      it('finds, per thread, the newest message from others among the entries a delivered ack covers', async () => {
        await store.appendMessage(newMessage()); // bob 1: alice's dm #1
        await store.appendMessage(newMessage({ senderId: 'bob', recipientIds: ['alice'] })); // bob 2: his own
        await store.appendMessage(newMessage({ threadId: GROUP, recipientIds: ['bob', 'carol'] })); // bob 3: group #1
        const receipt: ReceiptData = { threadId: DM, status: 'delivered', upToSeq: 2, at: 5_000 };
        await store.appendEntry('bob', { type: 'receipt', receipt }); // bob 4
        await store.appendMessage(newMessage()); // bob 5: alice's dm #3
        const highest = async (after: number, upTo: number) =>
          Object.fromEntries(await store.highestReceived('bob', after, upTo));
        expect(await highest(0, 5)).toEqual({ [DM]: 3, [GROUP]: 1 });
        expect(await highest(0, 2)).toEqual({ [DM]: 1 });
        expect(await highest(1, 4)).toEqual({ [GROUP]: 1 });
        expect(await highest(3, 4)).toEqual({});
        expect(await highest(5, 5)).toEqual({});
        expect(await highest(0, 99)).toEqual({ [DM]: 3, [GROUP]: 1 });
        expect(Object.fromEntries(await store.highestReceived('alice', 0, 10))).toEqual({ [DM]: 2 });
        expect((await store.highestReceived('nobody', 0, 10)).size).toBe(0);
      });

      it('counts a message put in an inbox with appendEntry like one appended with appendMessage', async () => {
        const { message } = await store.appendMessage(newMessage());
        await store.appendEntry('carol', { type: 'message', message });
        expect(Object.fromEntries(await store.highestReceived('carol', 0, 1))).toEqual({ [DM]: 1 });
      });

      it('names each sender of a range of a thread once', async () => {
        await store.appendMessage(newMessage({ threadId: GROUP, recipientIds: ['bob', 'carol'] }));
        await store.appendMessage(newMessage({ threadId: GROUP, senderId: 'bob', recipientIds: ['alice'] }));
        await store.appendMessage(newMessage({ threadId: GROUP, recipientIds: ['bob', 'carol'] }));
        await store.appendMessage(
          newMessage({ threadId: GROUP, senderId: 'carol', recipientIds: ['alice'] }),
        );
        await store.appendMessage(newMessage({ senderId: 'dave', recipientIds: ['alice'] }));
        const senders = async (after: number, upTo: number) =>
          (await store.sendersBetween(GROUP, after, upTo)).sort();
        expect(await senders(0, 4)).toEqual(['alice', 'bob', 'carol']);
        expect(await senders(0, 3)).toEqual(['alice', 'bob']);
        expect(await senders(2, 3)).toEqual(['alice']);
        expect(await senders(3, 3)).toEqual([]);
        expect(await senders(0, 99)).toEqual(['alice', 'bob', 'carol']);
        expect(await store.sendersBetween('dm:nobody:here', 0, 10)).toEqual([]);
      });
    });

    describe('watermarks', () => {
      const mark = (userId: string, delivered: number, read: number, at: number): Watermark => ({
        userId,
        delivered,
        read,
        deliveredAt: at,
        readAt: at,
      });
      const sorted = (marks: Watermark[]) => [...marks].sort((a, b) => a.userId.localeCompare(b.userId));

      it('saves and loads each member’s watermark per thread', async () => {
        await store.saveWatermark(DM, mark('alice', 3, 2, 10));
        await store.saveWatermark(DM, mark('bob', 1, 0, 20));
        await store.saveWatermark(GROUP, mark('alice', 9, 9, 30));
        expect(sorted(await store.loadWatermarks(DM))).toEqual([
          mark('alice', 3, 2, 10),
          mark('bob', 1, 0, 20),
        ]);
        expect(await store.loadWatermarks(GROUP)).toEqual([mark('alice', 9, 9, 30)]);
        expect(await store.loadWatermarks('group:none')).toEqual([]);
      });

      it('moves each field forward only: a lower value does not lower it', async () => {
        await store.saveWatermark(DM, { userId: 'bob', delivered: 5, read: 2, deliveredAt: 50, readAt: 20 });
        await store.saveWatermark(DM, { userId: 'bob', delivered: 3, read: 4, deliveredAt: 99, readAt: 40 });
        expect(await store.loadWatermarks(DM)).toEqual([
          { userId: 'bob', delivered: 5, read: 4, deliveredAt: 50, readAt: 40 },
        ]);
        await store.saveWatermark(DM, mark('bob', 0, 0, 100));
        expect(await store.loadWatermarks(DM)).toEqual([
          { userId: 'bob', delivered: 5, read: 4, deliveredAt: 50, readAt: 40 },
        ]);
      });

      it('keeps when a member joined (since) across later saves that do not give it', async () => {
        await store.saveWatermark(DM, {
          userId: 'bob',
          delivered: 7,
          read: 7,
          deliveredAt: 1,
          readAt: 1,
          since: 7,
        });
        await store.saveWatermark(DM, { userId: 'bob', delivered: 9, read: 8, deliveredAt: 2, readAt: 3 });
        expect(await store.loadWatermarks(DM)).toEqual([
          { userId: 'bob', delivered: 9, read: 8, deliveredAt: 2, readAt: 3, since: 7 },
        ]);
      });
    });

    describe('cursors', () => {
      it('reads 0 for a cursor never set', async () => {
        expect(await store.getCursor('bob', 'phone')).toBe(0);
      });

      it('moves forward, returning the value it had, and never goes back', async () => {
        expect(await store.advanceCursor('bob', 'phone', 5)).toBe(0);
        expect(await store.getCursor('bob', 'phone')).toBe(5);
        expect(await store.advanceCursor('bob', 'phone', 3)).toBe(5);
        expect(await store.getCursor('bob', 'phone')).toBe(5);
        expect(await store.advanceCursor('bob', 'phone', 5)).toBe(5);
        expect(await store.advanceCursor('bob', 'phone', 8)).toBe(5);
        expect(await store.getCursor('bob', 'phone')).toBe(8);
      });

      it('keeps cursors apart per user and per name', async () => {
        await store.advanceCursor('bob', 'phone', 5);
        await store.advanceCursor('bob', 'laptop', 2);
        await store.advanceCursor('alice', 'phone', 7);
        expect(await store.getCursor('bob', 'phone')).toBe(5);
        expect(await store.getCursor('bob', 'laptop')).toBe(2);
        expect(await store.getCursor('alice', 'phone')).toBe(7);
        expect(await store.getCursor('alice', 'laptop')).toBe(0);
      });
    });

    describe('concurrency', () => {
      it('50 concurrent appends to one thread get distinct, consecutive seqs and inbox seqs', async () => {
        const results = await Promise.all(range(1, 50).map(() => store.appendMessage(newMessage())));
        expect(results.map((r) => r.message.seq).sort((a, b) => a - b)).toEqual(range(1, 50));
        expect(new Set(results.map((r) => r.message.id)).size).toBe(50);
        for (const user of ['alice', 'bob']) {
          const mine = results.map((r) => r.entries.find((e) => e.userId === user)?.inboxSeq ?? 0);
          expect(mine.sort((a, b) => a - b)).toEqual(range(1, 50));
        }
        const listed = await store.listMessages(DM, 0, 50, 100);
        expect(listed.map((m) => m.seq)).toEqual(range(1, 50));
        expect(await store.lastSeq(DM)).toBe(50);
      });

      it('50 concurrent appends to one recipient from many threads get distinct, consecutive inbox seqs', async () => {
        const results = await Promise.all(
          range(1, 50).map((i) =>
            store.appendMessage(
              newMessage({ threadId: `dm:bob:u${i}`, senderId: `u${i}`, recipientIds: ['bob'] }),
            ),
          ),
        );
        expect(results.every((r) => r.message.seq === 1)).toBe(true);
        expect(seqsOf(await readAll(store, 'bob', 0, 7))).toEqual(range(1, 50));
      });

      it('concurrent retries of one send store it once', async () => {
        const input = newMessage({ clientMessageId: 'tapped-send-10-times' });
        const results = await Promise.all(range(1, 10).map(() => store.appendMessage({ ...input })));
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
        expect(await store.lastSeq(DM)).toBe(1);
        expect(await store.latestInboxSeq('bob')).toBe(1);
      });

      it('a reader paging while 50 appends run never skips or repeats an entry', async () => {
        // A macrotask turn (no timer, no sleep): lets the other side run between batches.
        const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
        let done = false;
        const writer = (async () => {
          const appends: Promise<unknown>[] = [];
          for (let i = 1; i <= 50; i++) {
            const patch = i % 2 === 0 ? {} : { threadId: GROUP, senderId: 'carol', recipientIds: ['bob'] };
            appends.push(store.appendMessage(newMessage(patch)));
            if (i % 5 === 0) await turn(); // batches of 5 concurrent appends, the reader in between
          }
          await Promise.all(appends);
          done = true;
        })();
        const seen: number[] = [];
        let pagesBeforeDone = 0;
        const reader = (async () => {
          let cursor = 0;
          for (let reads = 0; reads < 100_000; reads++) {
            const finished = done; // when set, every append resolved before this read began
            const page = await store.readInbox('bob', cursor, 4);
            seen.push(...seqsOf(page.entries));
            if (!finished && page.entries.length > 0) pagesBeforeDone++;
            cursor = page.cursor;
            if (finished && !page.hasMore) return;
            if (!page.hasMore) await turn();
          }
        })();
        await Promise.all([writer, reader]);
        expect(seen).toEqual(range(1, 50));
        expect(pagesBeforeDone).toBeGreaterThan(1); // the reader really read while appends were running
      });
    });

    describe('isolation', () => {
      it('a returned message cannot be used to change the stored one', async () => {
        const { message } = await store.appendMessage(newMessage({ text: 'original' }));
        attempt(() => {
          (message as { text: string }).text = 'tampered';
        });
        const fetched = (await store.getMessage(message.id)) as MessageData;
        attempt(() => {
          (fetched as { seq: number }).seq = 99;
        });
        const listed = await store.listMessages(DM, 0, 10, 10);
        attempt(() => {
          (listed[0] as { text: string }).text = 'tampered';
          listed.pop();
        });
        expect(await store.getMessage(message.id)).toMatchObject({ text: 'original', seq: 1 });
        expect((await store.listMessages(DM, 0, 10, 10)).map((m) => m.text)).toEqual(['original']);
        expect(await store.findByClientMessageId('alice', message.clientMessageId)).toMatchObject({
          text: 'original',
        });
      });

      it('an inbox page cannot be used to change the inbox', async () => {
        await store.appendMessage(newMessage({ text: 'original' }));
        const page = await store.readInbox('bob', 0, 10);
        attempt(() => {
          (page.entries as InboxEntry[]).length = 0;
        });
        attempt(() => {
          (page.entries[0] as { inboxSeq: number }).inboxSeq = 42;
        });
        const entry = page.entries[0];
        if (entry?.type === 'message') {
          attempt(() => {
            (entry.message as { text: string }).text = 'tampered';
          });
        }
        const again = await store.readInbox('bob', 0, 10);
        expect(again.entries).toHaveLength(1);
        expect(again.entries[0]).toMatchObject({ inboxSeq: 1, message: { text: 'original' } });
      });

      it('the caller changing its input after appending changes nothing stored', async () => {
        const input = { ...newMessage({ text: 'original' }), recipientIds: ['bob'] };
        const { message } = await store.appendMessage(input);
        input.text = 'tampered';
        input.recipientIds.push('mallory');
        expect(await store.getMessage(message.id)).toMatchObject({ text: 'original' });
        expect(await store.latestInboxSeq('mallory')).toBe(0);
      });

      it('a stored receipt is a copy: changing the caller’s object later changes nothing', async () => {
        const receipt = { threadId: DM, status: 'delivered' as const, upToSeq: 1, at: 10 };
        await store.appendEntry('alice', { type: 'receipt', receipt });
        receipt.upToSeq = 99;
        const [entry] = (await store.readInbox('alice', 0, 10)).entries;
        expect(entry).toMatchObject({ type: 'receipt', receipt: { upToSeq: 1 } });
      });

      it('a receipt read back cannot be used to change the stored one', async () => {
        await store.appendEntry('alice', {
          type: 'receipt',
          receipt: { threadId: DM, status: 'read', upToSeq: 1, at: 10 },
        });
        const [first] = (await store.readInbox('alice', 0, 10)).entries;
        if (first?.type === 'receipt') {
          attempt(() => {
            (first.receipt as { upToSeq: number }).upToSeq = 99;
          });
        }
        const [again] = (await store.readInbox('alice', 0, 10)).entries;
        expect(again).toMatchObject({ type: 'receipt', receipt: { upToSeq: 1 } });
      });

      it('a loaded watermark cannot be used to change the saved one', async () => {
        await store.saveWatermark(DM, { userId: 'bob', delivered: 2, read: 1, deliveredAt: 1, readAt: 1 });
        const [w] = await store.loadWatermarks(DM);
        attempt(() => {
          (w as { delivered: number }).delivered = 0;
        });
        expect(await store.loadWatermarks(DM)).toEqual([
          { userId: 'bob', delivered: 2, read: 1, deliveredAt: 1, readAt: 1 },
        ]);
      });

      it('a saved watermark is a copy: changing the caller’s object later changes nothing', async () => {
        const w = { userId: 'bob', delivered: 2, read: 1, deliveredAt: 1, readAt: 1 };
        await store.saveWatermark(DM, w);
        w.read = 0;
        w.delivered = 0;
        expect(await store.loadWatermarks(DM)).toEqual([
          { userId: 'bob', delivered: 2, read: 1, deliveredAt: 1, readAt: 1 },
        ]);
      });
    });
  });
}
