/**
 * Intent: settings at work on a busy group — Bob mutes "Trip" for eight hours, so its messages stop buzzing his
 * phone while they still arrive; a direct message still gets through; he turns message previews off; when the
 * mute runs out the group notifies him again. The messages wait in his inbox either way.
 *
 * Run it with `npx ts-node examples/mute-group.ts`; its output is `mute-group.out.txt`.
 *
 * @module
 */
import { ChatSystem, InMemoryPushNotifier, ManualClock } from 'chat-room';

const HOUR = 3_600_000;

async function main(): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 6, 4, 22, 0));
  const push = new InMemoryPushNotifier();
  let ids = 0;
  const chat = ChatSystem.create({ clock, pushNotifier: push, newId: () => `trip-${++ids}` });
  for (const [id, name] of [
    ['alice', 'Alice'],
    ['bob', 'Bob'],
    ['carol', 'Carol'],
  ] as const) {
    chat.registerUser({ id, name });
  }
  const trip = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
  const time = (): string => new Date(clock.now()).toISOString().slice(11, 16);
  const bob = chat.connect('bob', { foreground: false }); // the phone is in his pocket
  bob.on('push', (n) => console.log(`${time()}  Bob's phone buzzes: ${n.title} — ${n.body}`));
  await bob.ready;

  const say = async (
    from: string,
    where: { to: string } | { groupId: string },
    text: string,
  ): Promise<void> => {
    console.log(
      `${time()}  ${chat.getUser(from).name} → ${'to' in where ? chat.getUser(where.to).name : 'Trip'}: "${text}"`,
    );
    await chat.sendMessage({ from, ...where, text });
  };

  await say('alice', { groupId: trip.id }, 'Flights are booked!');
  const bobs = chat.settings('bob');
  bobs.mute(chat.groupThreadId(trip.id), { until: clock.now() + 8 * HOUR });
  console.log(`${time()}  Bob mutes Trip for 8 hours`);
  await say('carol', { groupId: trip.id }, 'Who brings the tent?');
  await say('alice', { groupId: trip.id }, 'Not me');
  await say('carol', { to: 'bob' }, 'Are you awake?');
  bobs.setPreviews(false);
  console.log(`${time()}  Bob turns message previews off`);
  await say('carol', { to: 'bob' }, 'Call me when you can');
  clock.advance(9 * HOUR);
  console.log(
    `${time()}  the mute has run out: Trip is ${bobs.isMuted(chat.groupThreadId(trip.id)) ? 'muted' : 'not muted'}`,
  );
  await say('alice', { groupId: trip.id }, 'Good morning, campers');

  await bob.setForeground(true);
  await chat.idle();
  console.log(`${time()}  Bob opens the app; his chat list:`);
  for (const e of chat.getFeed('bob').top(10))
    console.log(`        ${e.title.padEnd(6)} ${e.unread} unread  "${e.preview}"`);
  console.log(`pushes sent: ${push.sent.length}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
