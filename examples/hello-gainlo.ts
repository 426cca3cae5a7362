/**
 * Intent: walk through the seed's whole flow with one chat server — Alice sends "Hello Gainlo" to Bob, the server
 * stores it and acks (✓), Bob's phone receives it and acks delivery (✓✓), Bob reads it (✓✓ blue); then Bob is
 * away (a push notification while the message waits in his inbox), comes back and catches up, goes offline (the
 * server keeps the message) and reconnects; finally Alice opens her chat list.
 *
 * Every line is printed by an event listener as it fires: the server's lines come from `chat.notifications`,
 * the phones' lines from each `ChatSession`. A `ManualClock` and fixed ids make the output identical on every
 * run; it is committed as `hello-gainlo.out.txt` and checked by `test/examples.test.ts`.
 *
 * Run it with `npm run demo`.
 *
 * @module
 */
import type { ChatSession, ChatWindow, MessageStatus, RecipientState } from 'chat-room';
import { ChatSystem, InMemoryPushNotifier, ManualClock } from 'chat-room';

const MINUTE = 60_000;
const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0));
const push = new InMemoryPushNotifier();
let nextId = 0;
const chat = ChatSystem.create({ clock, pushNotifier: push, newId: () => `id-${++nextId}` });

/** The clock's time as HH:MM (UTC), so the transcript does not depend on the machine's time zone. */
function hhmm(at: number = clock.now()): string {
  return new Date(at).toISOString().slice(11, 16);
}

/** One narrated line: the time, who speaks, what happened. */
function say(who: string, what: string): void {
  console.log(`${hhmm()}  ${who.padEnd(7)} ${what}`);
}

const TICKS: Record<MessageStatus, string> = { sent: '✓      ', delivered: '✓✓     ', read: '✓✓ blue' };

/** Alice's open chat with Bob: a `ChatWindow` keeps her messages with their ticks up to date. */
function watchAlice(session: ChatSession, window: ChatWindow): void {
  const shown = new Map<string, MessageStatus>();
  session.on('ack', (a) => {
    shown.set(a.messageId, 'sent');
    say('Alice', `${TICKS.sent} "${typed.get(a.clientMessageId)}" (the server's ack: stored)`);
  });
  window.on('receipt', (r) => {
    const moved = window.messages.filter((m) => m.senderId === 'alice' && shown.get(m.id) !== m.status);
    for (const m of moved) shown.set(m.id, m.status);
    const why = r.status === 'read' ? 'Bob has read' : "Bob's app acked delivery of";
    say('Alice', `${TICKS[r.status]} ${why} ${moved.map((m) => `"${m.text}"`).join(', ')}`);
  });
  session.on('message', (m) =>
    say('Alice', `new message from ${chat.getUser(m.senderId).name}: "${m.text}"`),
  );
}

function watchBob(session: ChatSession): void {
  session.on('message', (m) => say('Bob', `phone shows "${m.text}"`));
  session.on('push', (n) => say('Bob', `push notification ┃ ${n.title}: ${n.body} ┃ badge ${n.badge}`));
}

// The server's side: what it stored and, for each recipient, the route it takes (decided by their state now).
const ROUTES: Record<RecipientState, string> = {
  online: 'online → sent now',
  away: 'away → push; it waits in the inbox',
  offline: 'offline → kept in the inbox',
};
const expected = new Map<string, RecipientState>();
chat.notifications.on('message-stored', ({ message, recipientIds }) => {
  const routes = recipientIds.map((id) => {
    const state = chat.deliveryStateOf(id);
    expected.set(`${message.id}>${id}`, state);
    return `${chat.getUser(id).name} is ${ROUTES[state]}`;
  });
  say('server', `stored as #${message.seq} of ${message.threadId}; ${routes.join('; ')}`);
});
chat.notifications.on('message-routed', ({ messageId, userId, route }) => {
  // The prediction above and the route taken must agree; say so loudly if they ever do not.
  if (expected.get(`${messageId}>${userId}`) !== route) say('server', `!! routed ${messageId} ${route}`);
});

/** What Alice typed, by the id her phone gave it (the ack names that id). */
const typed = new Map<string, string>();

/** Alice types a message in the open chat with Bob. */
async function aliceSends(session: ChatSession, text: string, id: string): Promise<void> {
  console.log(`${hhmm()}  Alice sends "${text}"`);
  typed.set(id, text);
  await session.send({ to: 'bob', text, clientMessageId: id });
  await chat.idle();
}

async function main(): Promise<void> {
  console.log('Hello Gainlo: one chat server, two phones (✓ stored, ✓✓ delivered, blue = read)');
  chat.registerUser({ id: 'alice', name: 'Alice' });
  chat.registerUser({ id: 'bob', name: 'Bob' });
  chat.registerUser({ id: 'carol', name: 'Carol' });
  chat.addContact('alice', 'bob');
  chat.addContact('bob', 'alice');

  console.log('\n1. Bob is online');
  const alice = chat.connect('alice', { deviceId: 'alice-phone' });
  let bob = chat.connect('bob', { deviceId: 'bob-phone' });
  watchAlice(alice, alice.openWindow(chat.directThreadId('alice', 'bob')));
  watchBob(bob);
  await Promise.all([alice.ready, bob.ready]);
  await aliceSends(alice, 'Hello Gainlo', 'alice-1');
  clock.advance(MINUTE);
  const threadId = chat.directThreadId('alice', 'bob');
  say('Bob', 'opens the chat with Alice');
  await bob.markRead(threadId, 1);
  await chat.idle();

  console.log('\n2. Bob is away (the app is in the background)');
  clock.advance(MINUTE);
  await bob.setForeground(false);
  await aliceSends(alice, 'Lunch at noon?', 'alice-2');
  clock.advance(3 * MINUTE);
  say('Bob', 'taps the notification: the app comes to the foreground and catches up');
  await bob.setForeground(true);
  await chat.idle();

  console.log('\n3. Bob is offline (no connection at all)');
  clock.advance(MINUTE);
  bob.disconnect();
  await chat.idle();
  say('Bob', `phone loses its connection; its inbox cursor is #${bob.cursor}`);
  clock.advance(2 * MINUTE);
  await aliceSends(alice, 'Bring the slides', 'alice-3');
  clock.advance(5 * MINUTE);
  bob = chat.connect('bob', { deviceId: 'bob-phone' });
  watchBob(bob);
  say('Bob', 'phone reconnects; the server sends what came after the cursor it saved for the phone');
  await bob.ready;
  await chat.idle();

  console.log('\n4. Carol and Bob write to Alice');
  clock.advance(MINUTE);
  await chat.sendMessage({ from: 'carol', to: 'alice', text: 'Coffee later?', clientMessageId: 'carol-1' });
  clock.advance(MINUTE);
  say('Bob', 'replies in the chat (so he has seen it)');
  await bob.send({ to: 'alice', text: 'On my way with the slides!', clientMessageId: 'bob-1' });
  await chat.idle();
  say('Alice', 'opens the app: her chat list, newest first');
  for (const e of chat.getFeed('alice').top(10)) {
    const unread = e.unread === 0 ? '' : `${e.unread} unread`;
    console.log(`  ${hhmm(e.lastActivityAt)}  ${e.title.padEnd(6)} ${`"${e.preview}"`.padEnd(30)} ${unread}`);
  }
  await chat.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
