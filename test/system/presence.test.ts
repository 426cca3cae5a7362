import type { ChatSession, DeviceOutbox, PresenceRecord, SessionRecord } from 'chat-room';
import {
  ChatSystem,
  InMemoryPresenceStore,
  ManualClock,
  NotificationCenter,
  PresenceService,
  SessionRegistry,
  ValidationError,
  createPresencePolicy,
  describePresence,
} from 'chat-room';
import { T0, makeChat } from './helpers';

/** Everyone keeps everyone as a contact, so all four are friends. */
function friends(chat: ChatSystem): void {
  const ids = ['alice', 'bob', 'carol', 'dave'];
  for (const a of ids) for (const b of ids) if (a !== b) chat.addContact(a, b);
}

/** What one session hears: live frames and snapshots, as lists of "user:status". */
function listen(session: ChatSession) {
  const heard = { frames: [] as string[][], snapshots: [] as PresenceRecord[][] };
  session.on('presence', (updates, snapshot) => {
    if (snapshot) heard.snapshots.push([...updates]);
    else heard.frames.push(updates.map((u) => `${u.userId}:${u.status}`));
  });
  return heard;
}

/** Lets queued work (frames, store writes) finish without moving the clock. */
const settle = (chat: ChatSystem): Promise<void> => chat.idle();

describe('presence status', () => {
  test('derives online, away and offline from sessions, and idle from activity', async () => {
    const { chat, clock } = makeChat();
    expect(chat.presenceOf('bob')).toBe('offline');
    const phone = chat.connect('bob', { deviceId: 'phone' });
    await phone.ready;
    expect(chat.presenceOf('bob')).toBe('online');
    clock.advance(5 * 60_000);
    expect(chat.presenceOf('bob')).toBe('idle');
    await chat.sendMessage({ from: 'bob', to: 'alice', text: 'back' });
    expect(chat.presenceOf('bob')).toBe('online');
    await phone.setForeground(false);
    expect(chat.presenceOf('bob')).toBe('away');
    const laptop = chat.connect('bob', { deviceId: 'laptop' });
    await laptop.ready;
    expect(chat.presenceOf('bob')).toBe('online');
    laptop.disconnect();
    phone.disconnect();
    expect(chat.presenceOf('bob')).toBe('offline');
  });

  test('readers render idleness from lastActiveAt', () => {
    const record = { userId: 'bob', status: 'online' as const, lastActiveAt: T0, lastSeenAt: T0 };
    expect(describePresence(record, T0 + 60_000, 5 * 60_000)).toBe('online');
    expect(describePresence(record, T0 + 7 * 60_000, 5 * 60_000)).toBe('idle for 7 min');
  });
});

