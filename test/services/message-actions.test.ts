/**
 * Replies, edits, deletes, reactions and history through the services (`ChatSystem` over the in-memory store, on
 * a `ManualClock`): who may do what, the windows, what each refusal leaves behind (nothing), who hears of a change,
 * and that a stranger learns nothing about messages they cannot see.
 */
import type { ChatSystem, InboxEntry, MessageData } from 'chat-room';
import {
  ChatRoomError,
  DELETED_PREVIEW,
  InMemoryDirectoryStore,
  InMemoryMessageStore,
  ManualClock,
  ChatSystem as System,
} from 'chat-room';
import { T0, makeChat } from '../system/helpers';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The error a call rejects with, as plain fields (what an `error` frame would carry). */
async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string; details: unknown }> {
  try {
    await work;
  } catch (error) {
    if (!ChatRoomError.is(error)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
  throw new Error('expected a refusal');
}

/** Every entry of a user's inbox. */
async function inbox(chat: ChatSystem, userId: string): Promise<readonly InboxEntry[]> {
  return (await chat.store.readInbox(userId, 0, 1000)).entries;
}

/** The changes in a user's inbox, as `kind:user:detail`. */
async function changes(chat: ChatSystem, userId: string): Promise<string[]> {
  return (await inbox(chat, userId)).flatMap((e) =>
    e.type === 'change'
      ? [`${e.change.kind}:${e.change.userId}:${e.change.text ?? e.change.emoji ?? ''}:${e.change.messageId}`]
      : [],
  );
}

async function message(chat: ChatSystem, id: string): Promise<MessageData | undefined> {
  return chat.store.getMessage(id);
}

/** A group of alice (owner), bob and carol with one message from each of alice and bob. */
async function trip() {
  const made = makeChat();
  const { chat } = made;
  const group = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
  const fromAlice = await chat.sendMessage({ from: 'alice', groupId: group.id, text: 'Lisbon in May?' });
  const fromBob = await chat.sendMessage({ from: 'bob', groupId: group.id, text: 'Count me in' });
  return { ...made, group, fromAlice, fromBob };
}

describe('reply', () => {
  test('the stored reply quotes the sender, the kind and the first 100 characters', async () => {
    const { chat } = makeChat();
    const long = 'a'.repeat(90) + '😀'.repeat(30);
    const first = await chat.sendMessage({ from: 'alice', to: 'bob', text: long });
    const reply = await chat.sendMessage({ from: 'bob', to: 'alice', text: 'Ha!', replyTo: first.id });
    const stored = await message(chat, reply.id);
    expect(stored?.replyTo).toEqual({
      messageId: first.id,
      senderId: 'alice',
      kind: 'text',
      preview: 'a'.repeat(90) + '😀'.repeat(10),
    });
    // Bob's and Alice's inbox entries carry the quote too.
    const entry = (await inbox(chat, 'alice')).find((e) => e.type === 'message' && e.message.id === reply.id);
    expect(entry).toMatchObject({ message: { replyTo: { messageId: first.id } } });
  });

  test('refusals: another thread and a deleted message are VALIDATION, an unknown message NOT_FOUND; nothing is stored', async () => {
    const { chat, group, fromAlice } = await trip();
    const dm = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'psst' });
    const before = await inbox(chat, 'bob');
    const send = (replyTo: string) =>
      chat.sendMessage({ from: 'bob', groupId: group.id, text: 'x', replyTo });

    expect(await refusal(send(dm.id))).toMatchObject({ code: 'VALIDATION', details: { field: 'replyTo' } });
    expect(await refusal(send(`${fromAlice.threadId}#99`))).toEqual({
      code: 'NOT_FOUND',
      message: `no message ${fromAlice.threadId}#99`,
      details: { messageId: `${fromAlice.threadId}#99` },
    });
    expect(await refusal(send('not-an-id'))).toMatchObject({ code: 'NOT_FOUND' });
    await chat.deleteMessage('alice', fromAlice.id, { forEveryone: true });
    const afterDelete = await inbox(chat, 'bob');
    expect(await refusal(send(fromAlice.id))).toMatchObject({
      code: 'VALIDATION',
      details: { field: 'replyTo' },
    });
    expect(await inbox(chat, 'bob')).toEqual(afterDelete);
    expect(afterDelete.length).toBe(before.length + 1); // only the delete's entry
  });

  test('a refused reply in a new direct chat leaves no thread behind', async () => {
    const { chat } = makeChat();
    const recorded: string[] = [];
    chat.notifications.on('record-changed', (e) => recorded.push(`${e.kind}:${e.id}`));
    expect(
      await refusal(chat.sendMessage({ from: 'carol', to: 'dave', text: 'hi', replyTo: 'dm:carol:dave#1' })),
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(recorded).toEqual([]);
  });
});

describe('edit', () => {
  test('the sender edits within 15 minutes; at 15 min + 1 ms it is refused and nothing changes', async () => {
    const { chat, clock } = makeChat();
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'See you at 7' });
    clock.advance(15 * MINUTE);
    const edited = await chat.editMessage('alice', m.id, 'See you at 8');
    expect(edited).toMatchObject({ text: 'See you at 8', editedAt: T0 + 15 * MINUTE, sentAt: T0 });

    const entries = await inbox(chat, 'bob');
    clock.advance(1);
    expect(await refusal(chat.editMessage('alice', m.id, 'See you at 9'))).toMatchObject({
      code: 'FORBIDDEN',
      message: 'a message can be edited only within 15 minutes of sending',
    });
    expect((await message(chat, m.id))?.text).toBe('See you at 8');
    expect(await inbox(chat, 'bob')).toEqual(entries);
  });

  test('the window is configurable', async () => {
    const clock = new ManualClock(T0);
    const chat = System.create({ clock, editWindowMs: 1_000 });
    chat.registerUser({ id: 'alice', name: 'Alice' });
    chat.registerUser({ id: 'bob', name: 'Bob' });
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hi' });
    clock.advance(1_001);
    expect(await refusal(chat.editMessage('alice', m.id, 'hello'))).toMatchObject({ code: 'FORBIDDEN' });
  });

  test('only the sender, only a text, only a valid text, not a deleted one; ticks do not reset', async () => {
    const { chat } = makeChat();
    const bob = chat.connect('bob');
    await bob.ready;
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'See you at 7' });
    await chat.markRead('bob', m.threadId, m.seq);
    expect(m.status).toBe('read');

    expect(await refusal(chat.editMessage('bob', m.id, 'mine now'))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refusal(chat.editMessage('alice', m.id, '   '))).toMatchObject({ code: 'VALIDATION' });
    expect(await refusal(chat.editMessage('alice', m.id, 'x'.repeat(4097)))).toMatchObject({
      code: 'VALIDATION',
    });
    await chat.editMessage('alice', m.id, 'See you at 8');
    expect((await chat.messageInfo('alice', m.id)).status).toBe('read');
    expect(await changes(chat, 'bob')).toEqual([`edit:alice:See you at 8:${m.id}`]);

    await chat.deleteMessage('alice', m.id, { forEveryone: true });
    expect(await refusal(chat.editMessage('alice', m.id, 'back'))).toMatchObject({ code: 'VALIDATION' });
  });

  test('a photo cannot be edited', async () => {
    const { chat } = makeChat();
    const threadId = chat.directThreadId('alice', 'bob');
    const media = {
      mediaId: 'm1',
      mimeType: 'image/png',
      bytes: 1,
      width: 1,
      height: 1,
      thumbnailId: 't1',
    } as const;
    const { message: photo } = await chat.store.appendMessage({
      threadId,
      senderId: 'alice',
      kind: 'photo',
      text: '',
      media,
      clientMessageId: 'p1',
      sentAt: T0,
      recipientIds: ['bob'],
    });
    expect(await refusal(chat.editMessage('alice', photo.id, 'a caption'))).toMatchObject({
      code: 'VALIDATION',
      message: 'only a text message can be edited',
    });
  });

  test('a retry with the same clientChangeId changes nothing more', async () => {
    const { chat } = makeChat();
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hi' });
    await chat.editMessage('alice', m.id, 'hello', { clientChangeId: 'e1' });
    const entries = await inbox(chat, 'bob');
    expect((await chat.editMessage('alice', m.id, 'hello', { clientChangeId: 'e1' })).text).toBe('hello');
    expect(await inbox(chat, 'bob')).toEqual(entries);
  });
});

