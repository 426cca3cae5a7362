import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatSystemDeps, DirectoryBatch, DirectoryStore, FeedEntry, ServerFrame } from 'chat-room';
import {
  ChatSystem,
  InMemoryDirectoryStore,
  InMemoryMessageStore,
  ManualClock,
  NotFoundError,
  PermissionError,
} from 'chat-room';
import { openSqliteStores } from 'chat-room/sqlite';
import { T0 } from './helpers';

/**
 * What a restart keeps: two systems in turn on the same stores, the first closed before the second opens — the
 * in-memory stores stand in for a database here; the SQLite and Postgres runs of the same flow are in
 * test/system/restart-durable.test.ts.
 */
function stores() {
  const clock = new ManualClock(T0);
  const deps = { clock, store: new InMemoryMessageStore(), directoryStore: new InMemoryDirectoryStore() };
  let n = 0;
  const open = (extra: Partial<ChatSystemDeps> = {}) =>
    ChatSystem.open({ ...deps, newId: () => `g${++n}`, ...extra });
  return { clock, deps, open };
}

async function withUsers(chat: ChatSystem, ...ids: string[]): Promise<void> {
  for (const id of ids) chat.registerUser({ id, name: id[0]?.toUpperCase() + id.slice(1) });
  await chat.idle();
}

/** A raw device on the in-memory transport: sends frames, collects what it hears. */
function rawDevice(chat: ChatSystem, userId: string) {
  const heard: ServerFrame[] = [];
  const link = chat.transport.open(
    { userId, deviceId: `${userId}-raw`, foreground: true },
    { received: (f) => heard.push(f), closed: () => undefined },
  );
  return { heard, send: (frame: Record<string, unknown>) => link.send(frame as never) };
}

/** A directory store whose writes wait until released, and can be told to fail: faults a test cannot cause. */
class GatedDirectoryStore implements DirectoryStore {
  readonly inner = new InMemoryDirectoryStore();
  failing = false;
  #gate: Promise<void> | undefined;
  #release: (() => void) | undefined;
  hold(): void {
    this.#gate = new Promise((resolve) => (this.#release = resolve));
  }
  release(): void {
    this.#release?.();
    this.#gate = undefined;
  }
  async save(batch: DirectoryBatch): Promise<void> {
    await this.#gate;
    if (this.failing) throw new Error('disk full');
    await this.inner.save(batch);
  }
  load() {
    return this.inner.load();
  }
}

