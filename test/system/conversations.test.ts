/**
 * Replies, edits, deletes and reactions as devices see them (`ChatSession`, `ChatWindow` over the in-memory
 * transport): changes arrive as inbox entries, live to foreground devices (the actor's too) and on sync to the
 * others, each exactly once and in inbox order; a hide reaches only its user's devices; nothing makes a push.
 */
import type { ChatSession, MessageChange } from 'chat-room';
import {
  ChatSystem,
  DELETED_PREVIEW,
  InMemoryPushNotifier,
  InMemoryTransport,
  ManualClock,
  seededRandom,
} from 'chat-room';
import { T0 } from './helpers';

function makeChat() {
  const clock = new ManualClock(T0);
  const transport = new InMemoryTransport({ clock });
  const push = new InMemoryPushNotifier();
  let n = 0;
  const chat = ChatSystem.create({ clock, transport, pushNotifier: push, newId: () => `g${++n}` });
  for (const id of ['alice', 'bob', 'carol', 'dave'])
    chat.registerUser({ id, name: id[0]!.toUpperCase() + id.slice(1) });
  return { chat, clock, transport, push };
}

/** Each change a session applies, as `kind:user:detail@messageId`. */
function changesOf(session: ChatSession): string[] {
  const seen: string[] = [];
  session.on('change', (c) => seen.push(label(c)));
  return seen;
}

function label(c: MessageChange): string {
  const detail = c.kind === 'edit' ? c.text : c.kind === 'reaction' ? String(c.emoji) : '';
  return `${c.kind}:${c.userId}:${detail}@${c.messageId}`;
}

describe('changes travel as inbox entries', () => {
  test('an offline device that syncs afterwards gets the edits, the delete and the reactions exactly once and in order', async () => {
    const { chat, transport } = makeChat();
    const group = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
    const bobPhone = chat.connect('bob', { deviceId: 'phone' });
    await bobPhone.ready;
    const m1 = await chat.sendMessage({ from: 'alice', groupId: group.id, text: 'Lisbon in May?' });
    const m2 = await chat.sendMessage({ from: 'carol', groupId: group.id, text: 'Porto too' });
    await chat.idle();
    bobPhone.disconnect();

    await chat.editMessage('alice', m1.id, 'Lisbon in June?');
    await chat.react('carol', m1.id, '👍');
    await chat.react('alice', m2.id, '❤️');
    await chat.react('carol', m1.id, '😮');
    await chat.sendMessage({ from: 'carol', groupId: group.id, text: 'or both' });
    await chat.deleteMessage('alice', m1.id, { forEveryone: true });
    await chat.deleteMessage('carol', m2.id, { forEveryone: false }); // Carol's alone: Bob never hears of it
    await chat.react('carol', m1.id, '👍').catch(() => undefined); // refused: deleted, so no entry

    // Every frame now arrives twice: the device still applies each entry once.
    transport.setFaults({ random: seededRandom(7), duplicate: 1 });
    const again = chat.connect('bob', { deviceId: 'phone' });
    const applied = changesOf(again);
    const shown: string[] = [];
    again.on('message', (m) => shown.push(m.text));
    await again.ready;
    await chat.idle();

    expect(applied).toEqual([
      // The delete erased the edit's text too: a tombstone leaves no words behind, even in old entries.
      `edit:alice:@${m1.id}`,
      `reaction:carol:👍@${m1.id}`,
      `reaction:alice:❤️@${m2.id}`,
      `reaction:carol:😮@${m1.id}`,
      `delete:alice:@${m1.id}`,
    ]);
    expect(shown).toEqual(['or both']);
    // The same order as Bob's inbox, which is the order they happened in.
    const inbox = (await chat.store.readInbox('bob', 0, 100)).entries;
    expect(inbox.flatMap((e) => (e.type === 'change' ? [label(e.change)] : []))).toEqual(applied);

    // Resuming again from the saved cursor applies nothing twice.
    again.disconnect();
    transport.setFaults(undefined);
    const third = chat.connect('bob', { deviceId: 'phone' });
    const none = changesOf(third);
    await third.ready;
    await chat.idle();
    expect(none).toEqual([]);
    expect(third.cursor).toBe(again.cursor);
  });

  test("every foreground device hears a change live, the actor's own devices included", async () => {
    const { chat } = makeChat();
    const phone = chat.connect('alice', { deviceId: 'phone' });
    const laptop = chat.connect('alice', { deviceId: 'laptop' });
    const bob = chat.connect('bob');
    await Promise.all([phone.ready, laptop.ready, bob.ready]);
    const [onPhone, onLaptop, onBob] = [changesOf(phone), changesOf(laptop), changesOf(bob)];

    const ack = await phone.send({ to: 'bob', text: 'See you at 7' });
    await phone.edit(ack.messageId, 'See you at 8');
    // `edit` resolves once the server applied it; its entry came before the answer.
    expect(onPhone).toEqual([`edit:alice:See you at 8@${ack.messageId}`]);
    await bob.react(ack.messageId, '👍');
    await chat.idle();
    const expected = [`edit:alice:See you at 8@${ack.messageId}`, `reaction:bob:👍@${ack.messageId}`];
    expect(onPhone).toEqual(expected);
    expect(onLaptop).toEqual(expected);
    expect(onBob).toEqual(expected);
  });

  test("a hide reaches all the user's devices and no one else's; history leaves it out on each of them", async () => {
    const { chat } = makeChat();
    const phone = chat.connect('bob', { deviceId: 'phone' });
    const tablet = chat.connect('bob', { deviceId: 'tablet', foreground: false });
    const alice = chat.connect('alice');
    await Promise.all([phone.ready, tablet.ready, alice.ready]);
    const [onPhone, onAlice] = [changesOf(phone), changesOf(alice)];
    const m1 = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'first' });
    const m2 = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'second' });

    await phone.deleteMessage(m1.id, { forEveryone: false });
    await chat.idle();
    expect(onPhone).toEqual([`hide:bob:@${m1.id}`]);
    expect(onAlice).toEqual([]);
    // The tablet was in the background: it gets the entry when it comes back.
    const onTablet = changesOf(tablet);
    await tablet.setForeground(true);
    await chat.idle();
    expect(onTablet).toEqual([`hide:bob:@${m1.id}`]);

    for (const device of [phone, tablet]) {
      expect((await device.history(m1.threadId)).messages.map((m) => m.text)).toEqual(['second']);
    }
    expect((await alice.history(m1.threadId)).messages.map((m) => m.text)).toEqual(['second', 'first']);
    expect(m2.text).toBe('second');
  });

  test('no change makes a push notification', async () => {
    const { chat, push } = makeChat();
    chat.registerPushDevice('bob', 'bob-phone');
    const bob = chat.connect('bob', { deviceId: 'bob-phone', foreground: false });
    const pushed: string[] = [];
    bob.on('push', (n) => pushed.push(n.body));
    await bob.ready;
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hello' });
    expect(pushed).toEqual(['hello']);
    await chat.editMessage('alice', m.id, 'hello there');
    await chat.react('alice', m.id, '👋');
    await chat.deleteMessage('alice', m.id, { forEveryone: true });
    expect(pushed).toEqual(['hello']);
    expect(push.sent).toHaveLength(1);
    expect(chat.getFeed('bob').get(m.threadId)?.preview).toBe(DELETED_PREVIEW);
  });
});

