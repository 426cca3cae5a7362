/**
 * Intent: show how ticks work in a group. A group message is delivered (✓✓) once the phone of every member it
 * was sent to has it, and read (✓✓ blue) once every one of them has seen it; "message info" shows each member's
 * own ticks. A member added later never received the earlier messages, so they do not hold those ticks up; a member
 * who leaves no longer holds anything up (and can no longer post).
 *
 * Every line is printed by a listener as the event fires, or by asking the system (`messageInfo`). A
 * `ManualClock` and fixed ids make the output identical on every run; it is committed as `group-chat.out.txt`
 * and checked by `test/examples.test.ts`.
 *
 * @module
 */
import type { ChatSession, Message, MessageStatus } from 'chat-room';
import { ChatRoomError, ChatSystem, ManualClock } from 'chat-room';

const MINUTE = 60_000;
const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0));
let nextId = 0;
const chat = ChatSystem.create({ clock, newId: () => (++nextId === 1 ? 'trip' : `id-${nextId}`) });

/** The clock's time as HH:MM (UTC), so the transcript does not depend on the machine's time zone. */
function hhmm(at: number = clock.now()): string {
  return new Date(at).toISOString().slice(11, 16);
}

function say(who: string, what: string): void {
  console.log(`${hhmm()}  ${who.padEnd(6)} ${what}`);
}

const TICKS: Record<MessageStatus, string> = { sent: '✓', delivered: '✓✓', read: '✓✓ blue' };
const name = (id: string): string => chat.getUser(id).name;

/** A member's phone: narrates what arrives on it. */
function phone(userId: string): ChatSession {
  const session = chat.connect(userId, { deviceId: `${userId}-phone` });
  session.on('message', (m) => say(name(userId), `phone shows "${name(m.senderId)} @ Trip: ${m.text}"`));
  return session;
}

/** WhatsApp's "message info": the message's ticks, then each member's. */
async function info(message: Message): Promise<void> {
  const { status, members } = await chat.messageInfo('alice', message.id);
  const rows = members.map((m) => {
    if (m.read) return `${name(m.userId)} ${TICKS.read} ${hhmm(m.readAt)}`;
    if (m.delivered) return `${name(m.userId)} ${TICKS.delivered} ${hhmm(m.deliveredAt)}`;
    return `${name(m.userId)} ${TICKS.sent}`;
  });
  say('Alice', `info "${message.text}": ${TICKS[status]} │ ${rows.join(' │ ')}`);
}

async function main(): Promise<void> {
  console.log('Group chat: the ticks of a group message wait for every member it was sent to');
  for (const [id, display] of [
    ['alice', 'Alice'],
    ['bob', 'Bob'],
    ['carol', 'Carol'],
    ['dave', 'Dave'],
  ] as const) {
    chat.registerUser({ id, name: display });
  }

  console.log('\n1. Alice creates "Trip" with Bob and Carol; Carol\'s phone is off');
  const group = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
  const texts = new Map<number, string>();
  chat.notifications.on('message-stored', ({ message }) => texts.set(message.seq, message.text));
  const alice = chat.connect('alice', { deviceId: 'alice-phone' });
  alice.on('receipt', (r) => {
    const every =
      r.status === 'read' ? 'read by every recipient still in the group:' : "on every recipient's phone:";
    say('Alice', `${TICKS[r.status]} ${every} "${texts.get(r.upToSeq)}"`);
  });
  const bob = phone('bob');
  await chat.idle();
  say(
    'Alice',
    `sends "Who's in for Lisbon?" to ${group.name} (members: ${group.memberIds.map(name).join(', ')})`,
  );
  const lisbon = await chat.sendMessage({
    from: 'alice',
    groupId: group.id,
    text: "Who's in for Lisbon?",
    clientMessageId: 'alice-1',
  });
  await info(lisbon);
  clock.advance(MINUTE);
  say('Bob', 'opens the group');
  await bob.markRead(lisbon.threadId, lisbon.seq);
  await chat.idle();
  await info(lisbon);
  clock.advance(2 * MINUTE);
  say('Carol', 'turns her phone on');
  const carol = phone('carol');
  await carol.ready;
  await chat.idle();
  await info(lisbon);

  console.log('\n2. Dave joins later: the earlier message does not wait for him');
  clock.advance(MINUTE);
  chat.addGroupMembers('alice', group.id, ['dave']);
  const dave = phone('dave');
  await dave.ready;
  await chat.idle();
  say('Alice', `adds Dave; members: ${chat.getGroup(group.id).memberIds.map(name).join(', ')}`);
  say('Dave', `inbox holds ${dave.cursor} entries: he gets what is sent from now on`);
  clock.advance(MINUTE);
  say('Carol', 'opens the group');
  await carol.markRead(lisbon.threadId, lisbon.seq);
  await chat.idle();
  clock.advance(MINUTE);
  say('Alice', 'sends "Dave, you\'re in too!"');
  const dave1 = await chat.sendMessage({
    from: 'alice',
    groupId: group.id,
    text: "Dave, you're in too!",
    clientMessageId: 'alice-2',
  });
  clock.advance(MINUTE);
  say('Dave', 'and Carol open the group; Bob does not');
  await dave.markRead(dave1.threadId, dave1.seq);
  await carol.markRead(dave1.threadId, dave1.seq);
  await chat.idle();
  await info(dave1);

  console.log('\n3. Bob leaves: he no longer holds the ticks up');
  clock.advance(MINUTE);
  say('Bob', 'leaves the group');
  chat.leaveGroup('bob', group.id);
  await chat.idle();
  say('Alice', `members: ${chat.getGroup(group.id).memberIds.map(name).join(', ')}`);
  await info(dave1);
  try {
    await bob.send({ groupId: group.id, text: 'Wait, I changed my mind', clientMessageId: 'bob-1' });
    say('Bob', 'posted after leaving: that should not happen');
  } catch (error) {
    const code = error instanceof ChatRoomError ? error.code : String(error);
    say('Bob', `tries to post again: refused (${code}: ${(error as Error).message})`);
  }
  await chat.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
