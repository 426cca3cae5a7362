/**
 * Group commit of the durable stores: appends that arrive together are written in one transaction, in call
 * order, one savepoint each, and every promise settles after the one commit. SQLite runs on a temp file;
 * PostgreSQL runs when `DATABASE_URL` answers (each store on a fresh random schema, dropped afterwards).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatRoomError, ValidationError } from 'chat-room';
import type { AppendResult, InboxEntry, MessageStore, NewMessage } from 'chat-room';
import { SqliteMessageStore } from 'chat-room/sqlite';
import { PostgresMessageStore } from 'chat-room/postgres';
import { postgresFixture } from '../support/postgres';
import { postgresOrSkip } from '../support/services';

jest.setTimeout(30_000);

interface Stats {
  readonly commits: number;
  readonly appends: number;
  readonly largestBatch: number;
}

/** A store with group-commit stats; `same` opens a second store on the same data (another process's view). */
type Batched = MessageStore & { readonly stats: Stats };
/** `maxBatchesInFlight` applies to PostgreSQL only: 1 keeps a few concurrent appends in one batch. */
type Factory = (options?: {
  maxBatch?: number;
  maxBatchesInFlight?: number;
}) => Promise<{ store: Batched; same: () => Promise<Batched> }>;

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function readAll(store: MessageStore, userId: string): Promise<InboxEntry[]> {
  const out: InboxEntry[] = [];
  let cursor = 0;
  for (;;) {
    const page = await store.readInbox(userId, cursor, 50);
    out.push(...page.entries);
    cursor = page.cursor;
    if (!page.hasMore) return out;
  }
}

