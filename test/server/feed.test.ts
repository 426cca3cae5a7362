/**
 * The chat list over a real server: pin, mark unread and archive answer `ok`, and the user's other devices (in the
 * background too) learn each change at once with `feed.changed`; a device that was offline reads it with
 * `feed.top`. A thread one is not in answers byte for byte as one that does not exist, and a refused frame changes
 * nothing. The same through `ChatSession` on in-process devices.
 */
import type { ChatSystem, FeedEntry, ServerFrame } from 'chat-room';
import {
  ChatSystem as System,
  InMemoryDirectoryStore,
  ManualClock,
  NotFoundError,
  ValidationError,
} from 'chat-room';
import type { Device, Rig } from './ws-rig';
import { T0, startRig } from './ws-rig';

jest.setTimeout(20_000);

const PEOPLE = { alice: 'Alice', bob: 'Bob', carol: 'Carol', dave: 'Dave' };

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

/** A server with a directory store, and two threads in bob's list: a direct chat with alice and a group. */
async function start() {
  const directoryStore = new InMemoryDirectoryStore();
  rig = await startRig(PEOPLE, { deps: { directoryStore } });
  const { system } = rig;
  const dm = (await system.sendMessage({ from: 'alice', to: 'bob', text: 'lunch?' })).threadId;
  rig.clock.advance(1_000);
  const group = system.createGroup({ ownerId: 'carol', name: 'Book club', memberIds: ['bob'] });
  await system.sendMessage({ from: 'carol', groupId: group.id, text: 'chapter 3' });
  await system.idle();
  return { ...rig, directoryStore, dm, groupThread: `group:${group.id}` };
}

/** The `feed.changed` frames a device received so far. */
function changes(device: Device): Extract<ServerFrame, { type: 'feed.changed' }>[] {
  return device.frames.flatMap((f) => (f.type === 'feed.changed' ? [f] : []));
}

/** The entries of a `feed` answer. */
async function top(device: Device, extra: Record<string, unknown> = {}): Promise<readonly FeedEntry[]> {
  const answer = await device.ask({ type: 'feed.top', ...extra });
  expect(answer.frame.type).toBe('feed');
  return (answer.frame as Extract<ServerFrame, { type: 'feed' }>).entries;
}

/** What a list shows of each thread: id, choices, unread count. */
const shown = (entries: readonly FeedEntry[]) =>
  entries.map(({ threadId, pinned, archived, markedUnread, unread }) => ({
    threadId,
    pinned,
    archived,
    markedUnread,
    unread,
  }));

/** Everything the system and its store hold about users' chat lists: what a refused frame must leave alone. */
async function everything(system: ChatSystem, directoryStore: InMemoryDirectoryStore) {
  await system.idle();
  const lists = Object.keys(PEOPLE).map((id) => ({
    main: system.getFeed(id).top(20),
    archive: system.getFeed(id).top(20, { archived: true }),
  }));
  return { lists, saved: (await directoryStore.load()).feeds };
}

