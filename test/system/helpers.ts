import type { ChatSession, Message, PresencePolicyName, ReceiptData } from 'chat-room';
import { ChatSystem, InMemoryMessageStore, InMemoryPushNotifier, ManualClock } from 'chat-room';

export const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

/** A system on a manual clock with the users alice, bob, carol and dave. */
export function makeChat(
  options: { maxInboxEntries?: number; awayWindowMs?: number; presencePolicy?: PresencePolicyName } = {},
) {
  const clock = new ManualClock(T0);
  const push = new InMemoryPushNotifier();
  const store = new InMemoryMessageStore(
    options.maxInboxEntries === undefined ? {} : { maxInboxEntries: options.maxInboxEntries },
  );
  let n = 0;
  const chat = ChatSystem.create({
    clock,
    pushNotifier: push,
    store,
    newId: () => `id${++n}`,
    ...(options.awayWindowMs === undefined ? {} : { awayWindowMs: options.awayWindowMs }),
    ...(options.presencePolicy === undefined ? {} : { presencePolicy: options.presencePolicy }),
  });
  for (const [id, name] of [
    ['alice', 'Alice'],
    ['bob', 'Bob'],
    ['carol', 'Carol'],
    ['dave', 'Dave'],
  ] as const) {
    chat.registerUser({ id, name });
  }
  return { chat, clock, push, store };
}

/** Records what a session shows its user. */
export function watch(session: ChatSession) {
  const got = {
    messages: [] as Message[],
    sent: [] as Message[],
    receipts: [] as ReceiptData[],
    pushes: [] as string[],
  };
  session.on('message', (m) => got.messages.push(m));
  session.on('message-sent', (m) => got.sent.push(m));
  session.on('receipt', (r) => got.receipts.push(r));
  session.on('push', (p) => got.pushes.push(`${p.title}: ${p.body}`));
  return got;
}
