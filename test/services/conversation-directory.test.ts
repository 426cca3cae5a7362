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

describe('ConversationDirectory: a thread or group one is not in answers as one that does not exist', () => {
  /** The error a call throws, as the wire would carry it. */
  function refusal(act: () => unknown): { code: string; message: string; details: unknown } {
    try {
      act();
    } catch (error) {
      const { code, message, details } = error as { code: string; message: string; details: unknown };
      return { code, message, details };
    }
    throw new Error('expected a refusal');
  }

  test('memberThread: the same error for a stranger before and after the thread exists', () => {
    const { conversations } = directory();
    const before = refusal(() => conversations.memberThread('carol', 'dm:alice:bob'));
    const thread = conversations.directThread('alice', 'bob');
    expect(refusal(() => conversations.memberThread('carol', thread.id))).toEqual(before);
    expect(before).toEqual({
      code: 'NOT_FOUND',
      message: 'no thread dm:alice:bob',
      details: { threadId: 'dm:alice:bob' },
    });
    expect(refusal(() => conversations.requireMember('carol', thread))).toEqual(before);
    expect(conversations.memberThread('bob', thread.id)).toBe(thread);
    expect(() => conversations.memberThread('carol', '')).toThrow(ValidationError);
  });

  test('every group change by a non-member: the same error as for no group, and nothing recorded', () => {
    const { conversations, recorded } = directory();
    const attempts = (groupId: string) => [
      () => conversations.memberGroup('carol', groupId),
      () => conversations.memberThread('carol', `group:${groupId}`),
      () => conversations.addMembers('carol', groupId, ['carol']),
      () => conversations.removeMember('carol', groupId, 'bob'),
      () => conversations.leave('carol', groupId),
      () => conversations.promote('carol', groupId, 'bob'),
    ];
    const before = attempts('g1').map(refusal);
    const group = conversations.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob'] });
    expect(group.id).toBe('g1');
    recorded.length = 0;
    expect(attempts('g1').map(refusal)).toEqual(before);
    expect(before.map((r) => r.code)).toEqual(Array(6).fill('NOT_FOUND'));
    expect(recorded).toEqual([]);
    expect(group.memberIds).toEqual(['alice', 'bob']);

    // A member learns more: bob is in, but not an admin.
    expect(refusal(() => conversations.addMembers('bob', 'g1', ['carol']))).toMatchObject({
      code: 'FORBIDDEN',
    });
    // Once out, a former member is a stranger again.
    conversations.leave('bob', 'g1');
    expect(refusal(() => conversations.leave('bob', 'g1'))).toEqual(before[4]);
  });
});