async function settle<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function groupCommitSuite(name: string, make: Factory): void {
  describe(`group commit: ${name}`, () => {
    let n = 0;
    const message = (patch: Partial<NewMessage> = {}): NewMessage => ({
      threadId: 'dm:alice:bob',
      senderId: 'alice',
      kind: 'text',
      text: `hello ${++n}`,
      clientMessageId: `c-${n}`,
      sentAt: 1_000 + n,
      recipientIds: ['bob'],
      ...patch,
    });

    it('200 concurrent appends across threads all resolve, in far fewer commits, seqs gap-free in call order', async () => {
      const { store } = await make();
      const before = store.stats;
      const threads = [
        { threadId: 'dm:alice:bob', members: ['alice', 'bob'] },
        { threadId: 'dm:alice:carol', members: ['alice', 'carol'] },
        { threadId: 'group:g1', members: ['alice', 'bob', 'carol', 'dave'] },
        { threadId: 'dm:bob:dave', members: ['bob', 'dave'] },
      ];
      const inputs = range(0, 199).map((i) => {
        const t = threads[(i * 7) % threads.length]!;
        const senderId = t.members[i % t.members.length]!;
        return message({
          threadId: t.threadId,
          senderId,
          recipientIds: t.members.filter((m) => m !== senderId),
        });
      });
      const results = await Promise.all(inputs.map((input) => store.appendMessage(input)));

      expect(results.every((r) => !r.duplicate)).toBe(true);
      for (const t of threads) {
        const mine = results.filter((r) => r.message.threadId === t.threadId);
        expect(mine.map((r) => r.message.seq)).toEqual(range(1, mine.length)); // call order
        expect((await store.listMessages(t.threadId, 0, Infinity, 1_000)).map((m) => m.text)).toEqual(
          mine.map((r) => r.message.text),
        );
        expect(await store.lastSeq(t.threadId)).toBe(mine.length);
      }
      for (const user of ['alice', 'bob', 'carol', 'dave']) {
        const written = results.flatMap((r) => r.entries.filter((e) => e.userId === user));
        expect(written.map((e) => e.inboxSeq)).toEqual(range(1, written.length)); // call order
        const read = await readAll(store, user);
        expect(read).toEqual(written);
        expect(await store.latestInboxSeq(user)).toBe(written.length);
      }

      const after = store.stats;
      expect(after.appends - before.appends).toBe(200);
      expect(after.commits - before.commits).toBeLessThanOrEqual(10);
      expect(after.largestBatch).toBeGreaterThanOrEqual(20);
    });

    it('a duplicate idempotency key inside one batch is stored once', async () => {
      const { store } = await make({ maxBatchesInFlight: 1 });
      const input = message({ clientMessageId: 'tapped-twice' });
      const before = store.stats.commits;
      const [first, second, other] = await Promise.all([
        store.appendMessage(input),
        store.appendMessage({ ...input }),
        store.appendMessage(message()),
      ]);
      expect(store.stats.commits - before).toBe(1); // really one batch
      expect(first?.duplicate).toBe(false);
      expect(second).toEqual({ message: first?.message, entries: [], duplicate: true });
      expect(other?.message.seq).toBe(2); // the duplicate took no seq
      expect(await store.lastSeq('dm:alice:bob')).toBe(2);
      expect((await readAll(store, 'bob')).map((e) => e.inboxSeq)).toEqual([1, 2]);
    });

    it.each([
      ['a null recipient (fails after the message row is written)', { recipientIds: ['bob', null] }],
      ['a null text (fails at the message row)', { text: null }],
    ])('one bad append in a batch rejects alone: %s', async (_, bad) => {
      const { store } = await make({ maxBatchesInFlight: 1 });
      const before = store.stats.commits;
      const inputs = range(1, 7).map((i) =>
        i === 4 ? message(bad as unknown as Partial<NewMessage>) : message(),
      );
      const outcomes = await Promise.all(inputs.map((input) => settle(store.appendMessage(input))));
      expect(store.stats.commits - before).toBe(1);

      const failed = outcomes[3] as { ok: false; error: unknown };
      expect(failed.ok).toBe(false);
      expect(ChatRoomError.is(failed.error)).toBe(true);
      expect(failed.error).toMatchObject({ code: 'STORAGE' });
      const landed = outcomes.filter((o) => o.ok).map((o) => (o as { value: AppendResult }).value);
      expect(landed).toHaveLength(6);
      expect(landed.map((r) => r.message.seq)).toEqual(range(1, 6)); // the failed one gave its seq back
      expect(landed.map((r) => r.message.text)).toEqual(
        inputs.filter((_, i) => i !== 3).map((input) => input.text),
      );
      expect(await store.lastSeq('dm:alice:bob')).toBe(6);
      expect(seqs(await readAll(store, 'bob'))).toEqual(range(1, 6));
      expect(seqs(await readAll(store, 'alice'))).toEqual(range(1, 6));
      expect(await store.findByClientMessageId('alice', inputs[3]!.clientMessageId)).toBeUndefined();
    });

    it('keeps call order between appendMessage and appendEntry in one batch', async () => {
      const { store } = await make({ maxBatchesInFlight: 1 });
      const receipt = { threadId: 'dm:alice:bob', status: 'read' as const, upToSeq: 1, at: 5 };
      const [a, r, b] = await Promise.all([
        store.appendMessage(message()),
        store.appendEntry('alice', { type: 'receipt', receipt }),
        store.appendMessage(message()),
      ]);
      expect([a?.entries[0]?.inboxSeq, (r as InboxEntry).inboxSeq, b?.entries[0]?.inboxSeq]).toEqual([
        1, 2, 3,
      ]);
      expect((await readAll(store, 'alice')).map((e) => e.type)).toEqual(['message', 'receipt', 'message']);
    });

    it('caps a batch at maxBatch, and maxBatch 1 commits every append alone', async () => {
      const capped = (await make({ maxBatch: 16 })).store;
      await Promise.all(range(1, 100).map(() => capped.appendMessage(message())));
      expect(capped.stats.largestBatch).toBeLessThanOrEqual(16);
      expect(capped.stats.commits).toBeGreaterThanOrEqual(7);
      expect(await capped.lastSeq('dm:alice:bob')).toBe(100);

      const off = (await make({ maxBatch: 1 })).store;
      const results = await Promise.all(range(1, 20).map(() => off.appendMessage(message())));
      expect(results.map((r) => r.message.seq)).toEqual(range(1, 20));
      expect(off.stats).toEqual({ commits: 20, appends: 20, largestBatch: 1 });
    });

    it('two stores on the same data batching crossing threads and users keep seqs gap-free (no deadlock)', async () => {
      const { store, same } = await make();
      const other = await same();
      const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
      const appends: Promise<AppendResult>[] = [];
      for (let i = 0; i < 120; i++) {
        const s = i % 2 === 0 ? store : other;
        // The two stores walk the users in opposite orders, so their batches want the same rows crosswise.
        const k = i % 2 === 0 ? i % users.length : users.length - 1 - (i % users.length);
        const senderId = users[k]!;
        const peer = users[(k + 1) % users.length]!;
        appends.push(
          s.appendMessage(
            message({ threadId: `t:${[senderId, peer].sort().join(':')}`, senderId, recipientIds: [peer] }),
          ),
        );
      }
      const results = await Promise.all(appends);
      const byThread = new Map<string, number[]>();
      for (const r of results)
        byThread.set(r.message.threadId, [...(byThread.get(r.message.threadId) ?? []), r.message.seq]);
      for (const seqList of byThread.values()) {
        expect([...seqList].sort((x, y) => x - y)).toEqual(range(1, seqList.length));
      }
      for (const user of users) {
        const read = seqs(await readAll(store, user));
        expect(read).toEqual(range(1, read.length));
        expect(read.length).toBe(results.flatMap((r) => r.entries).filter((e) => e.userId === user).length);
      }
    });

    it('takes turns with another store on the same data: each batch continues after what the other wrote', async () => {
      const { store, same } = await make();
      const other = await same();
      const bobWrites = (s: Batched) =>
        s.appendMessage(message({ senderId: 'bob', recipientIds: ['alice'] }));
      const seen: number[][] = [];
      for (const s of [store, other, store, other, store]) {
        // One batch per turn; the second is a message too, so the next batch of the same store must not
        // reuse a seq or inbox place the other store took meanwhile.
        const [a, b] = await Promise.all([s.appendMessage(message()), bobWrites(s)]);
        seen.push([a.message.seq, b.message.seq]);
      }
      expect(seen).toEqual([
        [1, 2],
        [3, 4],
        [5, 6],
        [7, 8],
        [9, 10],
      ]);
      const receipt = { threadId: 'dm:alice:bob', status: 'delivered' as const, upToSeq: 10, at: 7 };
      const entry = await other.appendEntry('alice', { type: 'receipt', receipt });
      expect(entry.inboxSeq).toBe(11);
      expect(seqs(await readAll(store, 'alice'))).toEqual(range(1, 11));
      expect(seqs(await readAll(other, 'bob'))).toEqual(range(1, 10));
    });

    it('refuses a maxBatch that is not a positive integer', async () => {
      for (const maxBatch of [0, -1, 1.5]) await expect(make({ maxBatch })).rejects.toThrow(ValidationError);
    });
  });
}

