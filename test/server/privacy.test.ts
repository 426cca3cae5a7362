/**
 * What a stranger can learn over a real server: nothing about threads and groups they are not in (each request
 * naming one answers byte for byte as for one that does not exist), and from global search only the people who
 * chose to be found, a few at a time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatSystem, ManualClock } from 'chat-room';
import { openSqliteStores } from 'chat-room/sqlite';
import type { Device, Heard, Rig } from './ws-rig';
import { T0, startRig } from './ws-rig';

jest.setTimeout(20_000);

let rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs) await rig.close();
  rigs = [];
});

async function start(users: Record<string, string>, ...rest: Parameters<typeof startRig>[1][]): Promise<Rig> {
  const rig = await startRig(users, rest[0]);
  rigs.push(rig);
  return rig;
}

const PEOPLE = { alice: 'Alice', bob: 'Bob', carol: 'Carol', dave: 'Dave' };

/** Every request a stranger could make about a thread or a group, each with a fixed `ref`. */
function probes(threadId: string, groupId: string | undefined): Record<string, unknown>[] {
  const onThread = [
    { type: 'read', ref: 'read', threadId, upToSeq: 0 },
    { type: 'typing', ref: 'typing', threadId, typing: true },
  ];
  if (groupId === undefined) return onThread;
  return [
    ...onThread,
    { type: 'send', ref: 'send', clientMessageId: 'probe', groupId, text: 'anyone?' },
    { type: 'group.add', ref: 'add', groupId, userIds: ['carol'] },
    { type: 'group.remove', ref: 'remove', groupId, userId: 'bob' },
    { type: 'group.leave', ref: 'leave', groupId },
    { type: 'group.promote', ref: 'promote', groupId, userId: 'bob' },
  ];
}

/** Asks every probe and returns the answers as the server wrote them. */
async function ask(device: Device, frames: Record<string, unknown>[]): Promise<string[]> {
  const answers: Heard[] = [];
  for (const frame of frames) answers.push(await device.ask(frame));
  return answers.map((a) => a.text);
}

describe('no existence oracle: a thread or group one is not in answers as one that does not exist', () => {
  test('a direct chat: before its two users ever talked and after, a stranger gets the same bytes', async () => {
    const { system, connect } = await start(PEOPLE);
    const carol = await connect('carol');
    const dm = 'dm:alice:bob';

    const before = await ask(carol, probes(dm, undefined));
    await system.sendMessage({ from: 'alice', to: 'bob', text: 'hello' });
    await system.sendMessage({ from: 'bob', to: 'alice', text: 'hi!' });
    const after = await ask(carol, probes(dm, undefined));

    expect(after).toEqual(before);
    expect(JSON.parse(before[0]!)).toEqual({
      type: 'error',
      ref: 'read',
      code: 'NOT_FOUND',
      message: 'no thread dm:alice:bob',
      details: { threadId: 'dm:alice:bob' },
    });
    // A dm that will never exist answers the same, but for the id it repeats back.
    const never = await ask(carol, probes('dm:alice:dave', undefined));
    expect(never.map((t) => t.replaceAll('dm:alice:dave', dm))).toEqual(before);
    // And the members still read their thread.
    const bob = await connect('bob');
    expect((await bob.ask({ type: 'read', threadId: dm, upToSeq: 1 })).frame).toMatchObject({ type: 'ok' });
  });

  test('a group: before it exists, while it exists, and for a former member — the same bytes', async () => {
    const { connect } = await start(PEOPLE);
    const [alice, dave] = [await connect('alice'), await connect('dave')];

    const before = await ask(dave, probes('group:g1', 'g1'));
    const created = await alice.ask({ type: 'group.create', name: 'Trip', memberIds: ['bob', 'dave'] });
    expect(created.frame).toMatchObject({ type: 'group', group: { id: 'g1' } });
    await alice.ask({ type: 'send', clientMessageId: 'm1', groupId: 'g1', text: 'plans?' });
    expect((await dave.ask({ type: 'group.leave', groupId: 'g1' })).frame).toMatchObject({ type: 'group' });

    const after = await ask(dave, probes('group:g1', 'g1'));
    expect(after).toEqual(before);
    expect(before.map((t) => JSON.parse(t) as { code: string; message: string })).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'NOT_FOUND', message: 'no thread group:g1' }),
        expect.objectContaining({ code: 'NOT_FOUND', message: 'no group g1' }),
      ]),
    );
    for (const text of before) expect(JSON.parse(text)).toMatchObject({ type: 'error', code: 'NOT_FOUND' });

    // A member still gets specific answers: bob may not add (he is not an admin), and says so.
    const bob = await connect('bob');
    expect((await bob.ask({ type: 'group.add', groupId: 'g1', userIds: ['carol'] })).frame).toMatchObject({
      type: 'error',
      code: 'FORBIDDEN',
    });
    // Nothing the stranger sent reached the group.
    await bob.settle();
    const texts = bob.frames.flatMap((f) =>
      f.type === 'entry' && f.entry.type === 'message' ? [f.entry.message.text] : [],
    );
    expect(texts).not.toContain('anyone?');
  });

  test('muting a thread tells nothing either: the same answer whether it exists or not', async () => {
    const { system, connect } = await start(PEOPLE);
    const carol = await connect('carol');
    const mute = { type: 'settings.set', ref: 'mute', mute: { threadId: 'dm:alice:bob' } };
    const unmute = { type: 'settings.set', ref: 'unmute', unmute: { threadId: 'dm:alice:bob' } };
    const before = await ask(carol, [mute, unmute]);
    await system.sendMessage({ from: 'alice', to: 'bob', text: 'hello' });
    expect(await ask(carol, [mute, unmute])).toEqual(before);
  });
});

