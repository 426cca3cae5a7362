import {
  ChatRoomError,
  ChatSystem,
  ConflictError,
  NotFoundError,
  PermissionError,
  StorageError,
  ValidationError,
  InMemoryMessageStore,
} from 'chat-room';
import type { NewMessage } from 'chat-room';
import { makeChat, watch } from './helpers';

describe('the seed flow: Hello Gainlo with its ticks', () => {
  test('sent when stored, delivered when Bob’s device has it, read when Bob reads it', async () => {
    const { chat } = makeChat();
    const bob = chat.connect('bob');
    const alice = chat.connect('alice');
    const bobSees = watch(bob);
    const aliceSees = watch(alice);
    await Promise.all([bob.ready, alice.ready]);

    const m = await chat.sendMessage({
      from: 'alice',
      to: 'bob',
      text: 'Hello Gainlo',
      clientMessageId: 'c1',
    });

    expect(bobSees.messages.map((x) => [x.senderId, x.text])).toEqual([['alice', 'Hello Gainlo']]);
    expect(m.status).toBe('delivered');
    expect(aliceSees.receipts).toEqual([
      expect.objectContaining({ threadId: m.threadId, status: 'delivered', upToSeq: 1 }),
    ]);

    await bob.markRead(m.threadId, m.seq);
    await chat.idle();
    expect(m.status).toBe('read');
    expect(aliceSees.receipts.map((r) => r.status)).toEqual(['delivered', 'read']);
  });

  test('a session sending through the transport gets the single check from the ack', async () => {
    const { chat } = makeChat();
    const alice = chat.connect('alice');
    const ack = await alice.send({ to: 'bob', text: 'hi', clientMessageId: 'k1' });
    expect(ack).toEqual(
      expect.objectContaining({
        clientMessageId: 'k1',
        seq: 1,
        threadId: chat.directThreadId('alice', 'bob'),
      }),
    );
  });

  test('the sender’s other devices get the message as their own, not as an incoming one', async () => {
    const { chat } = makeChat();
    const phone = chat.connect('alice', { deviceId: 'phone' });
    const laptop = chat.connect('alice', { deviceId: 'laptop' });
    const onLaptop = watch(laptop);
    await Promise.all([phone.ready, laptop.ready]);
    await phone.send({ to: 'bob', text: 'from my phone' });
    await chat.idle();
    expect(onLaptop.sent.map((m) => m.text)).toEqual(['from my phone']);
    expect(onLaptop.messages).toEqual([]);
  });

  test('the sending device shows its own message once, from the ack, and its cursor moves past it', async () => {
    const { chat, store } = makeChat();
    const phone = chat.connect('alice', { deviceId: 'phone' });
    const seen = watch(phone);
    await phone.ready;
    await phone.send({ to: 'bob', text: 'one' });
    await chat.sendMessage({ from: 'bob', to: 'alice', text: 'two' });
    await phone.send({ to: 'bob', text: 'three' });
    await chat.idle();
    expect(seen.sent.map((m) => [m.text, m.status])).toEqual([
      ['one', 'sent'],
      ['three', 'sent'],
    ]);
    expect(seen.messages.map((m) => m.text)).toEqual(['two']);
    // Bob's answer also brought Alice receipts; the device applied every entry of her inbox, without a gap.
    expect(seen.receipts.length).toBeGreaterThan(0);
    expect(phone.cursor).toBe(await store.latestInboxSeq('alice'));
  });

  test('entries that make no tick are acknowledged with the next ack that does, or after a second', async () => {
    const { chat, clock, store } = makeChat();
    const phone = chat.connect('alice', { deviceId: 'phone' });
    await phone.ready;
    const saved = () => store.getCursor('alice', 'device:phone');
    await phone.send({ to: 'bob', text: 'one' });
    await chat.idle();
    // Only the device's own message: nobody waits for a tick, so the cursor is saved a second later.
    expect(phone.cursor).toBe(1);
    expect(await saved()).toBe(0);
    clock.advance(1_000);
    await chat.idle();
    expect(await saved()).toBe(1);
    await phone.send({ to: 'bob', text: 'two' });
    const three = await chat.sendMessage({ from: 'bob', to: 'alice', text: 'three' });
    await chat.idle();
    // Bob's message is acknowledged at once (his double check), and the ack covers Alice's own message before it.
    expect(three.status).toBe('delivered');
    expect(await saved()).toBe(3);
    // A receipt waits for its ack, but not past a disconnect: the next start resumes after it.
    await phone.send({ to: 'bob', text: 'four' });
    await chat.idle();
    expect(await saved()).toBe(3);
    phone.disconnect();
    await chat.idle();
    expect(await saved()).toBe(phone.cursor);
    expect(phone.cursor).toBeGreaterThan(3);
  });
});

