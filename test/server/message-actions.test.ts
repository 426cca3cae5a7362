/**
 * Replies, edits, deletes, reactions and history over a real server and real `ws` sockets: each request is
 * answered `ok` (or `history`), the change itself arrives as an `entry` on every foreground connection of every
 * member who has the message — the actor's own included, before the `ok` — and a stranger's request about a
 * message answers byte for byte as for one that does not exist.
 */
import type { ServerFrame } from 'chat-room';
import type { Device, Rig } from './ws-rig';
import { startRig } from './ws-rig';

jest.setTimeout(20_000);

let rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs) await rig.close();
  rigs = [];
});

async function start(): Promise<Rig> {
  const rig = await startRig({ alice: 'Alice', bob: 'Bob', carol: 'Carol', dave: 'Dave' });
  rigs.push(rig);
  return rig;
}

type Entry = Extract<ServerFrame, { type: 'entry' }>['entry'];

/** The inbox entries a device received, from frame index `from` on. */
function entries(device: Device, from = 0): Entry[] {
  return device.frames.slice(from).flatMap((f) => (f.type === 'entry' ? [f.entry] : []));
}

/** The change entries a device received, as `kind:user:detail`. */
function changes(device: Device): string[] {
  return entries(device).flatMap((e) =>
    e.type === 'change'
      ? [`${e.change.kind}:${e.change.userId}:${e.change.text ?? e.change.emoji ?? ''}`]
      : [],
  );
}

describe('the conversation frames', () => {
  test('send with replyTo, edit, react, delete and history, answered and fanned out as entries', async () => {
    const { connect } = await start();
    const alice = await connect('alice', 'phone');
    const laptop = await connect('alice', 'laptop');
    const bob = await connect('bob');

    const first = await alice.ask({ type: 'send', clientMessageId: 'a1', to: 'bob', text: 'See you at 7' });
    expect(first.frame).toMatchObject({ type: 'ack', seq: 1 });
    const messageId = (first.frame as Extract<ServerFrame, { type: 'ack' }>).messageId;
    const reply = await bob.ask({
      type: 'send',
      clientMessageId: 'b1',
      to: 'alice',
      text: 'ok!',
      replyTo: messageId,
    });
    const quote = { messageId, senderId: 'alice', kind: 'text', preview: 'See you at 7' };
    // The ack carries the quote, so the sending device shows its own reply without another lookup.
    expect(reply.frame).toMatchObject({ type: 'ack', seq: 2, replyTo: quote });
    await alice.next((f) => f.type === 'entry' && f.entry.type === 'message' && f.entry.message.seq === 2);
    expect(entries(alice).find((e) => e.type === 'message' && e.message.seq === 2)).toMatchObject({
      message: { text: 'ok!', replyTo: quote },
    });

    // The actor's own connection hears its change as an entry, before the `ok`.
    const from = alice.heard.length;
    const edited = await alice.ask({
      type: 'edit',
      ref: 'e1',
      messageId,
      text: 'See you at 8',
      clientChangeId: 'c1',
    });
    expect(edited.frame).toEqual({ type: 'ok', ref: 'e1' });
    const [entryFrame, okFrame] = alice.frames.slice(from);
    expect(entryFrame).toMatchObject({
      type: 'entry',
      entry: { type: 'change', change: { kind: 'edit', text: 'See you at 8' } },
    });
    expect(okFrame).toEqual({ type: 'ok', ref: 'e1' });

    expect((await bob.ask({ type: 'react', messageId, emoji: '👍' })).frame).toMatchObject({ type: 'ok' });
    expect((await bob.ask({ type: 'react', messageId, emoji: null })).frame).toMatchObject({ type: 'ok' });
    expect((await alice.ask({ type: 'delete', messageId, forEveryone: true })).frame).toMatchObject({
      type: 'ok',
    });
    for (const device of [alice, laptop, bob]) await device.settle();
    const expected = ['edit:alice:', 'reaction:bob:👍', 'reaction:bob:', 'delete:alice:'];
    // The delete erased the edit's text in the store; what went out live before it carried the text.
    const live = ['edit:alice:See you at 8', 'reaction:bob:👍', 'reaction:bob:', 'delete:alice:'];
    expect(changes(alice)).toEqual(live);
    expect(changes(laptop)).toEqual(live);
    expect(changes(bob)).toEqual(live);

    const history = await bob.ask({ type: 'history', ref: 'h1', threadId: 'dm:alice:bob' });
    expect(history.frame).toMatchObject({
      type: 'history',
      ref: 'h1',
      threadId: 'dm:alice:bob',
      hasMore: false,
    });
    const messages = (history.frame as Extract<ServerFrame, { type: 'history' }>).messages;
    expect(messages.map((m) => [m.seq, m.text, m.deletedAt !== undefined])).toEqual([
      [2, 'ok!', false],
      [1, '', true],
    ]);
    expect(messages[0]?.replyTo).toMatchObject({ preview: '', deleted: true });

    // A device that syncs from the start gets the same changes, in the same order, with the text erased.
    const synced = await bob.ask({ type: 'sync', after: 0 });
    const page = (synced.frame as Extract<ServerFrame, { type: 'synced' }>).entries;
    expect(
      page.flatMap((e) =>
        e.type === 'change'
          ? [`${e.change.kind}:${e.change.userId}:${e.change.text ?? e.change.emoji ?? ''}`]
          : [],
      ),
    ).toEqual(expected);
  });

  test('without a clientChangeId the ref is the key: the same frame twice changes once', async () => {
    const { connect, system } = await start();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const m = await system.sendMessage({ from: 'bob', to: 'alice', text: 'lunch?' });
    await alice.settle();
    const react = { type: 'react', ref: 'same-ref', messageId: m.id, emoji: '🍕' };
    expect((await alice.ask(react)).frame).toEqual({ type: 'ok', ref: 'same-ref' });
    expect((await alice.ask(react)).frame).toEqual({ type: 'ok', ref: 'same-ref' });
    await bob.settle();
    expect(changes(bob)).toEqual(['reaction:alice:🍕']);
  });

  test("a hide goes to the user's connections only", async () => {
    const { connect, system } = await start();
    const bobPhone = await connect('bob', 'phone');
    const bobLaptop = await connect('bob', 'laptop');
    const alice = await connect('alice');
    const m = await system.sendMessage({ from: 'alice', to: 'bob', text: 'secret' });
    expect((await bobPhone.ask({ type: 'delete', messageId: m.id, forEveryone: false })).frame).toMatchObject(
      { type: 'ok' },
    );
    for (const d of [bobPhone, bobLaptop, alice]) await d.settle();
    expect(changes(bobPhone)).toEqual(['hide:bob:']);
    expect(changes(bobLaptop)).toEqual(['hide:bob:']);
    expect(changes(alice)).toEqual([]);
    const history = await bobLaptop.ask({ type: 'history', threadId: m.threadId });
    expect((history.frame as Extract<ServerFrame, { type: 'history' }>).messages).toEqual([]);
  });

  test('malformed frames are refused by the schema with the field at fault', async () => {
    const { connect } = await start();
    const alice = await connect('alice');
    const answers = [
      await alice.ask({ type: 'react', messageId: 'dm:alice:bob#1', emoji: '👍'.repeat(20) }),
      await alice.ask({ type: 'edit', messageId: 'not a message id', text: 'x' }),
      await alice.ask({ type: 'delete', messageId: 'dm:alice:bob#1' }),
      await alice.ask({ type: 'history', threadId: 'dm:alice:bob', limit: 0 }),
    ];
    expect(
      answers.map((a) => [a.frame.type, (a.frame as { details?: { field?: string } }).details?.field]),
    ).toEqual([
      ['error', 'emoji'],
      ['error', 'messageId'],
      ['error', 'forEveryone'],
      ['error', 'limit'],
    ]);
    const notOne = await alice.ask({ type: 'react', messageId: 'dm:alice:bob#1', emoji: 'ok' });
    // Well formed for the schema, but not one emoji: the service refuses it before it looks for the message.
    expect(notOne.frame).toMatchObject({ type: 'error', code: 'VALIDATION', details: { field: 'emoji' } });
  });
});