describe('global search finds only people who chose to be found, a few at a time', () => {
  const global = (query: string, limit?: number) => ({
    type: 'contacts.search',
    query,
    global: true,
    ...(limit === undefined ? {} : { limit }),
  });
  const ids = (h: Heard): string[] =>
    h.frame.type === 'contacts' ? h.frame.results.map((r) => r.id) : [`not contacts: ${h.text}`];

  test('discoverable users only, never one who blocked the searcher; contacts search is unchanged', async () => {
    const { connect } = await start({
      me: 'Me',
      johann: 'Johann Strauss',
      johanna: 'Johanna Strauss',
      richard: 'Richard Strauss',
    });
    const me = await connect('me');
    const johann = await connect('johann');
    const johanna = await connect('johanna');
    const richard = await connect('richard');
    expect(ids(await me.ask(global('strauss')))).toEqual([]); // nobody is discoverable by default

    for (const d of [johann, richard]) {
      expect((await d.ask({ type: 'settings.set', discoverable: true })).frame).toMatchObject({
        settings: { discoverable: true },
      });
    }
    expect(ids(await me.ask(global('strauss')))).toEqual(['johann', 'richard']);
    expect(ids(await me.ask(global('STRAUß jo')))).toEqual(['johann']);

    await richard.ask({ type: 'settings.set', block: 'me' });
    expect(ids(await me.ask(global('strauss')))).toEqual(['johann']);

    // johanna is a contact: found among contacts, not globally (she did not opt in).
    await me.ask({ type: 'contacts.add', userId: 'johanna' });
    expect(ids(await me.ask({ type: 'contacts.search', query: 'jo' }))).toEqual(['johanna']);
    expect(ids(await me.ask(global('johanna')))).toEqual([]);
    await johanna.ask({ type: 'settings.set', discoverable: true });
    expect(ids(await me.ask(global('johanna')))).toEqual(['johanna']);
    await johann.ask({ type: 'settings.set', discoverable: false });
    expect(ids(await me.ask(global('strauss')))).toEqual(['johanna']);
  });

  test('a query needs 3 characters, results are clamped to 20, and the 31st search in a minute waits', async () => {
    const users: Record<string, string> = { me: 'Me' };
    for (let i = 1; i <= 30; i++) users[`tester${i}`] = `Tester Number${i}`;
    const { system, clock, connect } = await start(users);
    for (let i = 1; i <= 30; i++) system.settings(`tester${i}`).setDiscoverable(true);
    const me = await connect('me');

    // Refused inputs spend nothing: these come before 30 accepted searches, and all 30 still pass.
    for (const query of ['te', ' t ', 'te st', 'ab cd']) {
      expect((await me.ask(global(query))).frame).toMatchObject({
        type: 'error',
        code: 'VALIDATION',
        details: { field: 'query', min: 3 },
      });
    }
    expect((await me.ask(global('tester', 0))).frame).toMatchObject({ code: 'VALIDATION' });

    expect(ids(await me.ask(global('tester', 1000)))).toHaveLength(20); // clamped
    expect(ids(await me.ask(global('tester')))).toHaveLength(20);
    expect(ids(await me.ask(global('tester', 5)))).toHaveLength(5);
    for (let i = 4; i <= 30; i++) {
      expect((await me.ask(global('tes number'))).frame).toMatchObject({ type: 'contacts' });
    }

    const refused = await me.ask(global('tester'));
    expect(refused.frame).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    if (refused.frame.type !== 'error') throw new Error('unreachable');
    const retryAfterMs = refused.frame.details?.retryAfterMs as number;
    expect(retryAfterMs).toBe(2_000); // 30 a minute: one search comes back every 2 s
    // Searching one's contacts is not limited.
    expect((await me.ask({ type: 'contacts.search', query: 'te' })).frame).toMatchObject({
      type: 'contacts',
    });

    clock.advance(retryAfterMs - 1);
    expect((await me.ask(global('tester'))).frame).toMatchObject({ code: 'RATE_LIMITED' });
    clock.advance(1);
    expect(ids(await me.ask(global('tester')))).toHaveLength(20);
    expect((await me.ask(global('tester'))).frame).toMatchObject({ code: 'RATE_LIMITED' });
    clock.advance(60_000);
    for (let i = 0; i < 30; i++) expect((await me.ask(global('tester'))).frame.type).toBe('contacts');
  });

  test('the setting survives a restart on SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-room-privacy-'));
    try {
      const file = join(dir, 'chat.db');
      const clock = new ManualClock(T0);
      const firstStores = openSqliteStores(file);
      const first = await ChatSystem.open({ clock, ...firstStores });
      for (const [id, name] of Object.entries({ alice: 'Alice Liddell', bob: 'Bob' })) {
        first.registerUser({ id, name });
      }
      const one = await start({}, { system: first, clock });
      const alice = await (await one.connect('alice')).ask({ type: 'settings.set', discoverable: true });
      expect(alice.frame).toMatchObject({ settings: { discoverable: true } });
      await one.close();
      rigs = [];
      await firstStores.close();

      const secondStores = openSqliteStores(file);
      const second = await ChatSystem.open({ clock, ...secondStores });
      const two = await start({}, { system: second, clock });
      const bob = await two.connect('bob');
      expect(ids(await bob.ask(global('liddell')))).toEqual(['alice']);
      expect((await (await two.connect('alice')).ask({ type: 'settings.get' })).frame).toMatchObject({
        settings: { discoverable: true },
      });
      expect(second.settings('bob').discoverable).toBe(false); // never set: the default
      await two.close();
      rigs = [];
      await secondStores.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