describe('routing by the recipient’s state', () => {
  test('online: the message arrives live; no push', async () => {
    const { chat, push } = makeChat();
    const bob = chat.connect('bob');
    const seen = watch(bob);
    await bob.ready;
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'live' });
    expect(seen.messages.map((m) => m.text)).toEqual(['live']);
    expect(push.sent).toEqual([]);
  });

  test('away: a push notification, and the message waits until the app comes to the foreground', async () => {
    const { chat, push } = makeChat();
    const bob = chat.connect('bob', { foreground: false });
    const seen = watch(bob);
    await bob.ready;
    expect(chat.presenceOf('bob')).toBe('away');

    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'are you there?' });
    expect(seen.pushes).toEqual(['Alice: are you there?']);
    expect(push.sent).toEqual([expect.objectContaining({ userId: 'bob', deviceId: 'default', badge: 1 })]);
    expect(seen.messages).toEqual([]);
    expect(m.status).toBe('sent');

    await bob.setForeground(true);
    await chat.idle();
    expect(seen.messages.map((x) => x.text)).toEqual(['are you there?']);
    expect(m.status).toBe('delivered');
  });

  test('offline: no push; the message is delivered when a session connects', async () => {
    const { chat, push } = makeChat();
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'kept for later' });
    expect(chat.presenceOf('bob')).toBe('offline');
    expect(push.sent).toEqual([]);
    expect(m.status).toBe('sent');

    const bob = chat.connect('bob');
    const seen = watch(bob);
    await bob.ready;
    await chat.idle();
    expect(seen.messages.map((x) => x.text)).toEqual(['kept for later']);
    expect(m.status).toBe('delivered');
  });

  test('a push-registered device keeps its user away for the away window after disconnecting, then offline', async () => {
    const { chat, clock, push } = makeChat({ awayWindowMs: 60_000 });
    chat.registerPushDevice('bob', 'phone');
    const bob = chat.connect('bob', { deviceId: 'phone' });
    await bob.ready;
    bob.disconnect();
    expect(chat.deliveryStateOf('bob')).toBe('away');
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'one' });
    expect(push.sent.map((p) => [p.deviceId, p.body])).toEqual([['phone', 'one']]);

    clock.advance(60_001);
    expect(chat.deliveryStateOf('bob')).toBe('offline');
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'two' });
    expect(push.sent).toHaveLength(1);
  });

  test('a muted thread sends no push until the mute ends; previews off hide the text', async () => {
    const { chat, clock, push } = makeChat();
    const bob = chat.connect('bob', { foreground: false });
    await bob.ready;
    const threadId = chat.directThreadId('alice', 'bob');
    chat.settings('bob').mute(threadId, { until: clock.now() + 3_600_000 });
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'muted' });
    expect(push.sent).toEqual([]);

    clock.advance(3_600_001);
    chat.settings('bob').setPreviews(false);
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'secret plans' });
    expect(push.sent.map((p) => p.body)).toEqual(['New message']);
  });

  test('a failing push service does not fail the send; the message still waits in the inbox', async () => {
    const store = new InMemoryMessageStore();
    const failures: unknown[] = [];
    const chat = ChatSystem.create({
      store,
      pushNotifier: {
        send: async () => {
          throw new Error('APNs unavailable');
        },
      },
    });
    chat.registerUser({ id: 'alice', name: 'Alice' });
    chat.registerUser({ id: 'bob', name: 'Bob' });
    chat.notifications.on('push-failed', (e) => failures.push(e.error));
    const bob = chat.connect('bob', { foreground: false });
    await bob.ready;
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hello' });
    expect(m.status).toBe('sent');
    expect(failures).toHaveLength(1);
    expect((await store.readInbox('bob', 0, 10)).entries).toHaveLength(1);
  });
});

