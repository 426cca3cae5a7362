import sharp from 'sharp';
import type { ServerFrame } from 'chat-room';
import { ChatSystem, PermissionError } from 'chat-room';
import { SharpImageProcessor } from 'chat-room/sharp';
import { makeChat } from './helpers';

/** A raw device on the in-memory transport: what it sends and what it hears, frame by frame. */
function rawDevice(chat: ChatSystem, userId: string, deviceId = `${userId}-raw`) {
  const heard: ServerFrame[] = [];
  const link = chat.transport.open(
    { userId, deviceId, foreground: true },
    { received: (f) => heard.push(f), closed: () => undefined },
  );
  const answer = async (frame: Record<string, unknown>): Promise<ServerFrame | undefined> => {
    link.send(frame as never);
    await chat.idle();
    return heard.find((f) => 'ref' in f && f.ref === frame.ref);
  };
  return { link, heard, answer };
}

describe('the protocol frames beyond messaging', () => {
  test('ping → pong', async () => {
    const { chat } = makeChat();
    expect(await rawDevice(chat, 'alice').answer({ type: 'ping', ref: 'p1' })).toEqual({
      type: 'pong',
      ref: 'p1',
    });
  });

  test('a send: the sending connection hears its ack, carrying its own inbox entry, and no echo of it', async () => {
    const { chat } = makeChat();
    const phone = rawDevice(chat, 'alice', 'phone');
    const laptop = rawDevice(chat, 'alice', 'laptop');
    const bob = rawDevice(chat, 'bob');
    const ack = await phone.answer({ type: 'send', ref: 's1', clientMessageId: 'k1', to: 'bob', text: 'hi' });
    expect(ack).toMatchObject({ type: 'ack', clientMessageId: 'k1', seq: 1, inboxSeq: 1 });
    const entries = (heard: ServerFrame[]) =>
      heard.flatMap((f) => (f.type === 'entry' && f.entry.type === 'message' ? [f.entry] : []));
    expect(entries(phone.heard)).toEqual([]);
    // The user's other device and the recipient get the entry; the sender's own is the one the ack names.
    expect(entries(laptop.heard)).toMatchObject([
      { inboxSeq: 1, message: { text: 'hi', senderId: 'alice' } },
    ]);
    expect(entries(bob.heard)).toMatchObject([{ inboxSeq: 1, message: { text: 'hi', senderId: 'alice' } }]);
    // A retry is acked again, without an entry to stand for: the device finds it in its inbox.
    const retried = await phone.answer({
      type: 'send',
      ref: 's2',
      clientMessageId: 'k1',
      to: 'bob',
      text: 'hi',
    });
    expect(retried).toMatchObject({ type: 'ack', seq: 1 });
    expect(retried).not.toHaveProperty('inboxSeq');
    expect(await phone.answer({ type: 'sync', ref: 'y1', after: 0 })).toMatchObject({
      entries: [{ inboxSeq: 1, message: { text: 'hi' } }],
    });
  });

  test('groups: create, add, promote, leave — each answered with the group as it is now', async () => {
    const { chat } = makeChat();
    const alice = rawDevice(chat, 'alice');
    const created = await alice.answer({ type: 'group.create', ref: 'g1', name: 'Trip', memberIds: ['bob'] });
    expect(created).toMatchObject({
      type: 'group',
      group: { name: 'Trip', ownerId: 'alice', memberIds: ['alice', 'bob'] },
    });
    const groupId = (created as { group: { id: string } }).group.id;
    expect(await alice.answer({ type: 'group.add', ref: 'g2', groupId, userIds: ['carol'] })).toMatchObject({
      group: { memberIds: ['alice', 'bob', 'carol'] },
    });
    expect(await alice.answer({ type: 'group.promote', ref: 'g3', groupId, userId: 'bob' })).toMatchObject({
      group: { adminIds: ['alice', 'bob'] },
    });
    const bob = rawDevice(chat, 'bob');
    expect(await bob.answer({ type: 'group.remove', ref: 'g4', groupId, userId: 'alice' })).toMatchObject({
      type: 'error',
      code: 'FORBIDDEN',
    });
    expect(await alice.answer({ type: 'group.leave', ref: 'g5', groupId })).toMatchObject({
      group: { ownerId: 'bob', memberIds: ['bob', 'carol'] },
    });
  });

  test('typing reaches the other members of the thread, not the typist', async () => {
    const { chat } = makeChat();
    const alice = rawDevice(chat, 'alice');
    const bob = rawDevice(chat, 'bob');
    await alice.answer({
      type: 'typing',
      ref: 't1',
      threadId: chat.directThreadId('alice', 'bob'),
      typing: true,
    });
    expect(bob.heard.filter((f) => f.type === 'typing')).toEqual([
      { type: 'typing', threadId: 'dm:alice:bob', userId: 'alice', typing: true },
    ]);
    expect(alice.heard.filter((f) => f.type === 'typing')).toEqual([]);
    // A stranger is told the thread does not exist, whether or not it does.
    const carol = rawDevice(chat, 'carol');
    const existing = await carol.answer({
      type: 'typing',
      ref: 't2',
      threadId: 'dm:alice:bob',
      typing: true,
    });
    const unused = await carol.answer({ type: 'typing', ref: 't3', threadId: 'dm:alice:dave', typing: true });
    expect(existing).toEqual({
      type: 'error',
      ref: 't2',
      code: 'NOT_FOUND',
      message: 'no thread dm:alice:bob',
      details: { threadId: 'dm:alice:bob' },
    });
    expect(unused).toMatchObject({ code: 'NOT_FOUND', message: 'no thread dm:alice:dave' });
    expect(bob.heard.filter((f) => f.type === 'typing')).toHaveLength(1);
  });

  test('contacts, settings and the feed', async () => {
    const { chat } = makeChat();
    const alice = rawDevice(chat, 'alice');
    expect(await alice.answer({ type: 'contacts.add', ref: 'c1', userId: 'bob' })).toEqual({
      type: 'ok',
      ref: 'c1',
    });
    expect(await alice.answer({ type: 'contacts.search', ref: 'c2', query: 'BOB' })).toMatchObject({
      results: [{ id: 'bob', name: 'Bob', rank: 'exact' }],
    });
    expect(await alice.answer({ type: 'settings.set', ref: 's1', lastSeen: 'nobody' })).toMatchObject({
      settings: { lastSeen: 'nobody', readReceipts: true, discoverable: false },
    });
    expect(chat.settings('alice').lastSeen).toBe('nobody');
    expect(await alice.answer({ type: 'settings.set', ref: 's2', discoverable: true })).toMatchObject({
      settings: { lastSeen: 'nobody', discoverable: true },
    });
    expect(chat.settings('alice').discoverable).toBe(true);
    expect(await alice.answer({ type: 'settings.get', ref: 's3' })).toMatchObject({
      settings: { discoverable: true },
    });
    await chat.sendMessage({ from: 'bob', to: 'alice', text: 'hi' });
    expect(await alice.answer({ type: 'feed.top', ref: 'f1', limit: 5 })).toMatchObject({
      entries: [{ title: 'Bob', unread: 1, preview: 'hi' }],
    });
  });

  test('a malformed frame is refused with the field at fault and changes nothing', async () => {
    const { chat } = makeChat();
    const alice = rawDevice(chat, 'alice');
    expect(await alice.answer({ type: 'group.add', ref: 'x1', groupId: 'g', userIds: 'bob' })).toMatchObject({
      type: 'error',
      code: 'VALIDATION',
      details: { field: 'userIds' },
    });
    expect(await alice.answer({ type: 'settings.set', ref: 'x2', lastSeen: 'martians' })).toMatchObject({
      code: 'VALIDATION',
    });
    expect(chat.settings('alice').lastSeen).toBe('everyone');
    // A change with another one riding along is refused whole: neither is applied.
    expect(
      await alice.answer({ type: 'settings.set', ref: 'x3', discoverable: true, previews: false }),
    ).toMatchObject({ code: 'VALIDATION' });
    expect(await alice.answer({ type: 'settings.set', ref: 'x4', discoverable: 'yes' })).toMatchObject({
      code: 'VALIDATION',
      details: { field: 'discoverable' },
    });
    expect(chat.settings('alice')).toMatchObject({ discoverable: false, previews: true });
  });
});