describe('the chat list over a real server', () => {
  test("pin answers ok, and the user's other devices, in the background too, get feed.changed at once", async () => {
    const { connect, dm } = await start();
    const phone = await connect('bob', 'phone');
    const laptop = await connect('bob', 'laptop');
    const tablet = await connect('bob', 'tablet');
    expect((await tablet.ask({ type: 'state', foreground: false })).frame.type).toBe('ok');
    const alice = await connect('alice');

    expect((await phone.ask({ type: 'feed.pin', threadId: dm, pinned: true })).frame).toMatchObject({
      type: 'ok',
    });
    const expected = {
      type: 'feed.changed',
      threadId: dm,
      pinned: true,
      archived: false,
      markedUnread: false,
    };
    expect((await laptop.next((f) => f.type === 'feed.changed', 'feed.changed')).frame).toEqual(expected);
    expect((await tablet.next((f) => f.type === 'feed.changed', 'feed.changed')).frame).toEqual(expected);
    await Promise.all([phone.settle(), alice.settle()]);
    expect(changes(phone)).toEqual([]); // its `ok` stands for the change
    expect(changes(alice)).toEqual([]); // nobody else hears of it

    // Asking again changes nothing and tells nobody.
    expect((await phone.ask({ type: 'feed.pin', threadId: dm, pinned: true })).frame.type).toBe('ok');
    await laptop.settle();
    expect(changes(laptop)).toHaveLength(1);
    expect((await top(laptop))[0]).toMatchObject({ threadId: dm, pinned: true });
  });

  test('archive takes a thread out of feed.top, archived: true lists it, and a new message keeps it there', async () => {
    const { system, connect, dm, groupThread } = await start();
    const phone = await connect('bob', 'phone');
    const laptop = await connect('bob', 'laptop');
    expect(shown(await top(phone)).map((e) => e.threadId)).toEqual([groupThread, dm]);

    expect(
      (await phone.ask({ type: 'feed.archive', threadId: groupThread, archived: true })).frame.type,
    ).toBe('ok');
    await laptop.next((f) => f.type === 'feed.changed', 'feed.changed');
    expect(changes(laptop)).toEqual([
      { type: 'feed.changed', threadId: groupThread, pinned: false, archived: true, markedUnread: false },
    ]);
    expect(shown(await top(laptop)).map((e) => e.threadId)).toEqual([dm]);
    expect(shown(await top(laptop, { archived: true }))).toEqual([
      { threadId: groupThread, pinned: false, archived: true, markedUnread: false, unread: 1 },
    ]);

    rig!.clock.advance(1_000);
    await system.sendMessage({ from: 'carol', groupId: groupThread.slice('group:'.length), text: 'anyone?' });
    expect(shown(await top(laptop)).map((e) => e.threadId)).toEqual([dm]);
    expect(shown(await top(laptop, { archived: true }))).toEqual([
      { threadId: groupThread, pinned: false, archived: true, markedUnread: false, unread: 2 },
    ]);

    // Pinning brings it back, to the top.
    expect((await laptop.ask({ type: 'feed.pin', threadId: groupThread, pinned: true })).frame.type).toBe(
      'ok',
    );
    await phone.next((f) => f.type === 'feed.changed' && f.pinned, 'feed.changed pinned');
    expect(shown(await top(phone)).map((e) => [e.threadId, e.pinned, e.archived])).toEqual([
      [groupThread, true, false],
      [dm, false, false],
    ]);
  });

  test('mark unread shows at least 1 until a read, which clears it on every device', async () => {
    const { connect, dm } = await start();
    const phone = await connect('bob', 'phone');
    const laptop = await connect('bob', 'laptop');
    expect((await phone.ask({ type: 'read', threadId: dm, upToSeq: 1 })).frame.type).toBe('ok');
    expect((await top(phone)).find((e) => e.threadId === dm)).toMatchObject({
      unread: 0,
      markedUnread: false,
    });

    expect((await phone.ask({ type: 'feed.unread', threadId: dm, unread: true })).frame.type).toBe('ok');
    await laptop.next((f) => f.type === 'feed.changed', 'feed.changed');
    expect((await top(laptop)).find((e) => e.threadId === dm)).toMatchObject({
      unread: 1,
      markedUnread: true,
    });

    // Opening the chat on the laptop reads it: the mark goes, and every device hears so (the reader too).
    const from = { phone: phone.heard.length, laptop: laptop.heard.length };
    expect((await laptop.ask({ type: 'read', threadId: dm, upToSeq: 1 })).frame.type).toBe('ok');
    const cleared = {
      type: 'feed.changed',
      threadId: dm,
      pinned: false,
      archived: false,
      markedUnread: false,
    };
    const cleared2 = (f: ServerFrame) => f.type === 'feed.changed' && !f.markedUnread;
    expect((await phone.next(cleared2, 'the mark cleared', from.phone)).frame).toEqual(cleared);
    expect((await laptop.next(cleared2, 'the mark cleared', from.laptop)).frame).toEqual(cleared);
    expect((await top(phone)).find((e) => e.threadId === dm)).toMatchObject({
      unread: 0,
      markedUnread: false,
    });

    // And a mark can be cleared without reading.
    await phone.ask({ type: 'feed.unread', threadId: dm, unread: true });
    expect((await phone.ask({ type: 'feed.unread', threadId: dm, unread: false })).frame.type).toBe('ok');
    expect((await top(phone)).find((e) => e.threadId === dm)).toMatchObject({ markedUnread: false });
  });

  test('a device that was offline reads the choices with feed.top when it connects', async () => {
    const { connect, dm, groupThread } = await start();
    const phone = await connect('bob', 'phone');
    await phone.ask({ type: 'feed.pin', threadId: dm, pinned: true });
    await phone.ask({ type: 'feed.unread', threadId: dm, unread: true });
    await phone.ask({ type: 'feed.archive', threadId: groupThread, archived: true });

    const tablet = await connect('bob', 'tablet');
    expect(shown(await top(tablet))).toEqual([
      { threadId: dm, pinned: true, archived: false, markedUnread: true, unread: 1 },
    ]);
    expect(shown(await top(tablet, { archived: true, limit: 5 }))).toEqual([
      { threadId: groupThread, pinned: false, archived: true, markedUnread: false, unread: 1 },
    ]);
    await tablet.settle();
    expect(changes(tablet)).toEqual([]); // nothing was pushed to it: it was not there
  });

  test('a stranger gets the same bytes for a thread that exists and one that never did, and changes nothing', async () => {
    const { system, connect, directoryStore, dm, groupThread } = await start();
    const carol = await connect('carol');
    const bob = await connect('bob');
    const before = await everything(system, directoryStore);

    const probes = (threadId: string) => [
      { type: 'feed.pin', ref: 'pin', threadId, pinned: true },
      { type: 'feed.unread', ref: 'unread', threadId, unread: true },
      { type: 'feed.archive', ref: 'archive', threadId, archived: true },
    ];
    const ask = async (device: Device, threadId: string): Promise<string[]> => {
      const answers: string[] = [];
      for (const frame of probes(threadId)) answers.push((await device.ask(frame)).text);
      return answers;
    };
    const existing = await ask(carol, dm);
    const never = await ask(carol, 'dm:alice:zed');
    expect(never.map((text) => text.replaceAll('dm:alice:zed', dm))).toEqual(existing);
    expect(JSON.parse(existing[0]!)).toEqual({
      type: 'error',
      ref: 'pin',
      code: 'NOT_FOUND',
      message: `no thread ${dm}`,
      details: { threadId: dm },
    });
    // A group one is not in answers as a group that does not exist.
    const dave = await connect('dave');
    const group = await ask(dave, groupThread);
    const missingGroup = await ask(dave, 'group:g404');
    expect(missingGroup.map((text) => text.replaceAll('group:g404', groupThread))).toEqual(group);
    expect(JSON.parse(group[2]!)).toMatchObject({ ref: 'archive', code: 'NOT_FOUND' });

    await bob.settle();
    expect(changes(bob)).toEqual([]);
    expect(await everything(system, directoryStore)).toEqual(before);
  });

  test('a malformed frame, or a thread of ones own not in the list yet, is refused and changes nothing', async () => {
    const { system, connect, directoryStore, dm } = await start();
    const phone = await connect('bob', 'phone');
    const laptop = await connect('bob', 'laptop');
    const empty = system.directThreadId('bob', 'dave'); // exists, bob is in it, but no message yet
    const before = await everything(system, directoryStore);

    const refusals: [Record<string, unknown>, string, string][] = [
      [{ type: 'feed.pin', threadId: dm, pinned: 'yes' }, 'VALIDATION', 'pinned'],
      [{ type: 'feed.pin', pinned: true }, 'VALIDATION', 'threadId'],
      [{ type: 'feed.unread', threadId: dm }, 'VALIDATION', 'unread'],
      [{ type: 'feed.archive', threadId: '', archived: true }, 'VALIDATION', 'threadId'],
      [{ type: 'feed.top', archived: 1 }, 'VALIDATION', 'archived'],
      [{ type: 'feed.top', limit: 0 }, 'VALIDATION', 'limit'],
      [{ type: 'feed.pin', threadId: empty, pinned: true }, 'NOT_FOUND', ''],
    ];
    for (const [frame, code, field] of refusals) {
      const answer = (await phone.ask(frame)).frame;
      expect(answer).toMatchObject({ type: 'error', code });
      if (field !== '') expect(answer).toMatchObject({ details: { field } });
    }
    await laptop.settle();
    expect(changes(laptop)).toEqual([]);
    expect(await everything(system, directoryStore)).toEqual(before);
  });
});