describe('send: ack after storing, idempotent by clientMessageId', () => {
  test('a retried send with the same clientMessageId stores nothing new and returns the same message', async () => {
    const { chat, store } = makeChat();
    const first = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'once', clientMessageId: 'c1' });
    const retry = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'once', clientMessageId: 'c1' });
    expect(retry.id).toBe(first.id);
    expect(retry.seq).toBe(first.seq);
    expect(await store.latestInboxSeq('bob')).toBe(1);
    expect(await store.lastSeq(first.threadId)).toBe(1);
  });

  test('the same clientMessageId for a different message is a conflict and stores nothing', async () => {
    const { chat, store } = makeChat();
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'once', clientMessageId: 'c1' });
    await expect(
      chat.sendMessage({ from: 'alice', to: 'bob', text: 'other', clientMessageId: 'c1' }),
    ).rejects.toThrow(ConflictError);
    expect(await store.latestInboxSeq('bob')).toBe(1);
  });

  test('two senders may use the same clientMessageId', async () => {
    const { chat } = makeChat();
    const a = await chat.sendMessage({ from: 'alice', to: 'carol', text: 'x', clientMessageId: 'same' });
    const b = await chat.sendMessage({ from: 'bob', to: 'carol', text: 'x', clientMessageId: 'same' });
    expect(a.id).not.toBe(b.id);
  });

  /** Alice, and Bob connected, on a store that fails somehow; what Bob's session sees. */
  async function aliceAndConnectedBob(
    store: InMemoryMessageStore,
  ): Promise<{ chat: ChatSystem; seen: ReturnType<typeof watch> }> {
    const chat = ChatSystem.create({ store });
    chat.registerUser({ id: 'alice', name: 'Alice' });
    chat.registerUser({ id: 'bob', name: 'Bob' });
    const bob = chat.connect('bob');
    const seen = watch(bob);
    await bob.ready;
    return { chat, seen };
  }

  test('when the store fails the sender gets no ack and nobody gets the message', async () => {
    class FailingStore extends InMemoryMessageStore {
      override async appendMessage(_m: NewMessage): Promise<never> {
        throw new StorageError('disk full');
      }
    }
    const { chat, seen } = await aliceAndConnectedBob(new FailingStore());
    await expect(chat.sendMessage({ from: 'alice', to: 'bob', text: 'lost?' })).rejects.toMatchObject({
      code: 'STORAGE',
    });
    await chat.idle();
    expect(seen.messages).toEqual([]);
    expect(chat.getFeed('bob').size).toBe(0);
  });

  test('a store that throws at once on a watermark save still lets the stored message reach its recipient', async () => {
    class BrokenWatermarks extends InMemoryMessageStore {
      // Not async: the throw happens in the call itself, not in a promise it returns.
      override saveWatermark(): Promise<void> {
        throw new StorageError('watermarks unavailable');
      }
    }
    const { chat, seen } = await aliceAndConnectedBob(new BrokenWatermarks());
    // The send reports the failed write, but the message was stored first, so it is routed all the same.
    await expect(chat.sendMessage({ from: 'alice', to: 'bob', text: 'still here' })).rejects.toMatchObject({
      code: 'STORAGE',
    });
    await chat.idle();
    expect(seen.messages.map((m) => m.text)).toEqual(['still here']);
  });
});