describe('a photo uploaded first, then sent by reference', () => {
  test('only the uploader may send it; the message carries the stored facts; then members may fetch it', async () => {
    const chat = ChatSystem.create({ imageProcessor: new SharpImageProcessor() });
    for (const id of ['alice', 'bob', 'carol']) chat.registerUser({ id, name: id });
    const jpeg = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#08f' } })
      .jpeg()
      .toBuffer();
    const info = await chat.uploadMedia('alice', jpeg, 'image/jpeg');
    await expect(chat.getMedia('bob', info.mediaId)).rejects.toBeInstanceOf(PermissionError);

    const carol = rawDevice(chat, 'carol');
    const stolen = {
      mediaId: info.mediaId,
      mimeType: 'image/jpeg',
      bytes: 1,
      width: 1,
      height: 1,
      thumbnailId: 'x',
    };
    expect(
      await carol.answer({
        type: 'send',
        ref: 's0',
        clientMessageId: 'c0',
        to: 'bob',
        kind: 'photo',
        media: stolen,
      }),
    ).toMatchObject({ type: 'error', code: 'FORBIDDEN' });

    const alice = rawDevice(chat, 'alice');
    const lies = { ...stolen, thumbnailId: info.thumbnailId, width: 9999 };
    expect(
      await alice.answer({
        type: 'send',
        ref: 's1',
        clientMessageId: 'c1',
        to: 'bob',
        kind: 'photo',
        media: lies,
      }),
    ).toMatchObject({ type: 'ack' });
    const page = await chat.store.readInbox('bob', 0, 10);
    const sent = page.entries.map((e) => (e.type === 'message' ? e.message.media : undefined));
    expect(sent).toEqual([expect.objectContaining({ mediaId: info.mediaId, width: 40, height: 30 })]);
    await expect(chat.getMedia('bob', info.mediaId)).resolves.toMatchObject({ info: { width: 40 } });
  });
});
