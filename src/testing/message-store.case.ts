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
import type { InboxEntry, MessageChange, MessageData, ReceiptData, ReplyQuote, Watermark } from '../domain';
import type { HistoryQuery, MessageChangeInput, MessageStore, NewMessage } from '../ports';
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

    /** An edit of alice's first message in the direct thread, told to bob, with a fresh key unless told otherwise. */
    const change = (patch: Partial<MessageChangeInput> = {}): MessageChangeInput => ({
      kind: 'edit',
      messageId: `${DM}#1`,
      userId: 'alice',
      at: 9_000,
      clientChangeId: `change-${++n}`,
      recipientIds: ['bob'],
      ...patch,
    });

    /** The newest inbox seq of each user. */
    const latestOf = async (userIds: readonly string[]): Promise<Record<string, number>> => {
      const latest: Record<string, number> = {};
      for (const userId of userIds) latest[userId] = await store.latestInboxSeq(userId);
      return latest;
    };

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

    /** The messages of a user's inbox entries, as a read gives them now. */
    const messagesIn = async (s: MessageStore, userId: string): Promise<MessageData[]> =>
      (await readAll(s, userId)).flatMap((e) => (e.type === 'message' ? [e.message] : []));

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

    describe('replies', () => {
      it('stores a reply’s quote and returns it from every read', async () => {
        const { message: asked } = await store.appendMessage(newMessage({ text: 'lunch at noon?' }));
        const replyTo: ReplyQuote = {
          messageId: asked.id,
          senderId: 'alice',
          kind: 'text',
          preview: 'lunch at noon?',
        };
        const { message: reply, entries } = await store.appendMessage(
          newMessage({ senderId: 'bob', recipientIds: ['alice'], text: 'yes', replyTo }),
        );
        expect(reply.replyTo).toEqual(replyTo);
        expect(await store.getMessage(reply.id)).toEqual(reply);
        expect(await store.findByClientMessageId('bob', reply.clientMessageId)).toEqual(reply);
        expect(await store.listMessages(DM, 1, 2, 10)).toEqual([reply]);
        expect(await store.history(DM, { afterSeq: 0, limit: 10 })).toEqual([reply, asked]);
        expect((await readAll(store, 'alice')).at(-1)).toEqual(entries.find((e) => e.userId === 'alice'));
        expect(await messagesIn(store, 'alice')).toEqual([asked, reply]);
        expect(asked.replyTo).toBeUndefined();
      });

      it('keeps its own copy of the quote: changing the caller’s object later changes nothing', async () => {
        const { message: asked } = await store.appendMessage(newMessage());
        const replyTo = { messageId: asked.id, senderId: 'alice', kind: 'text' as const, preview: 'hello' };
        const { message: reply } = await store.appendMessage(newMessage({ replyTo }));
        replyTo.preview = 'tampered';
        expect((await store.getMessage(reply.id))?.replyTo).toMatchObject({ preview: 'hello' });
      });
    });

    describe('edits', () => {
      it('sets the text and editedAt everywhere, and tells the editor and every recipient', async () => {
        const group = { threadId: GROUP, recipientIds: ['bob', 'carol'] };
        const { message: sent } = await store.appendMessage(newMessage({ ...group, text: 'see you at 5' }));
        const { message, entries, duplicate } = await store.applyChange(
          change({ messageId: sent.id, text: 'see you at 6', recipientIds: ['bob', 'carol'] }),
        );
        const edited = { ...sent, text: 'see you at 6', editedAt: 9_000 };
        expect(duplicate).toBe(false);
        expect(message).toEqual(edited);
        const told: MessageChange = {
          kind: 'edit',
          threadId: GROUP,
          messageId: sent.id,
          seq: 1,
          userId: 'alice',
          at: 9_000,
          text: 'see you at 6',
        };
        expect(entries).toEqual(
          ['alice', 'bob', 'carol'].map((userId) => ({ type: 'change', change: told, userId, inboxSeq: 2 })),
        );
        expect(await store.getMessage(sent.id)).toEqual(edited);
        expect(await store.listMessages(GROUP, 0, 10, 10)).toEqual([edited]);
        expect(await store.findByClientMessageId('alice', sent.clientMessageId)).toEqual(edited);
        expect(await store.history(GROUP, { afterSeq: 0, limit: 10 })).toEqual([edited]);
        for (const userId of ['alice', 'bob', 'carol']) {
          const inbox = await readAll(store, userId);
          expect(inbox).toEqual([
            { type: 'message', message: edited, userId, inboxSeq: 1 },
            { type: 'change', change: told, userId, inboxSeq: 2 },
          ]);
        }
      });

      it('keeps the latest of several edits, and editedAt moves with it', async () => {
        const { message: sent } = await store.appendMessage(newMessage());
        await store.applyChange(change({ messageId: sent.id, text: 'first', at: 9_001 }));
        await store.applyChange(change({ messageId: sent.id, text: 'second', at: 9_002 }));
        expect(await store.getMessage(sent.id)).toEqual({ ...sent, text: 'second', editedAt: 9_002 });
        const edits = (await readAll(store, 'bob')).flatMap((e) =>
          e.type === 'change' ? [e.change.text] : [],
        );
        expect(edits).toEqual(['first', 'second']);
      });
    });

    describe('idempotent changes', () => {
      it('a retried change writes nothing and returns the message as it is now', async () => {
        const { message: sent } = await store.appendMessage(newMessage({ recipientIds: ['bob', 'carol'] }));
        const input = change({
          messageId: sent.id,
          text: 'fixed',
          clientChangeId: 'x1',
          recipientIds: ['bob'],
        });
        const first = await store.applyChange(input);
        await store.applyChange(change({ messageId: sent.id, kind: 'reaction', emoji: '👍', userId: 'bob' }));
        const latest = await latestOf(['alice', 'bob', 'carol']);
        // The retry says something else: it is still the first change, and nothing is written.
        const again = await store.applyChange({ ...input, text: 'something else', recipientIds: ['carol'] });
        expect(again.duplicate).toBe(true);
        expect(again.entries).toEqual([]);
        const now = { ...first.message, reactions: { '👍': ['bob'] } };
        expect(again.message).toEqual(now);
        expect(await store.getMessage(sent.id)).toEqual(now);
        expect(await latestOf(['alice', 'bob', 'carol'])).toEqual(latest);
      });

      it('keys are per user: the same key from another user is another change', async () => {
        const { message: sent } = await store.appendMessage(newMessage());
        const bob = { messageId: sent.id, kind: 'reaction' as const, clientChangeId: 'same', userId: 'bob' };
        await store.applyChange(change({ ...bob, emoji: '👍' }));
        const carol = await store.applyChange(change({ ...bob, emoji: '🎉', userId: 'carol' }));
        expect(carol.duplicate).toBe(false);
        expect(carol.message.reactions).toEqual({ '👍': ['bob'], '🎉': ['carol'] });
      });

      it('concurrent retries of one change apply it once', async () => {
        const { message: sent } = await store.appendMessage(newMessage());
        const input = change({ messageId: sent.id, kind: 'reaction', emoji: '😂', clientChangeId: 'tap' });
        const results = await Promise.all(range(1, 10).map(() => store.applyChange({ ...input })));
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(results.every((r) => r.message.reactions?.['😂']?.length === 1)).toBe(true);
        expect(await store.latestInboxSeq('bob')).toBe(2);
      });

      it('the caller changing its input after applying changes nothing stored', async () => {
        const { message: sent } = await store.appendMessage(newMessage());
        const input = { ...change({ messageId: sent.id, text: 'original edit' }), recipientIds: ['bob'] };
        const applied = store.applyChange(input);
        input.text = 'tampered';
        input.recipientIds.push('mallory');
        await applied;
        expect(await store.getMessage(sent.id)).toMatchObject({ text: 'original edit' });
        expect(await store.latestInboxSeq('mallory')).toBe(0);
      });
    });

    describe('deletes for everyone', () => {
      it('leaves a tombstone in every read: no text, photo, quote or reactions', async () => {
        const { message: first } = await store.appendMessage(newMessage());
        const { message: photo } = await store.appendMessage(
          newMessage({
            kind: 'photo',
            text: 'the secret beach',
            media: {
              mediaId: 'p1',
              mimeType: 'image/jpeg',
              bytes: 100,
              width: 4,
              height: 3,
              thumbnailId: 't1',
            },
            replyTo: { messageId: first.id, senderId: 'alice', kind: 'text', preview: first.text },
          }),
        );
        await store.applyChange(change({ messageId: photo.id, text: 'the secret cove', at: 8_000 }));
        await store.applyChange(
          change({ messageId: photo.id, kind: 'reaction', emoji: '😍', userId: 'bob' }),
        );
        const deleted = await store.applyChange(
          change({ messageId: photo.id, kind: 'delete', at: 9_500, recipientIds: ['bob'] }),
        );
        const tombstone: MessageData = {
          id: photo.id,
          threadId: DM,
          seq: 2,
          senderId: 'alice',
          kind: 'photo',
          text: '',
          clientMessageId: photo.clientMessageId,
          sentAt: photo.sentAt,
          editedAt: 8_000,
          deletedAt: 9_500,
        };
        expect(deleted.message).toEqual(tombstone);
        expect(deleted.entries.map((e) => [e.userId, e.type === 'change' && e.change])).toEqual(
          ['alice', 'bob'].map((userId) => [
            userId,
            { kind: 'delete', threadId: DM, messageId: photo.id, seq: 2, userId: 'alice', at: 9_500 },
          ]),
        );
        expect(await store.getMessage(photo.id)).toEqual(tombstone);
        expect(await store.findByClientMessageId('alice', photo.clientMessageId)).toEqual(tombstone);
        expect(await store.listMessages(DM, 0, 10, 10)).toEqual([first, tombstone]);
        expect(await store.history(DM, { afterSeq: 0, limit: 10 })).toEqual([tombstone, first]);
        for (const userId of ['alice', 'bob']) {
          expect(await messagesIn(store, userId)).toEqual([first, tombstone]);
          const edits = (await readAll(store, userId)).filter(
            (e) => e.type === 'change' && e.change.kind === 'edit',
          );
          expect(edits.map((e) => e.type === 'change' && e.change)).toEqual([
            { kind: 'edit', threadId: DM, messageId: photo.id, seq: 2, userId: 'alice', at: 8_000, text: '' },
          ]);
        }
      });

      it('stays deleted: a later edit, reaction or delete changes nothing, and the edit’s text is not kept', async () => {
        const { message: sent } = await store.appendMessage(newMessage());
        const { message: tombstone } = await store.applyChange(
          change({ messageId: sent.id, kind: 'delete', at: 9_100 }),
        );
        const late = await store.applyChange(
          change({ messageId: sent.id, text: 'back from the dead', at: 9_200 }),
        );
        await store.applyChange(change({ messageId: sent.id, kind: 'reaction', emoji: '👍', userId: 'bob' }));
        await store.applyChange(change({ messageId: sent.id, kind: 'delete', at: 9_300 }));
        expect(late).toMatchObject({ duplicate: false, message: tombstone });
        expect(late.entries[0]).toMatchObject({ type: 'change', change: { kind: 'edit', text: '' } });
        expect(await store.getMessage(sent.id)).toEqual(tombstone);
        expect(tombstone).toMatchObject({ text: '', deletedAt: 9_100 });
        const texts = (await readAll(store, 'bob')).map((e) =>
          e.type === 'change' ? e.change.text : undefined,
        );
        expect(texts).not.toContain('back from the dead');
      });

      it('turns the quotes of replies to it into “deleted message”', async () => {
        const { message: asked } = await store.appendMessage(newMessage({ text: 'my number is 555-0100' }));
        const quote: ReplyQuote = {
          messageId: asked.id,
          senderId: 'alice',
          kind: 'text',
          preview: 'my number is 555-0100',
        };
        const { message: reply } = await store.appendMessage(
          newMessage({ senderId: 'bob', recipientIds: ['alice'], text: 'got it', replyTo: quote }),
        );
        const { message: other } = await store.appendMessage(newMessage({ text: 'unrelated' }));
        await store.applyChange(change({ messageId: asked.id, kind: 'delete' }));
        const erased = { ...reply, replyTo: { ...quote, preview: '', deleted: true } };
        expect(await store.getMessage(reply.id)).toEqual(erased);
        expect(await store.listMessages(DM, 1, 3, 10)).toEqual([erased, other]);
        expect(await store.findByClientMessageId('bob', reply.clientMessageId)).toEqual(erased);
        expect((await messagesIn(store, 'alice'))[1]).toEqual(erased);
      });
    });

    describe('reactions', () => {
      it('keeps one emoji per user: a new one replaces the old, null takes it back, an empty emoji goes', async () => {
        const group = { threadId: GROUP, recipientIds: ['bob', 'carol'] };
        const { message: sent } = await store.appendMessage(newMessage(group));
        const react = async (userId: string, emoji: string | null) =>
          (
            await store.applyChange(
              change({ messageId: sent.id, kind: 'reaction', userId, emoji, recipientIds: ['alice'] }),
            )
          ).message.reactions;
        expect(await react('bob', '👍')).toEqual({ '👍': ['bob'] });
        expect(await react('carol', '👍')).toEqual({ '👍': ['bob', 'carol'] });
        expect(await react('alice', '❤️')).toEqual({ '👍': ['bob', 'carol'], '❤️': ['alice'] });
        expect(await react('bob', '❤️')).toEqual({ '👍': ['carol'], '❤️': ['alice', 'bob'] });
        expect(await react('carol', null)).toEqual({ '❤️': ['alice', 'bob'] });
        expect(await react('alice', null)).toEqual({ '❤️': ['bob'] });
        const counts = (m: MessageData | undefined) =>
          Object.fromEntries(Object.entries(m?.reactions ?? {}).map(([e, users]) => [e, users.length]));
        expect(counts(await store.getMessage(sent.id))).toEqual({ '❤️': 1 });
        expect(await react('bob', null)).toBeUndefined();
        const now = await store.getMessage(sent.id);
        expect(now).toEqual(sent);
        expect(now !== undefined && 'reactions' in now).toBe(false);
      });

      it('tells everyone each user’s emoji now, null when taken back, and shows counts in every read', async () => {
        const { message: sent } = await store.appendMessage(newMessage());
        const first = await store.applyChange(
          change({
            messageId: sent.id,
            kind: 'reaction',
            emoji: '🔥',
            userId: 'bob',
            recipientIds: ['alice'],
          }),
        );
        expect(first.entries.map((e) => [e.userId, e.type === 'change' && e.change])).toEqual(
          ['bob', 'alice'].map((userId) => [
            userId,
            {
              kind: 'reaction',
              threadId: DM,
              messageId: sent.id,
              seq: 1,
              userId: 'bob',
              at: 9_000,
              emoji: '🔥',
            },
          ]),
        );
        const back = await store.applyChange(
          change({
            messageId: sent.id,
            kind: 'reaction',
            emoji: null,
            userId: 'bob',
            recipientIds: ['alice'],
          }),
        );
        expect(back.entries[0]).toMatchObject({ type: 'change', change: { kind: 'reaction', emoji: null } });
        await store.applyChange(
          change({ messageId: sent.id, kind: 'reaction', emoji: '🔥', userId: 'carol' }),
        );
        const reacted = { ...sent, reactions: { '🔥': ['carol'] } };
        expect(await store.listMessages(DM, 0, 1, 1)).toEqual([reacted]);
        expect(await store.history(DM, { afterSeq: 0, limit: 1 })).toEqual([reacted]);
        expect(await messagesIn(store, 'alice')).toEqual([reacted]);
        expect((await readAll(store, 'alice')).map((e) => e.type === 'change' && e.change.emoji)).toEqual([
          false,
          '🔥',
          null,
        ]);
      });
    });

    describe('hides (delete for me)', () => {
      it('tells only the hider’s inbox, and leaves the message out of their history alone', async () => {
        for (let i = 0; i < 3; i++) await store.appendMessage(newMessage());
        const latest = await latestOf(['alice', 'bob']);
        const bobBefore = await store.latestInboxSeq('bob');
        const hidden = await store.applyChange(
          change({ messageId: `${DM}#2`, kind: 'hide', userId: 'bob', recipientIds: [] }),
        );
        expect(hidden.entries).toEqual([
          {
            type: 'change',
            change: { kind: 'hide', threadId: DM, messageId: `${DM}#2`, seq: 2, userId: 'bob', at: 9_000 },
            userId: 'bob',
            inboxSeq: bobBefore + 1,
          },
        ]);
        expect(await latestOf(['alice', 'bob'])).toEqual({ ...latest, bob: bobBefore + 1 });
        expect(hidden.message).toEqual(await store.getMessage(`${DM}#2`));
        expect(hidden.message).toMatchObject({ text: 'hello 2' });
        const seqs = async (hiddenFor?: string) =>
          (
            await store.history(DM, {
              afterSeq: 0,
              limit: 10,
              ...(hiddenFor === undefined ? {} : { hiddenFor }),
            })
          ).map((m) => m.seq);
        expect(await seqs('bob')).toEqual([3, 1]);
        expect(await seqs('alice')).toEqual([3, 2, 1]);
        expect(await seqs()).toEqual([3, 2, 1]);
        expect((await store.listMessages(DM, 0, 10, 10)).map((m) => m.seq)).toEqual([1, 2, 3]);
      });

      it('a hidden message does not count towards the limit of a page', async () => {
        for (let i = 0; i < 5; i++) await store.appendMessage(newMessage());
        for (const seq of [4, 5]) {
          await store.applyChange(change({ messageId: `${DM}#${seq}`, kind: 'hide', userId: 'bob' }));
        }
        const page = await store.history(DM, { afterSeq: 0, limit: 2, hiddenFor: 'bob' });
        expect(page.map((m) => m.seq)).toEqual([3, 2]);
      });
    });

    describe('history', () => {
      it('pages a thread newest first, below beforeSeq, above the afterSeq floor, at most limit', async () => {
        for (let i = 0; i < 7; i++) await store.appendMessage(newMessage());
        await store.appendMessage(newMessage({ threadId: GROUP }));
        const seqs = async (query: HistoryQuery) => (await store.history(DM, query)).map((m) => m.seq);
        expect(await seqs({ afterSeq: 0, limit: 3 })).toEqual([7, 6, 5]);
        expect(await seqs({ afterSeq: 0, limit: 3, beforeSeq: 5 })).toEqual([4, 3, 2]);
        expect(await seqs({ afterSeq: 0, limit: 3, beforeSeq: 2 })).toEqual([1]);
        expect(await seqs({ afterSeq: 0, limit: 3, beforeSeq: 1 })).toEqual([]);
        expect(await seqs({ afterSeq: 3, limit: 10 })).toEqual([7, 6, 5, 4]);
        expect(await seqs({ afterSeq: 3, limit: 10, beforeSeq: 6 })).toEqual([5, 4]);
        expect(await seqs({ afterSeq: 7, limit: 10 })).toEqual([]);
        expect(await seqs({ afterSeq: 0, limit: 0 })).toEqual([]);
        expect(await seqs({ afterSeq: 0, limit: 100, beforeSeq: 100 })).toEqual([7, 6, 5, 4, 3, 2, 1]);
        expect(await store.history('dm:nobody:here', { afterSeq: 0, limit: 10 })).toEqual([]);
        const page = await store.history(DM, { afterSeq: 5, limit: 10 });
        expect(page).toEqual(await store.listMessages(DM, 5, 7, 10).then((m) => m.reverse()));
      });

      it('includes tombstones', async () => {
        for (let i = 0; i < 3; i++) await store.appendMessage(newMessage());
        await store.applyChange(change({ messageId: `${DM}#2`, kind: 'delete', at: 7_000 }));
        const page = await store.history(DM, { afterSeq: 0, limit: 10 });
        expect(page.map((m) => [m.seq, m.text, m.deletedAt])).toEqual([
          [3, 'hello 3', undefined],
          [2, '', 7_000],
          [1, 'hello 1', undefined],
        ]);
      });
    });

    describe('changes to messages it does not hold', () => {
      it('refuses them with NotFoundError and writes nothing', async () => {
        await store.appendMessage(newMessage());
        const latest = await latestOf(['alice', 'bob']);
        for (const messageId of [`${DM}#2`, `${DM}#0`, `${DM}#01`, 'dm:nobody:here#1', 'nonsense', '']) {
          for (const kind of ['edit', 'delete', 'reaction', 'hide'] as const) {
            await expectCode(
              store.applyChange(change({ messageId, kind, text: 'x', emoji: '👍', clientChangeId: 'k' })),
              'NOT_FOUND',
            );
          }
        }
        expect(await latestOf(['alice', 'bob'])).toEqual(latest);
        // The refused changes took no key: a change with it applies.
        const applied = await store.applyChange(
          change({ messageId: `${DM}#1`, text: 'ok', clientChangeId: 'k' }),
        );
        expect(applied).toMatchObject({ duplicate: false, message: { text: 'ok' } });
      });
    });

    describe('change entries', () => {
      it('keep their place in the inbox order among messages and receipts', async () => {
        await store.appendMessage(newMessage());
        await store.applyChange(change({ messageId: `${DM}#1`, text: 'edited' }));
        const receipt: ReceiptData = { threadId: DM, status: 'read', upToSeq: 1, at: 5_000 };
        await store.appendEntry('bob', { type: 'receipt', receipt });
        await store.appendMessage(newMessage());
        expect((await readAll(store, 'bob')).map((e) => [e.inboxSeq, e.type])).toEqual([
          [1, 'message'],
          [2, 'change'],
          [3, 'receipt'],
          [4, 'message'],
        ]);
        expect(await store.latestInboxSeq('bob')).toBe(4);
      });

      it('count for nothing in what a delivered ack covers', async () => {
        await store.appendMessage(newMessage());
        await store.applyChange(
          change({ messageId: `${DM}#1`, kind: 'reaction', emoji: '👍', userId: 'bob' }),
        );
        await store.applyChange(
          change({ messageId: `${DM}#1`, text: 'edited', recipientIds: ['bob', 'carol'] }),
        );
        expect(Object.fromEntries(await store.highestReceived('bob', 0, 3))).toEqual({ [DM]: 1 });
        expect(Object.fromEntries(await store.highestReceived('bob', 1, 3))).toEqual({});
        expect(Object.fromEntries(await store.highestReceived('carol', 0, 1))).toEqual({});
      });

      it('a change put in an inbox with appendEntry reads back like one from applyChange', async () => {
        const { message: sent } = await store.appendMessage(newMessage());
        const { entries } = await store.applyChange(change({ messageId: sent.id, text: 'edited' }));
        const told = entries[0]?.type === 'change' ? entries[0].change : undefined;
        if (told === undefined) throw new Error('applyChange wrote no change entry');
        const entry = await store.appendEntry('dave', { type: 'change', change: told });
        expect(entry).toEqual({ type: 'change', change: told, userId: 'dave', inboxSeq: 1 });
        expect(await readAll(store, 'dave')).toEqual([entry]);
      });

      it('a change entry read back cannot be used to change the stored one', async () => {
        const { message: sent } = await store.appendMessage(newMessage());
        await store.applyChange(change({ messageId: sent.id, text: 'edited' }));
        const [, entry] = await readAll(store, 'bob');
        if (entry?.type === 'change') {
          attempt(() => {
            (entry.change as { text: string }).text = 'tampered';
          });
        }
        const [, again] = await readAll(store, 'bob');
        expect(again).toMatchObject({ type: 'change', change: { text: 'edited' } });
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