describe('bad input gets a typed error with a stable code and changes nothing', () => {
  const cases: [
    string,
    (c: ChatSystem, groupId: string) => unknown,
    new (...a: never[]) => ChatRoomError,
    string,
  ][] = [
    [
      'unknown sender',
      (c) => c.sendMessage({ from: 'nobody', to: 'bob', text: 'hi' }),
      NotFoundError,
      'NOT_FOUND',
    ],
    [
      'unknown recipient',
      (c) => c.sendMessage({ from: 'alice', to: 'nobody', text: 'hi' }),
      NotFoundError,
      'NOT_FOUND',
    ],
    [
      'empty text',
      (c) => c.sendMessage({ from: 'alice', to: 'bob', text: '' }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'blank text',
      (c) => c.sendMessage({ from: 'alice', to: 'bob', text: '  \n ' }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'oversized text',
      (c) => c.sendMessage({ from: 'alice', to: 'bob', text: 'x'.repeat(4097) }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'text with half of a surrogate pair',
      (c) => c.sendMessage({ from: 'alice', to: 'bob', text: 'smile \uD83D' }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'text not a string',
      (c) => c.sendMessage({ from: 'alice', to: 'bob', text: 42 as never }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'both to and groupId',
      (c, g) => c.sendMessage({ from: 'alice', to: 'bob', groupId: g, text: 'hi' }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'neither to nor groupId',
      (c) => c.sendMessage({ from: 'alice', text: 'hi' }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'to oneself',
      (c) => c.sendMessage({ from: 'alice', to: 'alice', text: 'hi' }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'a group one is not in',
      (c, g) => c.sendMessage({ from: 'dave', groupId: g, text: 'hi' }),
      NotFoundError,
      'NOT_FOUND',
    ],
    [
      'an unknown group',
      (c) => c.sendMessage({ from: 'alice', groupId: 'nope', text: 'hi' }),
      NotFoundError,
      'NOT_FOUND',
    ],
    [
      'someone who blocked you',
      (c) => c.sendMessage({ from: 'carol', to: 'bob', text: 'hi' }),
      PermissionError,
      'FORBIDDEN',
    ],
    [
      'someone you blocked',
      (c) => c.sendMessage({ from: 'bob', to: 'carol', text: 'hi' }),
      PermissionError,
      'FORBIDDEN',
    ],
    [
      'a malformed clientMessageId',
      (c) => c.sendMessage({ from: 'alice', to: 'bob', text: 'hi', clientMessageId: '' }),
      ValidationError,
      'VALIDATION',
    ],
    [
      'a duplicate user id',
      (c) => c.registerUser({ id: 'alice', name: 'Another Alice' }),
      ConflictError,
      'CONFLICT',
    ],
    [
      'a malformed user id',
      (c) => c.registerUser({ id: 'no spaces', name: 'X' }),
      ValidationError,
      'VALIDATION',
    ],
    ['connecting an unknown user', (c) => c.connect('nobody'), NotFoundError, 'NOT_FOUND'],
    [
      'a group with an unknown member',
      (c) => c.createGroup({ ownerId: 'alice', name: 'G', memberIds: ['nobody'] }),
      NotFoundError,
      'NOT_FOUND',
    ],
    [
      'a non-admin adding members',
      (c, g) => c.addGroupMembers('bob', g, ['dave']),
      PermissionError,
      'FORBIDDEN',
    ],
    [
      'reading beyond the newest message',
      (c) => c.markRead('bob', c.directThreadId('alice', 'bob'), 99),
      ValidationError,
      'VALIDATION',
    ],
    [
      'reading a thread one is not in',
      (c) => c.markRead('dave', c.directThreadId('alice', 'bob'), 1),
      NotFoundError,
      'NOT_FOUND',
    ],
  ];

  test.each(cases)('%s', async (_name, act, type, code) => {
    const { chat, store, push } = makeChat();
    const g = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
    chat.block('bob', 'carol');
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'before' });
    const before = {
      bob: await store.latestInboxSeq('bob'),
      alice: await store.latestInboxSeq('alice'),
      carol: await store.latestInboxSeq('carol'),
      dave: await store.latestInboxSeq('dave'),
      feed: chat.getFeed('bob').top(10),
      group: chat.getGroup(g.id).toJSON(),
    };

    let error: unknown;
    try {
      await act(chat, g.id);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(type);
    expect(ChatRoomError.is(error) && error.code).toBe(code);
    expect({
      bob: await store.latestInboxSeq('bob'),
      alice: await store.latestInboxSeq('alice'),
      carol: await store.latestInboxSeq('carol'),
      dave: await store.latestInboxSeq('dave'),
      feed: chat.getFeed('bob').top(10),
      group: chat.getGroup(g.id).toJSON(),
    }).toEqual(before);
    expect(push.sent).toEqual([]);
  });
});

describe('inbox and cursor', () => {
  test('sync returns everything after a cursor in pages, in order, with hasMore', async () => {
    const { chat } = makeChat();
    for (let i = 1; i <= 250; i++) await chat.sendMessage({ from: 'alice', to: 'bob', text: `m${i}` });
    const bob = chat.connect('bob', { autoDelivered: false, cursor: 0, foreground: false });
    await bob.ready;
    const texts: string[] = [];
    let after = 0;
    let pages = 0;
    for (;;) {
      const page = await bob.sync({ after, limit: 100 });
      pages++;
      texts.push(...page.messages.map((m) => m.text));
      after = page.cursor;
      if (!page.hasMore) break;
    }
    expect(pages).toBe(3);
    expect(texts).toEqual(Array.from({ length: 250 }, (_, i) => `m${i + 1}`));
  });

  test('a device resumes from its saved cursor: a reconnect shows nothing twice', async () => {
    const { chat } = makeChat();
    const first = chat.connect('bob');
    const seenFirst = watch(first);
    await first.ready;
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'one' });
    first.disconnect();
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'two' });
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'three' });

    const again = chat.connect('bob');
    const seenAgain = watch(again);
    await again.ready;
    await chat.idle();
    expect(seenFirst.messages.map((m) => m.text)).toEqual(['one']);
    expect(seenAgain.messages.map((m) => m.text)).toEqual(['two', 'three']);
  });

  test('a new device of the same user gets the whole inbox', async () => {
    const { chat } = makeChat();
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'one' });
    const phone = chat.connect('bob', { deviceId: 'phone' });
    await phone.ready;
    const tablet = chat.connect('bob', { deviceId: 'tablet' });
    const seen = watch(tablet);
    await tablet.ready;
    expect(seen.messages.map((m) => m.text)).toEqual(['one']);
  });

  test('a cursor older than the inbox keeps gets RESYNC_REQUIRED, never a silent gap', async () => {
    const { chat } = makeChat({ maxInboxEntries: 5 });
    for (let i = 1; i <= 12; i++) await chat.sendMessage({ from: 'alice', to: 'bob', text: `m${i}` });
    const bob = chat.connect('bob', { foreground: false, autoDelivered: false });
    await bob.ready;
    await expect(bob.sync({ after: 0 })).rejects.toMatchObject({ code: 'RESYNC_REQUIRED' });

    const fresh = chat.connect('bob', { deviceId: 'fresh' });
    const resyncs: string[] = [];
    fresh.on('resync-required', (e) => resyncs.push(e.code));
    const seen = watch(fresh);
    await fresh.ready;
    expect(resyncs).toEqual(['RESYNC_REQUIRED']);
    expect(seen.messages.map((m) => m.text)).toEqual(['m8', 'm9', 'm10', 'm11', 'm12']);
  });
});

