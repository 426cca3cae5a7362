/**
 * Intent: show the away route. While Bob's app is in the background he is away: each new message becomes a push
 * notification (title, preview, badge) and waits in his inbox, so Alice sees one check. A muted thread sends no
 * push; with previews off the push says 'New message' instead of the text. When Bob brings the app to the
 * foreground it catches up, in order, and Alice's checks turn double. A phone registered for push keeps Bob away
 * for a while after the app is closed; after that he is offline and messages just wait.
 *
 * Every line is printed by a listener as the event fires, or by asking the system. A `ManualClock` and fixed ids
 * make the output identical on every run; it is committed as `away-push.out.txt` and checked by
 * `test/examples.test.ts`.
 *
 * @module
 */
import type { ChatSession, Message } from 'chat-room';
import { ChatSystem, InMemoryPushNotifier, ManualClock } from 'chat-room';

const MINUTE = 60_000;
const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0));
const push = new InMemoryPushNotifier();
let nextId = 0;
const chat = ChatSystem.create({
  clock,
  pushNotifier: push,
  newId: () => (++nextId === 1 ? 'trip' : `id-${nextId}`),
});

/** The clock's time as HH:MM (UTC), so the transcript does not depend on the machine's time zone. */
function hhmm(at: number = clock.now()): string {
  return new Date(at).toISOString().slice(11, 16);
}

function say(who: string, what: string): void {
  console.log(`${hhmm()}  ${who.padEnd(6)} ${what}`);
}

const name = (id: string): string => chat.getUser(id).name;

const onPresence = ({ userId, state }: { userId: string; state: string }): void => {
  if (userId === 'bob') say('server', `Bob is now ${state}`);
};
chat.notifications.on('presence', onPresence);
chat.notifications.on('push', (n) =>
  say('push', `→ ${n.deviceId} ┃ ${n.title}: ${n.body} ┃ badge ${n.badge}`),
);

/** Sends as someone and says whether a push went out. */
async function send(from: string, to: { to: string } | { groupId: string }, text: string): Promise<Message> {
  const where = 'to' in to ? name(to.to) : chat.getGroup(to.groupId).name;
  say(name(from), `→ ${where}: "${text}"`);
  const before = push.sent.length;
  const m = await chat.sendMessage({ from, ...to, text, clientMessageId: `${from}-${nextId++}` });
  if (push.sent.length === before) say('push', `(none) — "${text}" waits in Bob's inbox`);
  return m;
}

function bobPhone(foreground: boolean): ChatSession {
  const session = chat.connect('bob', { deviceId: 'bob-phone', foreground });
  session.on('message', (m) => say('Bob', `phone shows ${name(m.senderId)}: "${m.text}"`));
  return session;
}

async function main(): Promise<void> {
  console.log('Away: push notifications while the app is in the background');
  for (const [id, display] of [
    ['alice', 'Alice'],
    ['bob', 'Bob'],
    ['carol', 'Carol'],
  ] as const) {
    chat.registerUser({ id, name: display });
  }
  const trip = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
  const alice = chat.connect('alice', { deviceId: 'alice-phone' });
  alice.on('receipt', (r) => {
    const where = chat.getFeed('alice').get(r.threadId)?.title ?? r.threadId;
    say('Alice', `${r.status === 'read' ? '✓✓ blue' : '✓✓'} in "${where}" up to message ${r.upToSeq}`);
  });

  console.log("\n1. Bob's phone is registered for push; his app is in the background");
  chat.registerPushDevice('bob', 'bob-phone');
  let bob = bobPhone(false);
  await chat.idle();
  const hello = await send('alice', { to: 'bob' }, 'Hello Gainlo');
  clock.advance(MINUTE);
  const flights = await send('alice', { groupId: trip.id }, 'Flights are booked');
  const ticks = (m: Message): string => (m.status === 'sent' ? '✓' : m.status);
  say('Alice', `sees ${ticks(hello)} and ${ticks(flights)}: the messages are stored, not yet on Bob's phone`);
  const group = flights.threadId;

  console.log('\n2. Bob mutes Trip, then turns message previews off');
  clock.advance(MINUTE);
  chat.settings('bob').mute(group);
  say('Bob', `mutes Trip (muted: ${chat.settings('bob').isMuted(group)})`);
  await send('carol', { groupId: trip.id }, 'Who brings sunscreen?');
  clock.advance(MINUTE);
  chat.settings('bob').setPreviews(false);
  say('Bob', `turns previews off (previews: ${chat.settings('bob').previews})`);
  await send('carol', { to: 'bob' }, 'The party is a surprise!');

  console.log('\n3. Bob opens the app: foreground, it catches up');
  clock.advance(2 * MINUTE);
  await bob.setForeground(true);
  await chat.idle();
  for (const e of chat.getFeed('bob').top(10)) {
    const muted = chat.settings('bob').isMuted(e.threadId) ? ' (muted)' : '';
    say('Bob', `chat list: ${`${e.title}${muted}`.padEnd(12)} ${e.unread} unread · "${e.preview}"`);
  }

  console.log('\n4. Bob closes the app; his phone stays registered for push');
  clock.advance(MINUTE);
  say('Bob', 'swipes the app away: the connection closes');
  bob.disconnect();
  await chat.idle();
  clock.advance(4 * MINUTE);
  await send('alice', { to: 'bob' }, 'Call me?');
  clock.advance(10 * MINUTE);
  say('server', `over 10 minutes since the phone was connected: Bob is ${chat.deliveryStateOf('bob')}`);
  await send('alice', { to: 'bob' }, 'Never mind, see you tonight');
  clock.advance(MINUTE);
  bob = bobPhone(true);
  await bob.ready;
  await chat.idle();

  chat.notifications.off('presence', onPresence);
  console.log(`\nThe push service sent ${push.sent.length} notifications:`);
  for (const n of push.sent) console.log(`  ${n.title.padEnd(12)} ${n.body}`);
  await chat.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
