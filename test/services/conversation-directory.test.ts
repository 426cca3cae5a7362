import type { SystemEvents } from 'chat-room';
import {
  ConversationDirectory,
  NotFoundError,
  NotificationCenter,
  UserDirectory,
  ValidationError,
} from 'chat-room';

function directory(): {
  conversations: ConversationDirectory;
  recorded: SystemEvents['record-changed'][0][];
} {
  const events = new NotificationCenter();
  const users = new UserDirectory(events);
  for (const id of ['alice', 'bob', 'carol']) users.register({ id, name: id });
  const recorded: SystemEvents['record-changed'][0][] = [];
  events.on('record-changed', (e) => recorded.push(e));
  let n = 0;
  return { conversations: new ConversationDirectory(users, events, () => `g${++n}`), recorded };
}

describe('ConversationDirectory: direct threads', () => {
  test('one thread per pair, whoever is named first, put on record once', () => {
    const { conversations, recorded } = directory();
    const thread = conversations.directThread('alice', 'bob');
    expect(conversations.directThread('bob', 'alice')).toBe(thread);
    expect(conversations.directThread('alice', 'carol')).not.toBe(thread);
    expect(conversations.thread(thread.id)).toBe(thread);
    expect(recorded.filter((e) => e.kind === 'thread').map((e) => e.id)).toEqual([
      thread.id,
      conversations.directThread('carol', 'alice').id,
    ]);
  });

  test('a thread restored after a restart is the one later sends find, and is not put on record again', () => {
    const { conversations, recorded } = directory();
    const restored = conversations.restoreThread({ id: 'dm:alice:bob', participantIds: ['alice', 'bob'] });
    restored.observe(7); // what the restart read back
    expect(conversations.directThread('bob', 'alice')).toBe(restored);
    expect(conversations.directThread('alice', 'bob').lastSeq).toBe(7);
    expect(recorded).toEqual([]);
  });

  test('refuses unknown users and a thread with oneself, and records nothing', () => {
    const { conversations, recorded } = directory();
    conversations.directThread('alice', 'bob');
    expect(() => conversations.directThread('alice', 'nobody')).toThrow(NotFoundError);
    expect(() => conversations.directThread('nobody', 'bob')).toThrow(NotFoundError);
    expect(() => conversations.directThread('alice', 'alice')).toThrow(ValidationError);
    expect(recorded).toHaveLength(1);
  });
});