describe('receipts', () => {
  test('are monotonic and idempotent: reading less, or again, changes nothing', async () => {
    const { chat } = makeChat();
    const alice = chat.connect('alice');
    const seen = watch(alice);
    const bob = chat.connect('bob');
    await Promise.all([alice.ready, bob.ready]);
    const m1 = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'one' });
    const m2 = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'two' });
    await bob.markRead(m1.threadId, 2);
    await bob.markRead(m1.threadId, 1);
    await bob.markRead(m1.threadId, 2);
    await chat.idle();
    expect([m1.status, m2.status]).toEqual(['read', 'read']);
    expect(seen.receipts.filter((r) => r.status === 'read').map((r) => r.upToSeq)).toEqual([2]);
  });

  test('read implies delivered, even for a device that never acknowledged delivery', async () => {
    const { chat } = makeChat();
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'seen elsewhere' });
    await chat.markRead('bob', m.threadId, 1);
    expect(m.status).toBe('read');
  });

  test('turning read receipts off stops them both ways in direct chats', async () => {
    const { chat } = makeChat();
    chat.settings('bob').setReadReceipts(false);
    const toBob = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'did you read this?' });
    const toAlice = await chat.sendMessage({ from: 'bob', to: 'alice', text: 'and you, this?' });
    await chat.markRead('bob', toBob.threadId, 2);
    await chat.markRead('alice', toBob.threadId, 2);
    expect(toBob.status).toBe('delivered');
    expect(toAlice.status).toBe('delivered');
    const info = await chat.messageInfo('alice', toBob.id);
    expect(info.members).toEqual([expect.objectContaining({ userId: 'bob', delivered: true, read: false })]);

    chat.settings('bob').setReadReceipts(true);
    const later = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'now?' });
    await chat.markRead('bob', later.threadId, later.seq);
    expect(later.status).toBe('read');
  });
});