describe('delete for everyone', () => {
  test('the sender within 48 hours: a tombstone everywhere, quotes of it become "deleted"', async () => {
    const { chat, clock, group, fromAlice } = await trip();
    const reply = await chat.sendMessage({
      from: 'carol',
      groupId: group.id,
      text: 'Yes!',
      replyTo: fromAlice.id,
    });
    clock.advance(48 * HOUR);
    const tombstone = await chat.deleteMessage('alice', fromAlice.id, { forEveryone: true });
    expect(tombstone).toMatchObject({ text: '', deletedAt: T0 + 48 * HOUR });
    expect(await message(chat, fromAlice.id)).toMatchObject({ text: '', deletedAt: T0 + 48 * HOUR });
    expect((await message(chat, reply.id))?.replyTo).toMatchObject({ preview: '', deleted: true });
    for (const user of ['alice', 'bob', 'carol']) {
      expect(await changes(chat, user)).toEqual([`delete:alice::${fromAlice.id}`]);
    }
  });

  test('the sender after 48 hours + 1 ms is refused; a group admin may delete any message at any time', async () => {
    const { chat, clock, fromAlice, fromBob } = await trip();
    clock.advance(48 * HOUR + 1);
    expect(await refusal(chat.deleteMessage('bob', fromBob.id, { forEveryone: true }))).toMatchObject({
      code: 'FORBIDDEN',
      message: 'a message can be deleted for everyone only within 48 hours of sending',
    });
    expect((await message(chat, fromBob.id))?.text).toBe('Count me in');
    // Alice owns the group, so she is an admin.
    await chat.deleteMessage('alice', fromBob.id, { forEveryone: true });
    await chat.deleteMessage('alice', fromAlice.id, { forEveryone: true });
    expect((await message(chat, fromBob.id))?.deletedAt).toBeDefined();
    expect((await message(chat, fromAlice.id))?.deletedAt).toBeDefined();
  });

  test("a plain member may not delete someone else's message, nor delete one twice", async () => {
    const { chat, fromAlice, fromBob } = await trip();
    const entries = await inbox(chat, 'alice');
    expect(await refusal(chat.deleteMessage('carol', fromAlice.id, { forEveryone: true }))).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await refusal(chat.deleteMessage('bob', fromAlice.id, { forEveryone: true }))).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await inbox(chat, 'alice')).toEqual(entries);
    await chat.deleteMessage('bob', fromBob.id, { forEveryone: true });
    expect(await refusal(chat.deleteMessage('bob', fromBob.id, { forEveryone: true }))).toMatchObject({
      code: 'VALIDATION',
    });
  });

  test('in a direct chat only the sender deletes for everyone', async () => {
    const { chat } = makeChat();
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'oops' });
    expect(await refusal(chat.deleteMessage('bob', m.id, { forEveryone: true }))).toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