describe('the default policy (interest, debounced, batched)', () => {
  async function setup() {
    const made = makeChat();
    friends(made.chat);
    const alice = made.chat.connect('alice');
    const heard = listen(alice);
    await alice.ready;
    await alice.subscribePresence(['bob', 'carol']);
    return { ...made, alice, heard };
  }

  test('a subscribing session gets one correct snapshot of what it asked for', async () => {
    const { chat, clock, alice, heard } = await setup();
    expect(heard.snapshots).toHaveLength(1);
    expect(heard.snapshots[0]?.map((r) => [r.userId, r.status])).toEqual([
      ['bob', 'offline'],
      ['carol', 'offline'],
    ]);
    const bob = chat.connect('bob');
    await bob.ready;
    clock.advance(10_000); // the online grace
    await settle(chat);
    await alice.subscribePresence(['bob', 'dave']);
    expect(heard.snapshots[1]?.map((r) => [r.userId, r.status, r.lastSeenAt > 0])).toEqual([
      ['bob', 'online', true],
      ['dave', 'offline', false],
    ]);
    expect(alice.presenceOf('bob')?.status).toBe('online');
  });

  test('a flap inside the grace period produces no push; a stay past it does', async () => {
    const { chat, clock, heard } = await setup();
    const bob = chat.connect('bob');
    await bob.ready;
    clock.advance(5_000);
    bob.disconnect();
    clock.advance(60_000);
    await settle(chat);
    expect(heard.frames).toEqual([]);
    expect(chat.presence.counters.pushes).toBe(0);

    const again = chat.connect('bob');
    await again.ready;
    clock.advance(10_000 + 1_000); // the grace, then the batch window
    await settle(chat);
    expect(heard.frames).toEqual([['bob:online']]);
    again.disconnect();
    clock.advance(20_000);
    const back = chat.connect('bob'); // back inside the offline grace: still online, nothing to say
    await back.ready;
    clock.advance(60_000);
    await settle(chat);
    expect(heard.frames).toEqual([['bob:online']]);
  });

  test('going idle costs no push: idleness is a timestamp readers render', async () => {
    const { chat, clock, heard } = await setup();
    const bob = chat.connect('bob');
    await bob.ready;
    clock.advance(11_000);
    await settle(chat);
    clock.advance(20 * 60_000);
    await settle(chat);
    expect(heard.frames).toEqual([['bob:online']]);
    const [seen] = await chat.presenceSnapshot('alice', ['bob']);
    expect(seen?.status).toBe('idle');
  });

  test('a session not subscribed to a user hears nothing of them', async () => {
    const { chat, clock, heard } = await setup();
    const dave = chat.connect('dave');
    await dave.ready;
    clock.advance(11_000);
    await settle(chat);
    expect(heard.frames).toEqual([]);
  });

  test('a friend who may not see last-seen hears nothing, and gets no status in a snapshot', async () => {
    const { chat, clock, alice, heard } = await setup();
    chat.settings('bob').setLastSeen('nobody');
    const bob = chat.connect('bob');
    await bob.ready;
    clock.advance(11_000);
    await settle(chat);
    expect(heard.frames).toEqual([]);
    await alice.subscribePresence(['bob']);
    expect(heard.snapshots[1]).toEqual([]);
  });

  test('resubscribing replaces the whole set', async () => {
    const { chat, clock, alice, heard } = await setup();
    await alice.subscribePresence(['dave']);
    const bob = chat.connect('bob');
    const dave = chat.connect('dave');
    await Promise.all([bob.ready, dave.ready]);
    clock.advance(11_000);
    await settle(chat);
    expect(heard.frames).toEqual([['dave:online']]);
  });

  test('refuses a malformed or oversized subscription and keeps the old one', async () => {
    const { chat, clock, alice, heard } = await setup();
    await expect(alice.subscribePresence(['not an id'])).rejects.toBeInstanceOf(ValidationError);
    await expect(
      alice.subscribePresence(Array.from({ length: 101 }, (_, i) => `u${i}`)),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    const bob = chat.connect('bob');
    await bob.ready;
    clock.advance(11_000);
    await settle(chat);
    expect(heard.frames).toEqual([['bob:online']]);
  });
});

describe('policy techniques, one at a time', () => {
  test('batched: two changes within the window reach a friend as one frame', async () => {
    const { chat, clock } = makeChat({ presencePolicy: 'batched' });
    friends(chat);
    const alice = chat.connect('alice');
    const heard = listen(alice);
    await alice.ready;
    const bob = chat.connect('bob');
    const carol = chat.connect('carol');
    await Promise.all([bob.ready, carol.ready]);
    clock.advance(1_000);
    await settle(chat);
    expect(heard.frames).toEqual([['bob:online', 'carol:online']]);
    // Alice gets both changes in one frame; Bob, online by then, gets Carol's in another.
    expect(chat.presence.counters).toMatchObject({ policy: 'batched', pushes: 3, frames: 2 });
  });

  test('batched: a change and its reversal within the window collapse to the latest', async () => {
    const { chat, clock } = makeChat({ presencePolicy: 'batched' });
    friends(chat);
    const alice = chat.connect('alice');
    const heard = listen(alice);
    await alice.ready;
    const bob = chat.connect('bob');
    await bob.ready;
    await bob.setForeground(false);
    clock.advance(1_000);
    await settle(chat);
    expect(heard.frames).toEqual([['bob:away']]);
  });

  test('online-friends: an offline friend and a friend who may not see receive nothing', async () => {
    const { chat } = makeChat({ presencePolicy: 'online-friends' });
    friends(chat);
    chat.settings('bob').setLastSeen('contacts');
    chat.removeContact('bob', 'carol'); // bob no longer keeps carol: she may not see him
    const alice = chat.connect('alice');
    const carol = chat.connect('carol');
    const [a, c] = [listen(alice), listen(carol)];
    await Promise.all([alice.ready, carol.ready]);
    chat.presence.resetCounters();
    const bob = chat.connect('bob');
    await bob.ready;
    await settle(chat);
    expect(a.frames).toEqual([['bob:online']]);
    expect(c.frames).toEqual([]);
    expect(chat.presence.counters.pushes).toBe(1); // dave is offline: not pushed
  });

  test('naive: every friend, every change, at once — offline friends included', async () => {
    const { chat } = makeChat({ presencePolicy: 'naive' });
    friends(chat);
    const bob = chat.connect('bob');
    await bob.ready;
    await settle(chat);
    expect(chat.presence.counters).toMatchObject({ pushes: 3, frames: 3 });
  });

  test('the ladder announces each idle rung: 1, 2, 5 and 10 minutes', async () => {
    const ladder = makeChat({ presencePolicy: 'online-friends' });
    const chat = ChatSystem.create({
      clock: ladder.clock,
      presencePolicy: createPresencePolicy('online-friends', { idle: 'ladder' }),
    });
    chat.registerUser({ id: 'alice', name: 'Alice' });
    chat.registerUser({ id: 'bob', name: 'Bob' });
    chat.addContact('alice', 'bob');
    const alice = chat.connect('alice');
    const heard = listen(alice);
    await alice.ready;
    const bob = chat.connect('bob');
    await bob.ready;
    ladder.clock.advance(11 * 60_000);
    await chat.idle();
    const bobs = heard.frames.flat().filter((f) => f.startsWith('bob'));
    expect(bobs).toEqual(['bob:online', 'bob:idle', 'bob:idle', 'bob:idle', 'bob:idle']);
    expect(alice.presenceOf('bob')?.idleMinutes).toBe(10);
  });
});

/**
 * A presence service on its own registry, and the device side of it: sessions open, close and change ground in the
 * registry (as the gateway does), and presence follows from the registry's events.
 */
function standalone(store: InMemoryPresenceStore, clock: ManualClock, options: { storeTtlMs?: number } = {}) {
  const events = new NotificationCenter();
  const sessions = new SessionRegistry(clock, events, 0);
  const heard: string[] = [];
  const outbox: DeviceOutbox = {
    toUser: (userId, notice) => {
      for (const s of sessions.foregroundSessions(userId)) outbox.toSession(s.id, notice);
    },
    toSession: (sessionId, notice) => {
      if (notice.kind === 'presence' && !notice.snapshot)
        for (const u of notice.updates) heard.push(`${sessionId}<-${u.userId}:${u.status}`);
    },
    sizeOf: (notice) => JSON.stringify(notice).length,
  };
  const presence = new PresenceService({
    clock,
    store,
    relations: { friendsOf: () => [], maySee: () => true },
    sessions,
    events,
    outbox,
    ...options,
  });
  const open = new Map<string, SessionRecord>();
  const device = {
    open(sessionId: string, userId: string, foreground: boolean): void {
      const connection = {
        id: sessionId,
        identity: { userId, deviceId: sessionId, foreground },
        send: () => undefined,
        close: () => undefined,
      };
      open.set(sessionId, sessions.add(connection));
    },
    setForeground(sessionId: string, foreground: boolean): void {
      sessions.setForeground(open.get(sessionId) as SessionRecord, foreground);
    },
  };
  return { presence, device, heard };
}

describe('the presence store', () => {
  test('a node that stops refreshing leaves no ghost online: the record reads offline after its expiry', async () => {
    const clock = new ManualClock(T0);
    const store = new InMemoryPresenceStore({ clock });
    const { presence: service, device } = standalone(store, clock, { storeTtlMs: 90_000 });
    device.open('s1', 'bob', true);
    clock.advance(10_000); // the online grace
    expect((await store.get('bob'))?.status).toBe('online');
    clock.advance(5 * 60_000); // the service keeps it fresh
    expect((await store.get('bob'))?.status).toBe('online');
    service.close(); // the node dies: no more refreshes
    clock.advance(90_001);
    expect(await store.get('bob')).toMatchObject({ status: 'offline', lastSeenAt: expect.any(Number) });
  });

  test('an active user costs one store write a second, and the stored lastActiveAt is at most a second old', async () => {
    const clock = new ManualClock(T0);
    const store = new InMemoryPresenceStore({ clock });
    const written: number[] = [];
    const set = store.set.bind(store);
    store.set = (record, ttlMs) => (written.push(record.lastActiveAt), set(record, ttlMs));
    const { presence: service, device } = standalone(store, clock);
    device.open('s1', 'bob', true);
    clock.advance(10_000); // the online grace
    written.length = 0;
    for (let i = 0; i < 30; i++) {
      service.activity('bob'); // 30 frames over 3 s
      expect((await store.get('bob'))?.lastActiveAt).toBeGreaterThanOrEqual(clock.now() - 1_000);
      clock.advance(100);
    }
    expect(written).toEqual([T0 + 10_000, T0 + 11_000, T0 + 12_000]);
    service.close();
  });
});

describe('interest across background trips', () => {
  function service() {
    const clock = new ManualClock(T0);
    const { presence, device, heard } = standalone(new InMemoryPresenceStore({ clock }), clock);
    return { clock, presence, device, heard };
  }

  test('a session that subscribed in the background hears changes once it is in the foreground', async () => {
    const { clock, presence, device, heard } = service();
    device.open('a1', 'alice', false);
    await presence.subscribe('a1', ['bob']);
    device.setForeground('a1', true);
    device.open('b1', 'bob', true);
    clock.advance(60_000);
    expect(heard).toEqual(['a1<-bob:online']);
  });

  test('a session keeps its interest through a background trip, even if everyone else lost theirs', async () => {
    const { clock, presence, device, heard } = service();
    device.open('a1', 'alice', true);
    device.open('c1', 'carol', true);
    await presence.subscribe('a1', ['bob']);
    await presence.subscribe('c1', ['bob']);
    device.setForeground('a1', false);
    await presence.subscribe('c1', ['dave']);
    device.setForeground('a1', true);
    device.open('b1', 'bob', true);
    clock.advance(60_000);
    expect(heard).toEqual(['a1<-bob:online']);
  });
});