describe('groups', () => {
  test('a message is delivered and read only when every member has it, with per-member detail', async () => {
    const { chat } = makeChat();
    const g = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
    const bob = chat.connect('bob');
    await bob.ready;
    const m = await chat.sendMessage({ from: 'alice', groupId: g.id, text: 'hi all' });
    expect(m.status).toBe('sent');
    let info = await chat.messageInfo('alice', m.id);
    expect(info.members.map((x) => [x.userId, x.delivered, x.read])).toEqual([
      ['bob', true, false],
      ['carol', false, false],
    ]);

    const carol = chat.connect('carol');
    await carol.ready;
    await chat.idle();
    expect(m.status).toBe('delivered');

    await chat.markRead('bob', m.threadId, m.seq);
    expect(m.status).toBe('delivered');
    await chat.markRead('carol', m.threadId, m.seq);
    expect(m.status).toBe('read');
    info = await chat.messageInfo('alice', m.id);
    expect(info.members.every((x) => x.read)).toBe(true);
    await expect(chat.messageInfo('bob', m.id)).rejects.toBeInstanceOf(PermissionError);
  });

  test('a member added later does not hold up the ticks; one who leaves stops holding them up', async () => {
    const { chat } = makeChat();
    const g = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
    const m = await chat.sendMessage({ from: 'alice', groupId: g.id, text: 'hi all' });
    chat.addGroupMembers('alice', g.id, ['dave']);
    await chat.markRead('bob', m.threadId, 1);
    expect(m.status).toBe('sent');
    chat.leaveGroup('carol', g.id);
    await chat.idle();
    expect(m.status).toBe('read');
  });

  test('every member gets a group message exactly once; a removed member gets no more', async () => {
    const { chat } = makeChat();
    const g = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
    const bob = chat.connect('bob');
    const carol = chat.connect('carol');
    const [b, c] = [watch(bob), watch(carol)];
    await Promise.all([bob.ready, carol.ready]);
    await chat.sendMessage({ from: 'alice', groupId: g.id, text: 'one' });
    chat.removeGroupMember('alice', g.id, 'carol');
    await chat.sendMessage({ from: 'bob', groupId: g.id, text: 'two' });
    await chat.idle();
    expect(b.messages.map((m) => m.text)).toEqual(['one']);
    expect(b.sent.map((m) => m.text)).toEqual(['two']);
    expect(c.messages.map((m) => m.text)).toEqual(['one']);
    await expect(
      chat.sendMessage({ from: 'carol', groupId: g.id, text: 'let me back' }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('the chat feed', () => {
  test('threads by latest activity with unread counts; reading clears them; pinned first', async () => {
    const { chat, clock } = makeChat();
    const g = chat.createGroup({ ownerId: 'carol', name: 'Trip', memberIds: ['bob'] });
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'a1' });
    clock.advance(1000);
    await chat.sendMessage({ from: 'carol', groupId: g.id, text: 'g1' });
    clock.advance(1000);
    await chat.sendMessage({ from: 'carol', groupId: g.id, text: 'g2' });
    const feed = chat.getFeed('bob');
    expect(feed.top(10).map((e) => [e.title, e.unread, e.preview])).toEqual([
      ['Trip', 2, 'g2'],
      ['Alice', 1, 'a1'],
    ]);
    await chat.markRead('bob', chat.groupThreadId(g.id), 2);
    expect(feed.totalUnread()).toBe(1);
    feed.pin(chat.directThreadId('alice', 'bob'));
    expect(feed.top(1).map((e) => e.title)).toEqual(['Alice']);
  });
});

describe('frames from a device', () => {
  test('the sender is the connection’s user: a `from` in the frame is ignored', async () => {
    const { chat, store } = makeChat();
    const received: unknown[] = [];
    const link = chat.transport.open(
      { userId: 'carol', deviceId: 'raw', foreground: true },
      { received: (f) => received.push(f), closed: () => undefined },
    );
    link.send({
      type: 'send',
      ref: 'r1',
      clientMessageId: 'x1',
      to: 'bob',
      text: 'I am alice',
      from: 'alice',
    } as never);
    await chat.idle();
    const page = await store.readInbox('bob', 0, 10);
    expect(page.entries.map((e) => e.type === 'message' && e.message.senderId)).toEqual(['carol']);
  });

  test('a malformed frame gets an error frame and the connection stays usable', async () => {
    const { chat } = makeChat();
    const received: { type: string; code?: string; ref?: string }[] = [];
    const link = chat.transport.open(
      { userId: 'carol', deviceId: 'raw', foreground: true },
      { received: (f) => received.push(f as never), closed: () => undefined },
    );
    link.send({ type: 'teleport', ref: 'r1' } as never);
    link.send({ type: 'sync', ref: 'r2', after: -1 } as never);
    link.send({ type: 'send', ref: 'r3', clientMessageId: 'ok', to: 'bob', text: 'still here' });
    await chat.idle();
    expect(
      received
        .filter((f) => f.type === 'error' || f.type === 'ack')
        .map((f) => [f.type, f.code ?? null, f.ref]),
    ).toEqual([
      ['error', 'VALIDATION', 'r1'],
      ['error', 'VALIDATION', 'r2'],
      ['ack', null, 'r3'],
    ]);
    expect(link.open).toBe(true);
  });
});

describe('the app-facing API', () => {
  test('markRead then disconnect at once: the read still counts, and nothing is left unhandled', async () => {
    const { chat } = makeChat();
    const bob = chat.connect('bob');
    await bob.ready;
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'Hello Gainlo' });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      void bob.markRead(m.threadId, m.seq);
      bob.disconnect();
      await chat.idle();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(m.status).toBe('read');
    expect(unhandled).toEqual([]);
    expect(chat.presenceOf('bob')).toBe('offline');
  });

  test('getInstance() is one system for the app; create() makes isolated ones', async () => {
    const a = ChatSystem.getInstance();
    expect(ChatSystem.getInstance()).toBe(a);
    a.registerUser({ id: 'solo', name: 'Solo' });
    expect(() => ChatSystem.create().getUser('solo')).toThrow(NotFoundError);
    await ChatSystem.resetInstance();
    expect(ChatSystem.getInstance()).not.toBe(a);
    await ChatSystem.resetInstance();
  });

  test('a received message names its sender as in a send', async () => {
    const { chat } = makeChat();
    const bob = chat.connect('bob');
    const seen = watch(bob);
    await bob.ready;
    await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hi' });
    expect(seen.messages.map((m) => [m.from, m.senderId, m.kind, m.status])).toEqual([
      ['alice', 'alice', 'text', 'delivered'],
    ]);
  });
});

describe('presence events', () => {
  test('a user away on a push device becomes offline when the away window ends, and it is announced', async () => {
    const { chat, clock } = makeChat({ awayWindowMs: 60_000 });
    const states: string[] = [];
    chat.notifications.on('presence', (e) => states.push(`${e.userId}:${e.state}`));
    chat.registerPushDevice('bob', 'phone');
    const bob = chat.connect('bob', { deviceId: 'phone' });
    await bob.ready;
    bob.disconnect();
    clock.advance(60_001);
    expect(states).toEqual(['bob:away', 'bob:online', 'bob:away', 'bob:offline']);
  });
});
