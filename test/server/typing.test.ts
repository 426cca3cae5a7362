/**
 * Typing over a real server: blocks stop it either way, a state expires by itself on the injected clock, a burst
 * of frames forwards one, and a message or the typist's last disconnect ends it.
 */
import { TYPING_THROTTLE_MS, TYPING_TTL_MS } from 'chat-room';
import type { Rig } from './ws-rig';
import { startRig } from './ws-rig';

jest.setTimeout(20_000);

const PEOPLE = { alice: 'Alice', bob: 'Bob', carol: 'Carol', dave: 'Dave' };

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function start(): Promise<Rig> {
  rig = await startRig(PEOPLE);
  return rig;
}

const typing = (threadId: string, on: boolean) => ({ type: 'typing', threadId, typing: on });

describe('typing over a real server', () => {
  test('reaches the other member of a direct chat, once, and ends by itself after 5 s of the clock', async () => {
    const { system, clock, connect } = await start();
    const dm = system.directThreadId('alice', 'bob');
    const [alice, bob] = [await connect('alice'), await connect('bob')];

    expect((await alice.ask(typing(dm, true))).frame).toMatchObject({ type: 'ok' });
    await bob.next((f) => f.type === 'typing', 'typing');
    expect(bob.typing()).toEqual([{ type: 'typing', threadId: dm, userId: 'alice', typing: true }]);

    clock.advance(TYPING_TTL_MS - 1);
    await bob.settle();
    expect(bob.typing()).toHaveLength(1); // not yet
    clock.advance(1);
    await bob.next((f) => f.type === 'typing' && !f.typing, 'typing: false');
    expect(bob.typing()).toEqual([
      { type: 'typing', threadId: dm, userId: 'alice', typing: true },
      { type: 'typing', threadId: dm, userId: 'alice', typing: false },
    ]);
    await alice.settle();
    expect(alice.typing()).toEqual([]); // never the typist
  });

  test('a burst forwards one; a repeat after the throttle window goes out again; false only while typing', async () => {
    const { system, clock, connect } = await start();
    const dm = system.directThreadId('alice', 'bob');
    const [alice, bob] = [await connect('alice'), await connect('bob')];

    for (let i = 0; i < 10; i++) {
      clock.advance(100);
      expect((await alice.ask(typing(dm, true))).frame).toMatchObject({ type: 'ok' });
    }
    await bob.settle();
    expect(bob.typing().map((t) => t.typing)).toEqual([true]);

    // Each repeat renewed the state: without them it would have ended 5 s after the first, at 5.1 s.
    clock.advance(TYPING_TTL_MS - 1);
    await bob.settle();
    expect(bob.typing().map((t) => t.typing)).toEqual([true]);

    // Past the throttle window since the last forward, a repeat is said again (for devices that came since).
    expect(TYPING_TTL_MS - 1 + 900).toBeGreaterThanOrEqual(TYPING_THROTTLE_MS);
    await alice.ask(typing(dm, true));
    await bob.settle();
    expect(bob.typing().map((t) => t.typing)).toEqual([true, true]);

    await alice.ask(typing(dm, false));
    await alice.ask(typing(dm, false)); // already stopped: nothing to say
    clock.advance(TYPING_TTL_MS * 2); // and no expiry left behind
    await bob.settle();
    expect(bob.typing().map((t) => t.typing)).toEqual([true, true, false]);
  });

  test('a block stops typing both ways in a direct chat, answered ok all the same', async () => {
    const { system, connect } = await start();
    const dm = system.directThreadId('alice', 'bob');
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    expect((await bob.ask({ type: 'settings.set', block: 'alice' })).frame).toMatchObject({
      type: 'settings',
    });

    // The blocked side and the blocking side each get the same `ok` as an unblocked typist would.
    expect((await alice.ask(typing(dm, true))).frame).toMatchObject({ type: 'ok' });
    expect((await bob.ask(typing(dm, true))).frame).toMatchObject({ type: 'ok' });
    await Promise.all([alice.settle(), bob.settle()]);
    expect(alice.typing()).toEqual([]);
    expect(bob.typing()).toEqual([]);

    // Lifted, it flows again.
    await bob.ask({ type: 'settings.set', unblock: 'alice' });
    await alice.ask(typing(dm, false));
    await alice.ask(typing(dm, true));
    await bob.next((f) => f.type === 'typing', 'typing after the unblock');
    expect(bob.typing()).toEqual([{ type: 'typing', threadId: dm, userId: 'alice', typing: true }]);
  });

  test('in a group, a block keeps typing from that member only; the others still see it', async () => {
    const { system, connect } = await start();
    const group = system.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol', 'dave'] });
    const thread = system.groupThreadId(group.id);
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');
    const dave = await connect('dave');
    await carol.ask({ type: 'settings.set', block: 'alice' }); // carol blocked alice
    await alice.ask({ type: 'settings.set', block: 'dave' }); // alice blocked dave

    await alice.ask(typing(thread, true));
    await bob.next((f) => f.type === 'typing', 'alice typing, to bob');
    await Promise.all([carol.settle(), dave.settle()]);
    expect(bob.typing()).toEqual([{ type: 'typing', threadId: thread, userId: 'alice', typing: true }]);
    expect(carol.typing()).toEqual([]); // she blocked alice
    expect(dave.typing()).toEqual([]); // alice blocked him

    await carol.ask(typing(thread, true));
    await dave.ask(typing(thread, true));
    await bob.next((f) => f.type === 'typing' && f.userId === 'dave', 'dave typing, to bob');
    await Promise.all([alice.settle(), carol.settle(), dave.settle()]);
    expect(alice.typing().map((t) => t.userId)).toEqual([]); // neither carol nor dave reach alice
    expect(dave.typing().map((t) => t.userId)).toEqual(['carol']);
    expect(carol.typing().map((t) => t.userId)).toEqual(['dave']);
  });

  test('a message from the typist ends the state: typing false, then the message', async () => {
    const { system, connect } = await start();
    const dm = system.directThreadId('alice', 'bob');
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    await alice.ask(typing(dm, true));
    await alice.ask({ type: 'send', clientMessageId: 'c1', to: 'bob', text: 'hi' });
    await bob.next((f) => f.type === 'entry', 'the message');
    const order = bob.frames.flatMap((f) =>
      f.type === 'typing' ? [`typing ${f.typing}`] : f.type === 'entry' ? ['message'] : [],
    );
    expect(order).toEqual(['typing true', 'typing false', 'message']);
  });

  test('the typist’s last session closing ends the state; another still open keeps it', async () => {
    const { system, connect } = await start();
    const dm = system.directThreadId('alice', 'bob');
    const phone = await connect('alice', 'phone');
    const laptop = await connect('alice', 'laptop');
    const bob = await connect('bob');
    await phone.ask(typing(dm, true));
    await bob.next((f) => f.type === 'typing', 'typing');

    phone.ws.close();
    await phone.closed;
    await laptop.settle();
    await bob.settle();
    expect(bob.typing().map((t) => t.typing)).toEqual([true]); // the laptop is still there

    laptop.ws.close();
    await bob.next((f) => f.type === 'typing' && !f.typing, 'typing: false on the last disconnect');
    expect(bob.typing().map((t) => t.typing)).toEqual([true, false]);
  });

  test('typing on a thread one is not in is NOT_FOUND, as on one that does not exist, and reaches no one', async () => {
    const { system, connect } = await start();
    const [carol, bob] = [await connect('carol'), await connect('bob')];
    const dm = 'dm:alice:bob';
    const before = await carol.ask({ ...typing(dm, true), ref: 'same' });
    await system.sendMessage({ from: 'alice', to: 'bob', text: 'now it exists' });
    const after = await carol.ask({ ...typing(dm, true), ref: 'same' });
    expect(before.frame).toMatchObject({ type: 'error', code: 'NOT_FOUND' });
    expect(after.text).toBe(before.text);
    await bob.settle();
    expect(bob.typing()).toEqual([]);
  });
});
