/**
 * Intent: show what happens to a message after it is sent. A reply quotes the message it answers; the sender
 * edits a text within 15 minutes (and not after); a message deleted for everyone becomes a tombstone on every
 * device, its words gone from the store; a message deleted "for me" leaves only that user's history; each member
 * has one reaction per message. A quote keeps what was said when it was answered. Every change travels as an inbox
 * entry, like a receipt: live to the phones that
 * are on, and exactly once, in order, to a phone that was off and syncs later. None of it makes a push or moves
 * the chat list.
 *
 * Every line is printed by a listener as the event fires, or by asking the system (history, the chat list). A
 * `ManualClock` and fixed ids make the output identical on every run; it is committed as
 * `reply-edit-react.out.txt` and checked by `test/examples.test.ts`.
 *
 * @module
 */
import type { ChatSession, Message, MessageChange } from 'chat-room';
import { ChatRoomError, ChatSystem, ManualClock } from 'chat-room';

const MINUTE = 60_000;
const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0));
const chat = ChatSystem.create({ clock, newId: () => 'trip' });

/** The clock's time as HH:MM (UTC), so the transcript does not depend on the machine's time zone. */
function hhmm(): string {
  return new Date(clock.now()).toISOString().slice(11, 16);
}

function say(who: string, what: string): void {
  console.log(`${hhmm()}  ${who.padEnd(6)} ${what}`);
}

const name = (id: string): string => chat.getUser(id).name;

/** A message as a phone shows it: the quote it answers, its text or tombstone, "edited", its reactions. */
function show(m: Message): string {
  const quote =
    m.replyTo === undefined
      ? ''
      : `[↩ ${name(m.replyTo.senderId)}: ${m.replyTo.deleted === true ? 'deleted message' : m.replyTo.preview}] `;
  const text = m.deleted ? '🚫 deleted' : `"${m.text}"${m.editedAt === undefined ? '' : ' (edited)'}`;
  const reactions = Object.entries(m.reactions ?? {}).map(([emoji, users]) => `${emoji}${users.length}`);
  return `${name(m.senderId)}: ${quote}${text}${reactions.length === 0 ? '' : ` ${reactions.join(' ')}`}`;
}

/** What a change is, in words. */
function describe(c: MessageChange): string {
  const who = name(c.userId);
  switch (c.kind) {
    case 'edit':
      return `${who} edited #${c.seq}`;
    case 'delete':
      return `${who} deleted #${c.seq} for everyone`;
    case 'reaction':
      return c.emoji === null
        ? `${who} took back a reaction on #${c.seq}`
        : `${who} reacted ${c.emoji} to #${c.seq}`;
    case 'hide':
      return `${who} deleted #${c.seq} for themselves`;
  }
}

/** A phone that narrates each change it applies. */
function phone(userId: string): ChatSession {
  const session = chat.connect(userId, { deviceId: `${userId}-phone` });
  session.on('change', (c) => say(name(userId), `phone applies: ${describe(c)}`));
  return session;
}

async function refused(who: string, what: string, work: Promise<unknown>): Promise<void> {
  try {
    await work;
    say(who, `${what}: that should not happen`);
  } catch (error) {
    const code = error instanceof ChatRoomError ? error.code : String(error);
    say(who, `${what}: refused (${code}: ${(error as Error).message})`);
  }
}

async function main(): Promise<void> {
  console.log('Replies, edits, deletes and reactions: what changes after a message is sent');
  for (const [id, display] of [
    ['alice', 'Alice'],
    ['bob', 'Bob'],
    ['carol', 'Carol'],
  ] as const) {
    chat.registerUser({ id, name: display });
  }
  const group = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
  const threadId = chat.groupThreadId(group.id);
  const alice = phone('alice');
  const bob = phone('bob');
  const window = bob.openWindow(threadId);
  await Promise.all([alice.ready, bob.ready]);

  console.log("\n1. A reply quotes what it answers (Carol's phone is off)");
  const plan = await alice.send({ groupId: group.id, text: 'Lisbon or Porto in May?' });
  say('Alice', `sends #${plan.seq} "Lisbon or Porto in May?"`);
  clock.advance(MINUTE);
  const reply = await bob.send({ groupId: group.id, text: 'Lisbon! 🌞', replyTo: plan.messageId });
  say('Bob', `answers it with #${reply.seq}`);
  await chat.idle();
  for (const m of window.messages) say('Bob', `window: ${show(m)}`);

  console.log('\n2. Edits within 15 minutes, reactions one per member');
  clock.advance(4 * MINUTE);
  say('Alice', 'edits #1 to "Lisbon or Porto in June?"');
  await alice.edit(plan.messageId, 'Lisbon or Porto in June?');
  await chat.idle();
  say('Bob', 'reacts ❤️ to #1');
  await bob.react(plan.messageId, '❤️');
  await chat.idle();
  say('Carol', 'reacts 👍 to #1 from her laptop');
  await chat.react('carol', plan.messageId, '👍');
  await chat.idle();
  say('Bob', 'changes his reaction to 😂');
  await bob.react(plan.messageId, '😂');
  await chat.idle();
  say('Bob', `window: ${show(window.messages[0]!)}`);
  clock.advance(11 * MINUTE);
  await refused(
    'Alice',
    'edits #1 again, 16 minutes after sending',
    alice.edit(plan.messageId, 'Porto it is'),
  );

  console.log('\n3. Delete for everyone, and delete for me');
  const oops = await bob.send({ groupId: group.id, text: 'my PIN is 1234' });
  say('Bob', `sends #${oops.seq} to the wrong chat`);
  await chat.idle();
  say('Bob', `deletes #${oops.seq} for everyone`);
  await bob.deleteMessage(oops.messageId, { forEveryone: true });
  await chat.idle();
  await refused(
    'Carol',
    `deletes Bob's #${reply.seq} for everyone`,
    chat.deleteMessage('carol', reply.messageId, { forEveryone: true }),
  );
  say('Carol', `deletes #${reply.seq} for herself, from her laptop: nobody else hears of it`);
  await chat.deleteMessage('carol', reply.messageId, { forEveryone: false });
  await chat.idle();
  for (const m of window.messages) say('Bob', `window: ${show(m)}`);
  const stored = await chat.store.getMessage(oops.messageId);
  say(
    'server',
    `#${oops.seq} in the store: text "${stored?.text}", deleted ${stored?.deletedAt !== undefined}`,
  );

  console.log("\n4. Carol's phone comes on: every change once, in order");
  clock.advance(MINUTE);
  say('Carol', 'turns her phone on');
  const carol = phone('carol');
  await carol.ready;
  await chat.idle();
  for (const user of ['bob', 'carol']) {
    const page = await chat.history(user, threadId);
    say(name(user), `history: ${page.messages.map((m) => `#${m.seq}`).join(', ')} (newest first)`);
  }
  const top = chat.getFeed('bob').top(1)[0];
  say('Bob', `chat list: ${top?.title} "${top?.preview}", ${top?.unread} unread`);
  await chat.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
