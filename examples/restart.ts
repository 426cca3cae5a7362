/**
 * Intent: show what a restart keeps. A system on one SQLite file registers people, makes a group, changes a
 * setting and sends messages while Bob is offline; it stops; a new system opens the same file with
 * `ChatSystem.open` and carries on: the directory is back, Bob's chat list shows his unread messages, a thread
 * numbers on from its last seq, and when Bob's phone comes online the ticks of messages sent before the restart
 * still turn ✓✓.
 *
 * A `ManualClock` and fixed ids make the output identical on every run; it is committed as `restart.out.txt`
 * and checked by `test/examples.test.ts`. The database lives in a temporary directory, removed at the end.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatSystem, ManualClock } from 'chat-room';
import { openSqliteStores } from 'chat-room/sqlite';

const clock = new ManualClock(Date.UTC(2026, 0, 1, 18, 0));
const dir = mkdtempSync(join(tmpdir(), 'chat-room-example-'));
const file = join(dir, 'chat-room.db');
let nextId = 0;
const newId = (): string => `trip-${++nextId}`;

/** A system on the file: both SQLite stores on one handle, and whatever they hold loaded back. */
async function openSystem() {
  const stores = openSqliteStores(file);
  const chat = await ChatSystem.open({
    clock,
    newId,
    store: stores.store,
    directoryStore: stores.directoryStore,
  });
  return { chat, stores };
}

async function before(): Promise<string> {
  const { chat, stores } = await openSystem();
  chat.registerUser({ id: 'alice', name: 'Alice' });
  chat.registerUser({ id: 'bob', name: 'Bob' });
  chat.addContact('alice', 'bob');
  chat.settings('bob').setLastSeen('contacts');
  const group = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob'] });
  for (const text of ['Train at 9?', 'I booked the seats']) {
    clock.advance(60_000);
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', text });
    console.log(`before: alice → bob "${text}" #${m.seq} ${m.status}`);
  }
  clock.advance(60_000);
  await chat.sendMessage({ from: 'alice', groupId: group.id, text: 'Packing list in here' });
  await chat.close();
  await stores.close();
  console.log('-- stopped; a new system opens the same file --');
  return group.id;
}

async function after(groupId: string): Promise<void> {
  const { chat, stores } = await openSystem();
  console.log(`after: alice's contacts: ${chat.getUser('alice').contacts.join(', ')}`);
  console.log(`after: bob shows his last seen to: ${chat.settings('bob').lastSeen}`);
  console.log(
    `after: ${chat.getGroup(groupId).name} members: ${chat.getGroup(groupId).memberIds.join(', ')}`,
  );
  for (const e of chat.getFeed('bob').top(5)) {
    console.log(`after: bob's chat list: ${e.title} — "${e.preview}" (${e.unread} unread)`);
  }
  const third = await chat.sendMessage({ from: 'alice', to: 'bob', text: 'See you!' });
  console.log(`after: alice → bob "See you!" #${third.seq} ${third.status}`);
  const phone = chat.connect('bob', { deviceId: 'phone' });
  await phone.ready;
  await chat.idle();
  const first = await chat.messageInfo('alice', 'dm:alice:bob#1');
  console.log(`after: bob's phone synced; "Train at 9?" (sent before the restart) is now ${first.status}`);
  await chat.close();
  await stores.close();
}

before()
  .then(after)
  .finally(() => rmSync(dir, { recursive: true, force: true }))
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
