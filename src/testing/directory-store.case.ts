/// <reference types="jest" />
/**
 * The conformance suite of the `DirectoryStore` port: users, groups, settings, direct threads and chat-list
 * choices (feeds). Every
 * directory store (in-memory, SQLite, Postgres, a third party's) runs it; the in-memory store is the reference.
 *
 * @module
 */
import type { DirectThreadRecord, FeedRecord, GroupRecord, SettingsRecord, UserRecord } from '../domain';
import { ChatRoomError } from '../domain';
import type { DirectoryBatch, DirectoryStore } from '../ports';

/** What a directory adapter is made of for one test. */
export interface DirectoryStoreHandle {
  readonly store: DirectoryStore;
  /** Opens a second store on the same data (a restart); the reopen tests are skipped without it. */
  readonly reopen?: () => Promise<DirectoryStore>;
  readonly close?: () => Promise<void>;
}

const user = (id: string, patch: Partial<UserRecord> = {}): UserRecord => ({
  id,
  name: id[0]?.toUpperCase() + id.slice(1),
  contacts: [],
  blocked: [],
  pushDevices: [],
  ...patch,
});

const group = (id: string, patch: Partial<GroupRecord> = {}): GroupRecord => ({
  id,
  name: `Group ${id}`,
  ownerId: 'alice',
  adminIds: ['alice'],
  memberIds: ['alice', 'bob', 'carol'],
  sizeLimit: 256,
  ...patch,
});

const settings = (userId: string, patch: Partial<SettingsRecord> = {}): SettingsRecord => ({
  userId,
  readReceipts: true,
  previews: true,
  lastSeen: 'everyone',
  mutes: [],
  ...patch,
});

const thread = (a: string, b: string): DirectThreadRecord => ({ id: `dm:${a}:${b}`, participantIds: [a, b] });

const feed = (userId: string, patch: Partial<FeedRecord> = {}): FeedRecord => ({
  userId,
  pinned: [],
  archived: [],
  markedUnread: [],
  ...patch,
});