describe('the chat list on in-process devices (ChatSession)', () => {
  test('pin, markUnread, archive and feedTop, with a typed feed-changed event on the other device', async () => {
    const chat = System.create({ clock: new ManualClock(T0) });
    for (const [id, name] of Object.entries(PEOPLE)) chat.registerUser({ id, name });
    const { threadId } = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'hi' });
    const phone = chat.connect('bob', { deviceId: 'phone' });
    const laptop = chat.connect('bob', { deviceId: 'laptop' });
    await Promise.all([phone.ready, laptop.ready]);
    const heard: unknown[] = [];
    laptop.on('feed-changed', (change) => heard.push(change));
    const own: unknown[] = [];
    phone.on('feed-changed', (change) => own.push(change));

    await phone.pin(threadId, true);
    await phone.markUnread(threadId, true);
    await chat.idle();
    expect(heard).toEqual([
      { threadId, pinned: true, archived: false, markedUnread: false },
      { threadId, pinned: true, archived: false, markedUnread: true },
    ]);
    expect(own).toEqual([]);
    expect(await laptop.feedTop()).toEqual([chat.getFeed('bob').get(threadId)]);

    await laptop.archive(threadId, true);
    await chat.idle();
    expect(own).toEqual([{ threadId, pinned: false, archived: true, markedUnread: true }]);
    expect(await phone.feedTop({ limit: 5 })).toEqual([]);
    expect((await phone.feedTop({ archived: true })).map((e) => e.threadId)).toEqual([threadId]);

    // The facade tells every device (no device asked).
    chat.archiveThread('bob', threadId, false);
    await chat.idle();
    expect(heard.at(-1)).toEqual({ threadId, pinned: false, archived: false, markedUnread: true });
    expect(own.at(-1)).toEqual(heard.at(-1));

    await expect(phone.pin('dm:alice:carol', true)).rejects.toThrow(NotFoundError);
    await expect(phone.archive(threadId, 'yes' as unknown as boolean)).rejects.toThrow(ValidationError);
    expect(() => chat.pinThread('carol', threadId, true)).toThrow(NotFoundError);
    expect(() => chat.markThreadUnread('bob', threadId, 1 as unknown as boolean)).toThrow(ValidationError);
    await chat.close();
  });
});