function seqs(entries: readonly InboxEntry[]): number[] {
  return entries.map((e) => e.inboxSeq);
}

// ---------------------------------------------------------------------------------------------------------------
// SQLite, on temp files.

const root = mkdtempSync(join(tmpdir(), 'chat-room-group-commit-'));
const sqliteStores: SqliteMessageStore[] = [];
let files = 0;

afterEach(async () => {
  await Promise.all(sqliteStores.splice(0).map((s) => s.close()));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

groupCommitSuite('SqliteMessageStore', async ({ maxBatch } = {}) => {
  const path = join(root, `store-${++files}.db`);
  const open = (): SqliteMessageStore => {
    const store = new SqliteMessageStore({ path, ...(maxBatch === undefined ? {} : { maxBatch }) });
    sqliteStores.push(store);
    return store;
  };
  const store = open();
  return { store, same: async () => open() };
});

describe('group commit: SqliteMessageStore close', () => {
  it('writes the queued appends before closing', async () => {
    const path = join(root, `store-${++files}.db`);
    const store = new SqliteMessageStore({ path });
    const pending = range(1, 5).map((i) =>
      store.appendMessage({
        threadId: 't',
        senderId: 'a',
        kind: 'text',
        text: `m${i}`,
        clientMessageId: `k${i}`,
        sentAt: i,
        recipientIds: ['b'],
      }),
    );
    await store.close();
    expect((await Promise.all(pending)).map((r) => r.message.seq)).toEqual(range(1, 5));
    const again = new SqliteMessageStore({ path });
    sqliteStores.push(again);
    expect(await again.lastSeq('t')).toBe(5);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL, when available: a fresh schema per store, all dropped when the file ends.

const url = postgresOrSkip('group commit of PostgresMessageStore');

(url === undefined ? describe.skip : describe)('PostgreSQL', () => {
  const pg = postgresFixture(url);

  groupCommitSuite('PostgresMessageStore', async (options = {}) => {
    const schema = pg.schema();
    const store = new PostgresMessageStore({ pool: pg.pool, schema, ...options });
    await store.start();
    return { store, same: async () => new PostgresMessageStore({ pool: pg.pool, schema }) };
  });

  it('refuses a maxBatchesInFlight that is not a positive integer', () => {
    for (const maxBatchesInFlight of [0, -1, 1.5]) {
      expect(() => new PostgresMessageStore({ pool: pg.pool, maxBatchesInFlight })).toThrow(ValidationError);
    }
  });
});