describe('no existence oracle for messages', () => {
  test("a stranger's edit, delete, react and history get byte-identical answers for an existing and a missing message", async () => {
    const { connect, system } = await start();
    const group = system.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob'] });
    const m = await system.sendMessage({ from: 'alice', groupId: group.id, text: 'Lisbon?' });
    const dave = await connect('dave');
    const probes = (messageId: string, threadId: string) => [
      { type: 'edit', ref: 'edit', messageId, text: 'mine' },
      { type: 'delete', ref: 'delete', messageId, forEveryone: true },
      { type: 'delete', ref: 'hide', messageId, forEveryone: false },
      { type: 'react', ref: 'react', messageId, emoji: '👍' },
      { type: 'history', ref: 'history', threadId },
    ];
    const ask = async (frames: Record<string, unknown>[]) => {
      const texts: string[] = [];
      for (const frame of frames) texts.push((await dave.ask(frame)).text);
      return texts;
    };
    const existing = await ask(probes(m.id, m.threadId));
    const missingHere = `${m.threadId}#42`;
    const missing = await ask(probes(missingHere, m.threadId));
    expect(missing.map((t) => t.replaceAll(missingHere, m.id))).toEqual(existing);
    // A thread that was never created answers the same, but for the ids it repeats back.
    const nowhere = await ask(probes('group:nowhere#1', 'group:nowhere'));
    expect(
      nowhere.map((t) => t.replaceAll('group:nowhere#1', m.id).replaceAll('group:nowhere', m.threadId)),
    ).toEqual(existing);
    expect(JSON.parse(existing[0]!)).toEqual({
      type: 'error',
      ref: 'edit',
      code: 'NOT_FOUND',
      message: `no message ${m.id}`,
      details: { messageId: m.id },
    });
    expect(JSON.parse(existing[4]!)).toMatchObject({ code: 'NOT_FOUND', message: `no thread ${m.threadId}` });
    expect((await system.store.getMessage(m.id))?.text).toBe('Lisbon?');
  });
});