describe('a restart on the same stores', () => {
  test('users, contacts, blocks, push devices and settings come back', async () => {
    const { clock, open } = stores();
    const first = await open();
    await withUsers(first, 'alice', 'bob', 'mallory');
    first.addContact('alice', 'bob');
    first.block('alice', 'mallory');
    first.registerPushDevice('alice', 'phone');
    const settings = first.settings('alice');
    settings.setReadReceipts(false);
    settings.setLastSeen('contacts');
    settings.mute('dm:alice:mallory');
    settings.mute('group:g9', { until: T0 + 60_000 });
    const before = first.settings('alice');
    const snapshot = {
      readReceipts: before.readReceipts,
      lastSeen: before.lastSeen,
      muted: [before.isMuted('dm:alice:mallory'), before.isMuted('group:g9')],
    };
    await first.close();

    const second = await open();
    expect(second.getUser('alice').contacts).toEqual(['bob']);
    expect(second.searchContacts('alice', 'bo').map((m) => m.id)).toEqual(['bob']);
    await expect(second.sendMessage({ from: 'mallory', to: 'alice', text: 'hi' })).rejects.toThrow(
      PermissionError,
    );
    const after = second.settings('alice');
    expect({
      readReceipts: after.readReceipts,
      lastSeen: after.lastSeen,
      muted: [after.isMuted('dm:alice:mallory'), after.isMuted('group:g9')],
    }).toEqual(snapshot);
    clock.advance(61_000);
    expect(after.isMuted('group:g9')).toBe(false); // the timed mute still ends when it should
    expect(second.deliveryStateOf('alice')).toBe('away'); // the push device is known again
    await second.close();
  });

  test('groups keep their members and roles, and a thread numbers on from its last seq', async () => {
    const { open } = stores();
    const first = await open();
    await withUsers(first, 'alice', 'bob', 'carol');
    const group = first.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
    first.promoteGroupMember('alice', group.id, 'bob');
    first.leaveGroup('alice', group.id);
    await first.sendMessage({ from: 'bob', groupId: group.id, text: 'one' });
    await first.sendMessage({ from: 'carol', groupId: group.id, text: 'two' });
    await first.close();

    const second = await open();
    expect(second.getGroup(group.id).toJSON()).toEqual({
      id: group.id,
      name: 'Trip',
      ownerId: 'bob', // alice handed the group to the admin she promoted
      adminIds: ['bob'],
      memberIds: ['bob', 'carol'],
    });
    const third = await second.sendMessage({ from: 'bob', groupId: group.id, text: 'three' });
    expect(third.seq).toBe(3);
    await expect(second.sendMessage({ from: 'alice', groupId: group.id, text: 'back?' })).rejects.toThrow(
      NotFoundError,
    );
    await second.close();
  });

  test('ticks go on: messages sent before the restart turn delivered, then read, after it', async () => {
    const { open } = stores();
    const first = await open();
    await withUsers(first, 'alice', 'bob');
    const sent = [];
    for (const text of ['a', 'b', 'c'])
      sent.push(await first.sendMessage({ from: 'alice', to: 'bob', text }));
    expect(sent.map((m) => m.status)).toEqual(['sent', 'sent', 'sent']); // bob is offline
    await first.close();

    const second = await open();
    const bob = second.connect('bob');
    await second.idle();
    const info = await second.messageInfo('alice', sent[2]?.id ?? '');
    expect(info.status).toBe('delivered');
    await bob.markRead(sent[2]?.threadId ?? '', 3);
    await second.idle();
    expect((await second.messageInfo('alice', sent[0]?.id ?? '')).status).toBe('read');
    await second.close();
  });

  test("each member's chat list comes back with previews and unread counts", async () => {
    const { open, clock } = stores();
    const first = await open();
    await withUsers(first, 'alice', 'bob', 'carol');
    const group = first.createGroup({ ownerId: 'carol', name: 'Book club', memberIds: ['alice', 'bob'] });
    await first.sendMessage({ from: 'alice', to: 'bob', text: 'first' });
    clock.advance(1_000);
    await first.sendMessage({ from: 'carol', groupId: group.id, text: 'chapter 3?' });
    clock.advance(1_000);
    await first.sendMessage({ from: 'alice', to: 'bob', text: 'second' });
    await first.markRead('bob', 'dm:alice:bob', 1);
    const expected = first
      .getFeed('bob')
      .top(10)
      .map(({ threadId, title, preview, unread, lastSeq }) => ({
        threadId,
        title,
        preview,
        unread,
        lastSeq,
      }));
    await first.close();

    const second = await open();
    const bobFeed = second.getFeed('bob').top(10);
    expect(
      bobFeed.map(({ threadId, title, preview, unread, lastSeq }) => ({
        threadId,
        title,
        preview,
        unread,
        lastSeq,
      })),
    ).toEqual(expected);
    expect(bobFeed.find((e) => e.threadId === 'dm:alice:bob')).toMatchObject({
      unread: 1,
      preview: 'second',
    });
    expect(second.getFeed('alice').get('dm:alice:bob')?.unread).toBe(0);
    expect(second.getFeed('carol').get(`group:${group.id}`)?.unread).toBe(0);
    await second.close();
  });

  test('pins, the archive and unread marks come back on SQLite, and a read that cleared a mark stays cleared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-room-feed-restart-'));
    const file = join(dir, 'chat.db');
    const clock = new ManualClock(T0);
    let n = 0;
    const open = async () => {
      const sqlite = openSqliteStores(file);
      const chat = await ChatSystem.open({ clock, ...sqlite, newId: () => `g${++n}` });
      return {
        chat,
        close: async () => {
          await chat.close();
          await sqlite.close();
        },
      };
    };
    /** What the chat list shows: both lists, in order, with the choices and unread counts. */
    const lists = (chat: ChatSystem, userId: string) => {
      const show = ({ threadId, pinned, archived, markedUnread, unread }: FeedEntry) => ({
        threadId,
        pinned,
        archived,
        markedUnread,
        unread,
      });
      const feed = chat.getFeed(userId);
      return { main: feed.top(10).map(show), archive: feed.top(10, { archived: true }).map(show) };
    };
    try {
      const first = await open();
      await withUsers(first.chat, 'alice', 'bob', 'carol');
      const group = first.chat.createGroup({
        ownerId: 'carol',
        name: 'Book club',
        memberIds: ['alice', 'bob'],
      });
      const dm = (await first.chat.sendMessage({ from: 'alice', to: 'bob', text: 'lunch?' })).threadId;
      clock.advance(1_000);
      await first.chat.sendMessage({ from: 'carol', groupId: group.id, text: 'chapter 3' });
      clock.advance(1_000);
      const carolDm = (await first.chat.sendMessage({ from: 'carol', to: 'bob', text: 'psst' })).threadId;
      await first.chat.markRead('bob', dm, 1);
      first.chat.pinThread('bob', dm, true);
      first.chat.markThreadUnread('bob', dm, true);
      first.chat.archiveThread('bob', `group:${group.id}`, true);
      first.chat.archiveThread('bob', carolDm, true);
      clock.advance(1_000);
      await first.chat.sendMessage({ from: 'carol', to: 'bob', text: 'still archived?' });
      const before = lists(first.chat, 'bob');
      expect(before).toEqual({
        main: [{ threadId: dm, pinned: true, archived: false, markedUnread: true, unread: 1 }],
        archive: [
          { threadId: carolDm, pinned: false, archived: true, markedUnread: false, unread: 2 },
          { threadId: `group:${group.id}`, pinned: false, archived: true, markedUnread: false, unread: 1 },
        ],
      });
      const alice = lists(first.chat, 'alice');
      await first.close();

      const second = await open();
      expect(lists(second.chat, 'bob')).toEqual(before);
      expect(lists(second.chat, 'alice')).toEqual(alice); // another user's list is untouched
      await second.chat.markRead('bob', dm, 1); // opening the chat clears the mark
      expect(second.chat.getFeed('bob').get(dm)).toMatchObject({ markedUnread: false, unread: 0 });
      second.chat.archiveThread('bob', carolDm, false);
      await second.close();

      const third = await open();
      expect(lists(third.chat, 'bob').main).toEqual([
        { threadId: dm, pinned: true, archived: false, markedUnread: false, unread: 0 },
        { threadId: carolDm, pinned: false, archived: false, markedUnread: false, unread: 2 },
      ]);
      await third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a burst of chat-list choices is saved as the user's final feed record", async () => {
    const { open } = stores();
    const directoryStore = new GatedDirectoryStore();
    const chat = await open({ directoryStore });
    await withUsers(chat, 'alice', 'bob');
    const { threadId } = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hi' });
    chat.pinThread('bob', threadId, true);
    chat.markThreadUnread('bob', threadId, true);
    chat.archiveThread('bob', threadId, true); // unpins it
    await chat.idle();
    expect((await directoryStore.load()).feeds).toEqual([
      { userId: 'bob', pinned: [], archived: [threadId], markedUnread: [threadId] },
    ]);
    await chat.close();
  });

  test('a member added before the restart does not hold back the ticks of older messages after it', async () => {
    const { open } = stores();
    const first = await open();
    await withUsers(first, 'alice', 'bob', 'carol');
    const group = first.createGroup({ ownerId: 'alice', name: 'Pair', memberIds: ['bob'] });
    const m1 = await first.sendMessage({ from: 'alice', groupId: group.id, text: 'before carol' });
    first.addGroupMembers('alice', group.id, ['carol']);
    await first.close();

    const second = await open();
    second.connect('bob');
    await second.idle();
    await second.markRead('bob', `group:${group.id}`, m1.seq);
    await second.idle();
    expect((await second.messageInfo('alice', m1.id)).status).toBe('read');
    await second.close();
  });

  test('the answer to a frame that changed the directory waits until the change is durable', async () => {
    const directoryStore = new GatedDirectoryStore();
    const chat = await ChatSystem.open({ clock: new ManualClock(T0), directoryStore });
    await withUsers(chat, 'alice', 'bob');
    directoryStore.hold();
    const alice = rawDevice(chat, 'alice');
    alice.send({ type: 'group.create', ref: 'g1', name: 'Trip', memberIds: ['bob'] });
    alice.send({ type: 'send', ref: 's1', clientMessageId: 'c1', to: 'bob', text: 'hi' });
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(alice.heard.filter((f) => 'ref' in f)).toEqual([]); // neither answered while the write hangs
    directoryStore.release();
    await chat.idle();
    expect(alice.heard.filter((f) => 'ref' in f).map((f) => f.type)).toEqual(['group', 'ack']);
    const saved = await directoryStore.load();
    expect(saved.groups.map((g) => g.name)).toEqual(['Trip']);
    expect(saved.threads.map((t) => t.id)).toEqual(['dm:alice:bob']);
    await chat.close();
  });

  test('a failed directory write answers STORAGE, and the change is written by the next write', async () => {
    const directoryStore = new GatedDirectoryStore();
    const chat = await ChatSystem.open({ clock: new ManualClock(T0), directoryStore });
    await withUsers(chat, 'alice', 'bob');
    const failures: unknown[] = [];
    chat.notifications.on('directory-write-failed', ({ error }) => failures.push(error));
    directoryStore.failing = true;
    const alice = rawDevice(chat, 'alice');
    alice.send({ type: 'contacts.add', ref: 'c1', userId: 'bob' });
    await chat.idle().catch(() => undefined);
    expect(alice.heard.find((f) => 'ref' in f && f.ref === 'c1')).toMatchObject({
      type: 'error',
      code: 'STORAGE',
    });
    expect(failures.length).toBeGreaterThan(0);
    directoryStore.failing = false;
    chat.registerUser({ id: 'carol', name: 'Carol' });
    await chat.idle();
    const saved = await directoryStore.load();
    expect(saved.users.find((u) => u.id === 'alice')?.contacts).toEqual(['bob']);
    expect(saved.users.map((u) => u.id)).toEqual(['alice', 'bob', 'carol']);
    await chat.close();
  });

  test('without a directory store, nothing is written and open() starts empty', async () => {
    const chat = await ChatSystem.open({ clock: new ManualClock(T0) });
    chat.registerUser({ id: 'alice', name: 'Alice' });
    await chat.idle();
    const again = await ChatSystem.open({ clock: new ManualClock(T0) });
    expect(() => again.getUser('alice')).toThrow('no user alice');
    await Promise.all([chat.close(), again.close()]);
  });
});
