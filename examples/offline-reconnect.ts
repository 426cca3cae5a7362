/**
 * Intent: show that nothing is lost or doubled while a phone is offline. The server keeps every message in Bob's
 * inbox; when Bob's phone reconnects it resumes after the cursor the server saved for that device and receives
 * each message exactly once, in order. A send whose ack was lost is retried with the same `clientMessageId` and
 * stored once; a network that duplicates every frame shows nothing twice either.
 *
 * Every line is printed by a listener as the event fires. A `ManualClock` and fixed ids make the output
 * identical on every run; it is committed as `offline-reconnect.out.txt` and checked by
 * `test/examples.test.ts`.
 *
 * @module
 */
import type { ChatSession } from 'chat-room';
import { ChatRoomError, ChatSystem, ManualClock } from 'chat-room';

const MINUTE = 60_000;
const clock = new ManualClock(Date.UTC(2026, 0, 1, 18, 0));
let nextId = 0;
const chat = ChatSystem.create({ clock, newId: () => `id-${++nextId}` });

/** The clock's time as HH:MM (UTC), so the transcript does not depend on the machine's time zone. */
function hhmm(): string {
  return new Date(clock.now()).toISOString().slice(11, 16);
}

function say(who: string, what: string): void {
  console.log(`${hhmm()}  ${who.padEnd(6)} ${what}`);
}

let stored = 0;
chat.notifications.on('message-stored', ({ message }) => {
  stored++;
  say('server', `stored "${message.text}" as ${message.id}`);
});
chat.notifications.on('message-routed', ({ userId, route }) => {
  if (route !== 'online') say('server', `${userId} is ${route}: it waits in the inbox`);
});

/** Alice's phone: her acks (✓) and receipts (✓✓). */
function alicePhone(): ChatSession {
  const session = chat.connect('alice', { deviceId: 'alice-phone' });
  session.on('ack', (a) => say('Alice', `✓  ${a.messageId} (clientMessageId ${a.clientMessageId})`));
  session.on('receipt', (r) => say('Alice', `✓✓ Bob's phone has everything up to message ${r.upToSeq}`));
  return session;
}

/** What Bob's phone showed, across all its connections. */
const shown: { id: string; seq: number }[] = [];

/** Bob's phone: what it shows, with the inbox entry it came in. */
function bobPhone(): ChatSession {
  const session = chat.connect('bob', { deviceId: 'bob-phone' });
  session.on('message', (m) => {
    shown.push({ id: m.id, seq: m.seq });
    say('Bob', `phone shows "${m.text}" (inbox entry #${session.cursor})`);
  });
  return session;
}

async function main(): Promise<void> {
  console.log('Offline and back: every message kept, each shown once and in order');
  chat.registerUser({ id: 'alice', name: 'Alice' });
  chat.registerUser({ id: 'bob', name: 'Bob' });
  let alice = alicePhone();
  let bob = bobPhone();
  await chat.idle();

  console.log("\n1. Bob's phone is online, then loses its connection");
  await alice.send({ to: 'bob', text: 'Are we still on for tonight?', clientMessageId: 'alice-1' });
  await chat.idle();
  clock.advance(MINUTE);
  bob.disconnect();
  await chat.idle();
  say('Bob', `phone goes into a tunnel: offline, its cursor is #${bob.cursor}`);

  console.log('\n2. While Bob is offline, the server keeps what arrives');
  for (const [i, text] of [
    'Table booked for 8',
    'It is at Rua Augusta 12',
    'Call me when you land',
  ].entries()) {
    clock.advance(MINUTE);
    await alice.send({ to: 'bob', text, clientMessageId: `alice-${i + 2}` });
    await chat.idle();
  }

  console.log("\n3. Alice's connection drops before the ack; her app retries with the same clientMessageId");
  clock.advance(MINUTE);
  const lost = alice.send({ to: 'bob', text: 'Running 10 min late', clientMessageId: 'alice-5' });
  alice.disconnect();
  try {
    await lost;
  } catch (error) {
    const code = error instanceof ChatRoomError ? error.code : String(error);
    say('Alice', `no ack (${code}: ${(error as Error).message}): the message shows a clock`);
  }
  await chat.idle();
  alice = alicePhone();
  await alice.ready;
  say('Alice', 'reconnects and retries alice-5');
  await alice.send({ to: 'bob', text: 'Running 10 min late', clientMessageId: 'alice-5' });
  await chat.idle();
  say('server', `messages stored so far: ${stored} (the retry stored nothing new)`);

  console.log("\n4. Bob's phone reconnects and resumes after the cursor the server saved for it");
  clock.advance(5 * MINUTE);
  bob = bobPhone();
  await bob.ready;
  await chat.idle();
  const page = await bob.sync({ after: 0 });
  await chat.idle();
  say('Bob', `phone asks again from #0: ${page.messages.length} messages come back, none is shown twice`);

  console.log('\n5. A flaky network now delivers every frame twice');
  clock.advance(MINUTE);
  chat.transport.setFaults({ random: () => 0, duplicate: 1 });
  await alice.send({ to: 'bob', text: 'Boarding now', clientMessageId: 'alice-6' });
  await chat.idle();
  chat.transport.setFaults(undefined);

  const ids = shown.map((m) => m.id);
  const once = new Set(ids).size === ids.length;
  const inOrder = shown.every((m, i) => m.seq === i + 1);
  console.log(
    `\nBob's phone showed ${shown.length} of ${stored} stored messages, ` +
      `${once ? 'each exactly once' : 'SOME TWICE'}, ${inOrder ? 'in thread order' : 'OUT OF ORDER'}: ` +
      `seq ${shown.map((m) => m.seq).join(', ')}`,
  );
  await chat.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
