import { NotFoundError } from 'chat-room';
import { next } from '../support/client-events';
import { sdkRig } from './sdk-rig';

// The chat list through the SDK: pin, mark unread and archive on one device show in its local feed at once, on the
// server's feed (`feedTop`), and on the user's other devices (`feed-changed`).

jest.setTimeout(20_000);

const { start, client } = sdkRig();

describe('ChatClient chat list', () => {
  it('pins, marks unread and archives on one device; the server and the other device follow', async () => {
    const server = await start();
    const phone = client(server, 'alice', { deviceId: 'alice-phone' });
    const laptop = client(server, 'alice', { deviceId: 'alice-laptop' });
    const bob = client(server, 'bob');
    const carol = client(server, 'carol');
    await Promise.all([phone.connect(), laptop.connect(), bob.connect(), carol.connect()]);
    const fromBob = await bob.send({ to: 'alice', text: 'hi from bob' });
    const fromCarol = await carol.send({ to: 'alice', text: 'hi from carol' });
    const bobThread = fromBob.threadId;
    const carolThread = fromCarol.threadId;
    const carolArrived = (c: typeof phone) => next(c, 'message', (m) => m.threadId === carolThread);
    await Promise.all([carolArrived(phone), carolArrived(laptop)]);
    expect((await phone.feedTop()).map((e) => e.threadId)).toEqual([carolThread, bobThread]);

    // Pin: the phone's list at once, the server's, and the laptop's through `feed-changed`.
    const pinned = next(laptop, 'feed-changed', (c) => c.threadId === bobThread);
    await phone.pin(bobThread, true);
    expect(phone.feed.get(bobThread)?.pinned).toBe(true);
    expect((await pinned)[0]).toEqual({
      threadId: bobThread,
      pinned: true,
      archived: false,
      markedUnread: false,
    });
    expect(laptop.feed.get(bobThread)?.pinned).toBe(true);
    const top = await phone.feedTop({ limit: 5 });
    expect(top.map((e) => [e.threadId, e.pinned])).toEqual([
      [bobThread, true],
      [carolThread, false],
    ]);

    // Read, then marked unread again.
    await laptop.markRead(bobThread, fromBob.seq);
    const marked = next(laptop, 'feed-changed', (c) => c.markedUnread);
    await phone.markUnread(bobThread, true);
    await marked;
    expect(laptop.feed.get(bobThread)).toEqual(expect.objectContaining({ markedUnread: true, unread: 1 }));
    expect((await laptop.feedTop()).find((e) => e.threadId === bobThread)?.markedUnread).toBe(true);

    // Archive: out of the main list, into the archive's.
    const archived = next(laptop, 'feed-changed', (c) => c.threadId === carolThread);
    await phone.archive(carolThread, true);
    await archived;
    expect(laptop.feed.get(carolThread)?.archived).toBe(true);
    expect((await phone.feedTop()).map((e) => e.threadId)).toEqual([bobThread]);
    expect((await phone.feedTop({ archived: true })).map((e) => e.threadId)).toEqual([carolThread]);
    await phone.archive(carolThread, false);
    expect((await laptop.feedTop()).map((e) => e.threadId)).toEqual([bobThread, carolThread]);
  });

  it('refuses a thread the user is not in, as one that does not exist', async () => {
    const server = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    await Promise.all([alice.connect(), bob.connect()]);
    await bob.send({ to: 'carol', text: 'private' });
    await expect(alice.pin('dm:bob:carol', true)).rejects.toBeInstanceOf(NotFoundError);
    await expect(alice.archive('dm:nobody:nothing', true)).rejects.toBeInstanceOf(NotFoundError);
    await expect(alice.markUnread('dm:alice:bob', 'yes' as unknown as boolean)).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });
});