describe('ChatWindow', () => {
  test('shows the edited text, reactions, tombstones and deleted quotes, and leaves out hidden messages', async () => {
    const { chat } = makeChat();
    const alice = chat.connect('alice');
    const bob = chat.connect('bob');
    await Promise.all([alice.ready, bob.ready]);
    const threadId = chat.directThreadId('alice', 'bob');
    const window = bob.openWindow(threadId);
    const events: string[] = [];
    window.on('change', (c, m) => events.push(`${c.kind}:${m === undefined ? '-' : m.text}`));

    const plan = await alice.send({ to: 'bob', text: 'See you at 7' });
    const joke = await alice.send({ to: 'bob', text: 'a joke' });
    const reply = await bob.send({ to: 'alice', text: 'ok!', replyTo: plan.messageId });
    await chat.idle();
    expect(window.messages.map((m) => m.text)).toEqual(['See you at 7', 'a joke', 'ok!']);
    // The reply shown from the ack carries its quote, as the stored message does.
    expect(window.messages[2]?.replyTo).toEqual({
      messageId: plan.messageId,
      senderId: 'alice',
      kind: 'text',
      preview: 'See you at 7',
    });

    await alice.edit(plan.messageId, 'See you at 8');
    await bob.react(plan.messageId, '👍');
    await bob.deleteMessage(joke.messageId, { forEveryone: false });
    await chat.idle();
    expect(window.messages.map((m) => [m.text, m.editedAt !== undefined, m.reactions ?? {}])).toEqual([
      ['See you at 8', true, { '👍': ['bob'] }],
      ['ok!', false, {}],
    ]);

    await alice.deleteMessage(plan.messageId, { forEveryone: true });
    await chat.idle();
    const [tombstone, answer] = window.messages;
    expect(tombstone).toMatchObject({ id: plan.messageId, text: '', deleted: true });
    expect(tombstone?.reactions).toBeUndefined();
    expect(answer?.replyTo).toMatchObject({ preview: '', deleted: true });
    expect(answer?.id).toBe(reply.messageId);
    expect(events).toEqual(['edit:See you at 8', 'reaction:See you at 8', 'hide:-', 'delete:']);
  });

  test('a device reads history page by page, from the time its user joined', async () => {
    const { chat } = makeChat();
    const group = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob'] });
    for (let i = 1; i <= 3; i++)
      await chat.sendMessage({ from: 'alice', groupId: group.id, text: `early ${i}` });
    chat.addGroupMembers('alice', group.id, ['dave']);
    for (let i = 1; i <= 3; i++)
      await chat.sendMessage({ from: 'bob', groupId: group.id, text: `late ${i}` });
    const dave = chat.connect('dave');
    await dave.ready;
    const threadId = chat.groupThreadId(group.id);
    const first = await dave.history(threadId, { limit: 2 });
    expect(first.messages.map((m) => m.text)).toEqual(['late 3', 'late 2']);
    expect(first.hasMore).toBe(true);
    const next = await dave.history(threadId, { before: first.messages[1]!.seq, limit: 2 });
    expect(next.messages.map((m) => m.text)).toEqual(['late 1']);
    expect(next.hasMore).toBe(false);
    await expect(dave.history(threadId, { before: 2 })).resolves.toEqual({
      threadId,
      messages: [],
      hasMore: false,
    });
  });
});