const EMPTY = { users: [], groups: [], settings: [], threads: [], feeds: [] };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (ChatRoomError.is(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

/** Plain copies, so records compare by value whatever the store returns (frozen objects, class instances). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * Registers the `DirectoryStore` conformance tests for one adapter.
 *
 * @param name - the adapter's name, shown in the test titles
 * @param make - makes a fresh, empty store for each test
 *
 * @example
 * ```ts
 * import { directoryStoreSuite } from 'chat-room/testing'
 * import { InMemoryDirectoryStore } from 'chat-room'
 * directoryStoreSuite('InMemoryDirectoryStore', async () => ({ store: new InMemoryDirectoryStore() }))
 * ```
 */
export function directoryStoreSuite(name: string, make: () => Promise<DirectoryStoreHandle>): void {
  describe(`DirectoryStore conformance: ${name}`, () => {
    let handle: DirectoryStoreHandle;
    let store: DirectoryStore;
    const reopened: DirectoryStore[] = [];

    beforeEach(async () => {
      handle = await make();
      store = handle.store;
    });

    afterEach(async () => {
      for (const s of reopened.splice(0)) await (s as { close?: () => Promise<void> }).close?.();
      await handle.close?.();
    });

    test('an empty store loads five empty lists', async () => {
      expect(plain(await store.load())).toEqual(EMPTY);
    });

    test('keeps every kind of record as it was given', async () => {
      const alice = user('alice', {
        contacts: ['bob', 'carol'],
        blocked: ['mallory'],
        pushDevices: ['phone'],
      });
      const g = group('g1');
      const s = settings('alice', {
        readReceipts: false,
        previews: false,
        lastSeen: 'contacts',
        mutes: [{ threadId: 'group:g1' }, { threadId: 'dm:alice:bob', until: 1_800_000_000_000 }],
      });
      const t = thread('alice', 'bob');
      const f = feed('alice', {
        pinned: ['group:g1'],
        archived: ['dm:alice:carol'],
        markedUnread: ['dm:alice:bob', 'dm:alice:carol'],
      });
      await store.save({ users: [alice], groups: [g], settings: [s], threads: [t], feeds: [f] });
      expect(plain(await store.load())).toEqual({
        users: [alice],
        groups: [g],
        settings: [s],
        threads: [t],
        feeds: [f],
      });
    });

    test("a user's feed record is replaced whole: a pin taken back and a mark cleared are gone", async () => {
      await store.save({ feeds: [feed('alice', { pinned: ['group:g1', 'dm:alice:bob'] }), feed('bob')] });
      await store.save({ feeds: [feed('carol', { archived: ['group:g1'] })] });
      await store.save({ feeds: [feed('alice', { pinned: ['dm:alice:bob'], markedUnread: ['group:g1'] })] });
      const { feeds } = await store.load();
      expect(feeds.map((f) => f.userId)).toEqual(['alice', 'bob', 'carol']);
      expect(plain(feeds[0])).toEqual(
        feed('alice', { pinned: ['dm:alice:bob'], markedUnread: ['group:g1'] }),
      );
      await store.save({ feeds: [feed('alice')] });
      expect(plain((await store.load()).feeds[0])).toEqual(feed('alice'));
    });

    test('keeps thread ids of any shape in feed records, and long lists in order', async () => {
      const pinned = ['dm:jos%C3%A9:zoë', 'group:山田', `dm:${'x'.repeat(100)}:y`];
      const archived = Array.from({ length: 3_000 }, (_, i) => `group:g${(i * 7919) % 3_000}`);
      const f = feed('jose.alvarez:1', { pinned, archived, markedUnread: [...pinned, archived[7]!] });
      await store.save({ feeds: [f] });
      expect(plain((await store.load()).feeds)).toEqual([f]);
    });

    test('a group whose owner left has no ownerId after loading', async () => {
      const orphan: GroupRecord = {
        id: 'g2',
        name: 'Orphans',
        adminIds: ['bob'],
        memberIds: ['bob', 'carol'],
        sizeLimit: 8,
      };
      await store.save({ groups: [orphan] });
      const [loaded] = (await store.load()).groups;
      expect(loaded).not.toHaveProperty('ownerId');
      expect(plain(loaded)).toEqual(orphan);
    });

    test('saving a record again replaces it and keeps its place in the load order', async () => {
      await store.save({ users: [user('alice'), user('bob')] });
      await store.save({ users: [user('carol')] });
      await store.save({ users: [user('alice', { name: 'Alice Liddell', contacts: ['carol'] })] });
      const { users } = await store.load();
      expect(users.map((u) => u.id)).toEqual(['alice', 'bob', 'carol']);
      expect(plain(users[0])).toEqual(user('alice', { name: 'Alice Liddell', contacts: ['carol'] }));
    });

    test('a list loses and regains entries: the stored list is exactly the last one saved', async () => {
      await store.save({ groups: [group('g1')] });
      await store.save({ groups: [group('g1', { memberIds: ['alice', 'carol'] })] });
      await store.save({ groups: [group('g1', { memberIds: ['alice', 'carol', 'bob'] })] });
      expect((await store.load()).groups[0]?.memberIds).toEqual(['alice', 'carol', 'bob']);
    });

    test('a batch that names an id twice keeps the last record', async () => {
      await store.save({
        settings: [settings('bob', { lastSeen: 'nobody' }), settings('bob', { previews: false })],
      });
      const loaded = (await store.load()).settings;
      expect(plain(loaded)).toEqual([settings('bob', { previews: false })]);
    });

    test('keeps names and ids in any script, and long lists in order', async () => {
      const contacts = Array.from({ length: 5_000 }, (_, i) => `user.${(i * 7919) % 5_000}@example-${i % 3}`);
      const u = user('jose.alvarez:1', { name: 'José Álvarez 山田 👩🏽‍💻', contacts });
      await store.save({ users: [u] });
      expect(plain((await store.load()).users)).toEqual([u]);
    });

    test('an empty batch writes nothing and succeeds', async () => {
      await store.save({});
      await store.save(EMPTY);
      expect(plain(await store.load())).toEqual(EMPTY);
    });

    test('a thread saved twice is stored once', async () => {
      await store.save({ threads: [thread('alice', 'bob')] });
      await store.save({ threads: [thread('alice', 'bob'), thread('bob', 'carol')] });
      expect((await store.load()).threads.map((t) => t.id)).toEqual(['dm:alice:bob', 'dm:bob:carol']);
    });

    test('concurrent saves of different records all land', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `u${i}`);
      await Promise.all(ids.map((id) => store.save({ users: [user(id)], settings: [settings(id)] })));
      const loaded = await store.load();
      expect(new Set(loaded.users.map((u) => u.id))).toEqual(new Set(ids));
      expect(loaded.settings).toHaveLength(40);
    });

    test('what load returns and what save was given are copies: changing them changes nothing stored', async () => {
      const contacts = ['bob'];
      await store.save({ users: [user('alice', { contacts })] });
      contacts.push('mallory');
      const first = await store.load();
      try {
        (first.users[0]?.contacts as string[]).push('eve');
      } catch {
        // a frozen copy refuses the change, which is fine too
      }
      expect((await store.load()).users[0]?.contacts).toEqual(['bob']);
    });

    const malformed: [string, unknown][] = [
      ['a user with an empty id', { users: [user('')] }],
      ['a user without a name', { users: [{ ...user('alice'), name: undefined }] }],
      ['a user whose contacts are not an array', { users: [{ ...user('alice'), contacts: 'bob' }] }],
      [
        'a user whose contact id is not a string',
        { users: [user('alice', { contacts: [42 as unknown as string] })] },
      ],
      ['a group whose admin is not a member', { groups: [group('g1', { adminIds: ['alice', 'zed'] })] }],
      ['a group listing a member twice', { groups: [group('g1', { memberIds: ['alice', 'bob', 'bob'] })] }],
      ['a group with a size limit of 0', { groups: [group('g1', { sizeLimit: 0 })] }],
      [
        'settings with an unknown last-seen value',
        { settings: [{ ...settings('bob'), lastSeen: 'friends' }] },
      ],
      ['settings with a non-boolean flag', { settings: [{ ...settings('bob'), previews: 'yes' }] }],
      [
        'a mute with a negative end',
        { settings: [settings('bob', { mutes: [{ threadId: 'group:g1', until: -1 }] })] },
      ],
      ['a thread of one user with themself', { threads: [{ id: 'dm:a:a', participantIds: ['a', 'a'] }] }],
      ['a feed record without a user', { feeds: [{ ...feed('bob'), userId: '' }] }],
      ['a feed record whose pins are not an array', { feeds: [{ ...feed('bob'), pinned: 'group:g1' }] }],
      ['a feed record with an empty thread id', { feeds: [feed('bob', { archived: [''] })] }],
      ['a feed record without its marks', { feeds: [{ ...feed('bob'), markedUnread: undefined }] }],
      [
        'a feed record naming a thread twice in a list',
        { feeds: [feed('bob', { markedUnread: ['group:g1', 'group:g1'] })] },
      ],
      [
        'a feed record with a thread both pinned and archived',
        { feeds: [feed('bob', { pinned: ['group:g1'], archived: ['group:g1'] })] },
      ],
      ['a batch whose users is not an array', { users: user('alice') }],
      ['no batch at all', undefined],
    ];

    test.each(malformed)('refuses %s with VALIDATION and writes nothing of the batch', async (_, batch) => {
      await store.save({ users: [user('zoe')] });
      const withGood = (
        typeof batch === 'object' && batch !== null && !('users' in batch)
          ? { users: [user('yann')], ...(batch as DirectoryBatch) }
          : batch
      ) as DirectoryBatch;
      expect(await codeOf(store.save(withGood))).toBe('VALIDATION');
      expect((await store.load()).users.map((u) => u.id)).toEqual(['zoe']);
    });

    test('data survives a reopen of the store', async () => {
      if (handle.reopen === undefined) return;
      await store.save({
        users: [user('alice'), user('bob')],
        groups: [group('g1')],
        threads: [thread('alice', 'bob')],
      });
      await store.save({ settings: [settings('alice', { lastSeen: 'nobody' })] });
      await store.save({ feeds: [feed('alice', { pinned: ['dm:alice:bob'], archived: ['group:g1'] })] });
      const again = await handle.reopen();
      reopened.push(again);
      expect(plain(await again.load())).toEqual(plain(await store.load()));
    });
  });
}