describe('delete for me (hide)', () => {
  test("any member; only the user's own inbox hears of it, and only their history leaves it out", async () => {
    const { chat, fromAlice, fromBob } = await trip();
    const bobBefore = await inbox(chat, 'bob');
    await chat.deleteMessage('carol', fromAlice.id, { forEveryone: false });
    expect(await changes(chat, 'carol')).toEqual([`hide:carol::${fromAlice.id}`]);
    expect(await inbox(chat, 'bob')).toEqual(bobBefore);
    expect(await changes(chat, 'alice')).toEqual([]);
    const threadId = fromAlice.threadId;
    expect((await chat.history('carol', threadId)).messages.map((m) => m.id)).toEqual([fromBob.id]);
    expect((await chat.history('bob', threadId)).messages.map((m) => m.id)).toEqual([
      fromBob.id,
      fromAlice.id,
    ]);
    // The message itself is untouched.
    expect((await message(chat, fromAlice.id))?.text).toBe('Lisbon in May?');
  });
});

describe('reactions', () => {
  test('one emoji per user, replaced or taken back; any member', async () => {
    const { chat, fromAlice } = await trip();
    await chat.react('bob', fromAlice.id, '👍');
    await chat.react('carol', fromAlice.id, '👍');
    await chat.react('bob', fromAlice.id, '😂');
    expect((await message(chat, fromAlice.id))?.reactions).toEqual({ '👍': ['carol'], '😂': ['bob'] });
    const last = await chat.react('carol', fromAlice.id, null);
    expect(last.reactions).toEqual({ '😂': ['bob'] });
    expect(await changes(chat, 'alice')).toEqual([
      `reaction:bob:👍:${fromAlice.id}`,
      `reaction:carol:👍:${fromAlice.id}`,
      `reaction:bob:😂:${fromAlice.id}`,
      `reaction:carol::${fromAlice.id}`,
    ]);
  });

  test('a bad emoji is VALIDATION, a deleted message refuses reactions; neither changes anything', async () => {
    const { chat, fromAlice, fromBob } = await trip();
    const entries = await inbox(chat, 'alice');
    for (const bad of ['ok', '👍👍', '', 'x👍']) {
      expect(await refusal(chat.react('bob', fromAlice.id, bad))).toMatchObject({
        code: 'VALIDATION',
        details: { field: 'emoji' },
      });
    }
    expect(await inbox(chat, 'alice')).toEqual(entries);
    await chat.deleteMessage('bob', fromBob.id, { forEveryone: true });
    expect(await refusal(chat.react('alice', fromBob.id, '👍'))).toMatchObject({ code: 'VALIDATION' });
  });

  test('a reaction does not reorder the chat list, change unread counts or make a push', async () => {
    const { chat, push } = makeChat();
    chat.registerPushDevice('bob', 'bob-phone');
    const older = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'older chat' });
    await chat.sendMessage({ from: 'carol', to: 'bob', text: 'newer chat' });
    const feedBefore = chat.getFeed('bob').top(10);
    const pushes = push.sent.length;
    await chat.react('alice', older.id, '❤️');
    await chat.editMessage('alice', older.id, 'older chat, edited');
    await chat.deleteMessage('alice', older.id, { forEveryone: false });
    const feedAfter = chat.getFeed('bob').top(10);
    expect(feedAfter.map((e) => [e.threadId, e.unread])).toEqual(
      feedBefore.map((e) => [e.threadId, e.unread]),
    );
    expect(push.sent.length).toBe(pushes);
  });
});

describe('the chat list follows edits and deletes of the latest message', () => {
  test('an edit and a delete show in the preview, for every member', async () => {
    const { chat } = makeChat();
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'See you at 7' });
    await chat.editMessage('alice', m.id, 'See you at 8');
    expect(chat.getFeed('bob').get(m.threadId)?.preview).toBe('See you at 8');
    expect(chat.getFeed('alice').get(m.threadId)?.preview).toBe('See you at 8');
    await chat.deleteMessage('alice', m.id, { forEveryone: true });
    expect(chat.getFeed('bob').get(m.threadId)?.preview).toBe(DELETED_PREVIEW);
    expect(chat.getFeed('bob').get(m.threadId)?.unread).toBe(1);
  });
});

describe('history', () => {
  test('pages newest first with hasMore; 50 by default, at most 200', async () => {
    const { chat } = makeChat();
    const sent: string[] = [];
    for (let i = 1; i <= 120; i++) {
      sent.push((await chat.sendMessage({ from: 'alice', to: 'bob', text: `m${i}` })).id);
    }
    const threadId = chat.directThreadId('alice', 'bob');
    const first = await chat.history('bob', threadId);
    expect(first.messages.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${120 - i}`));
    expect(first.hasMore).toBe(true);
    const oldest = first.messages[first.messages.length - 1]?.seq ?? 0;
    const second = await chat.history('bob', threadId, { before: oldest, limit: 100 });
    expect(second.messages.map((m) => m.text)).toEqual(Array.from({ length: 70 }, (_, i) => `m${70 - i}`));
    expect(second.hasMore).toBe(false);
    expect(await refusal(chat.history('bob', threadId, { limit: 201 }))).toMatchObject({
      code: 'VALIDATION',
    });
    expect(await refusal(chat.history('bob', threadId, { before: 0 }))).toMatchObject({ code: 'VALIDATION' });
  });

  test('a member added later cannot page back, reply to, react to or change what came before they joined', async () => {
    const { chat, group, fromAlice, fromBob } = await trip();
    chat.addGroupMembers('alice', group.id, ['dave']);
    const welcome = await chat.sendMessage({ from: 'alice', groupId: group.id, text: 'Welcome Dave' });
    const threadId = fromAlice.threadId;
    const page = await chat.history('dave', threadId);
    expect(page).toEqual({ threadId, messages: [await message(chat, welcome.id)], hasMore: false });
    expect((await chat.history('dave', threadId, { before: welcome.seq })).messages).toEqual([]);
    // What came before answers as a message that does not exist.
    expect(await refusal(chat.react('dave', fromBob.id, '👍'))).toEqual({
      code: 'NOT_FOUND',
      message: `no message ${fromBob.id}`,
      details: { messageId: fromBob.id },
    });
    expect(
      await refusal(chat.sendMessage({ from: 'dave', groupId: group.id, text: 'x', replyTo: fromBob.id })),
    ).toMatchObject({ code: 'NOT_FOUND' });
    // Nor does a change to an earlier message reach Dave.
    await chat.react('bob', fromAlice.id, '👍');
    expect(await changes(chat, 'dave')).toEqual([]);
    expect(await changes(chat, 'carol')).toEqual([`reaction:bob:👍:${fromAlice.id}`]);
  });

  test("where a later member's history starts survives a restart", async () => {
    const clock = new ManualClock(T0);
    const store = new InMemoryMessageStore();
    const directoryStore = new InMemoryDirectoryStore();
    let n = 0;
    const first = System.create({ clock, store, directoryStore, newId: () => `g${++n}` });
    for (const id of ['alice', 'bob', 'dave']) first.registerUser({ id, name: id });
    const group = first.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob'] });
    await first.sendMessage({ from: 'alice', groupId: group.id, text: 'before Dave' });
    first.addGroupMembers('alice', group.id, ['dave']);
    await first.sendMessage({ from: 'alice', groupId: group.id, text: 'after Dave' });
    await first.close();

    const second = await System.open({ clock, store, directoryStore });
    const page = await second.history('dave', second.groupThreadId(group.id));
    expect(page.messages.map((m) => m.text)).toEqual(['after Dave']);
    expect((await second.history('bob', second.groupThreadId(group.id))).messages).toHaveLength(2);
    await second.close();
  });
});

describe('no existence oracle', () => {
  test("a stranger's edit, delete, react, history and message info answer as for a message that does not exist", async () => {
    const { chat, fromAlice } = await trip();
    const existing = fromAlice.id;
    const missing = `${fromAlice.threadId}#77`;
    const asked = (id: string) => [
      refusal(chat.editMessage('dave', id, 'mine')),
      refusal(chat.deleteMessage('dave', id, { forEveryone: true })),
      refusal(chat.deleteMessage('dave', id, { forEveryone: false })),
      refusal(chat.react('dave', id, '👍')),
      refusal(chat.messageInfo('dave', id)),
    ];
    const forExisting = await Promise.all(asked(existing));
    const forMissing = await Promise.all(asked(missing));
    for (const e of forExisting)
      expect(e).toEqual({
        code: 'NOT_FOUND',
        message: `no message ${existing}`,
        details: { messageId: existing },
      });
    expect(forMissing.map((e) => JSON.stringify(e).replaceAll(missing, existing))).toEqual(
      forExisting.map((e) => JSON.stringify(e)),
    );
    // A thread that does not exist at all answers the same way.
    const nowhere = await refusal(chat.react('dave', 'group:nope#1', '👍'));
    expect(nowhere).toEqual({
      code: 'NOT_FOUND',
      message: 'no message group:nope#1',
      details: { messageId: 'group:nope#1' },
    });
    // History of the thread answers as for a thread that does not exist.
    const history = await refusal(chat.history('dave', fromAlice.threadId));
    const noThread = await refusal(chat.history('dave', 'group:nope'));
    expect(JSON.stringify(history).replaceAll(fromAlice.threadId, 'group:nope')).toBe(
      JSON.stringify(noThread),
    );
    expect(await changes(chat, 'alice')).toEqual([]);
  });
});
