import type { ServerFrame } from 'chat-room';
import {
  ManualClock,
  SessionOutbox,
  TYPING_TTL_MS,
  TypingRelay,
  ValidationError,
  composeSystem,
} from 'chat-room';

/** A composed system on a manual clock, with alice and bob connected in the foreground (in memory). */
function system() {
  const clock = new ManualClock(0);
  const parts = composeSystem({ clock });
  for (const id of ['alice', 'bob', 'carol']) parts.users.register({ id, name: id });
  const heard: Record<string, ServerFrame[]> = { alice: [], bob: [] };
  for (const id of ['alice', 'bob'] as const) {
    parts.transport.open(
      { userId: id, deviceId: 'phone', foreground: true },
      { received: (f) => heard[id]!.push(f), closed: () => undefined },
    );
  }
  const dm = parts.conversations.directThread('alice', 'bob');
  const typing = (id: string) => heard[id]!.filter((f) => f.type === 'typing');
  return { clock, parts, dm, typing };
}

describe('TypingRelay', () => {
  test('keeps one entry per active typist and thread, and none once a state ends', () => {
    const { clock, parts, dm, typing } = system();
    const g = parts.conversations.createGroup({ ownerId: 'alice', name: 'G', memberIds: ['bob'] });
    const groupThread = parts.conversations.groupThread(g.id);
    expect(parts.typing.size).toBe(0);
    parts.typing.update('alice', dm.id, true);
    parts.typing.update('alice', dm.id, true);
    parts.typing.update('alice', groupThread.id, true);
    parts.typing.update('bob', dm.id, true);
    expect(parts.typing.size).toBe(3);
    parts.typing.update('bob', dm.id, false);
    expect(parts.typing.size).toBe(2);
    clock.advance(TYPING_TTL_MS);
    expect(parts.typing.size).toBe(0);
    expect(typing('bob').map((f) => f.type === 'typing' && `${f.threadId} ${f.typing}`)).toEqual([
      `${dm.id} true`,
      `${groupThread.id} true`,
      `${dm.id} false`,
      `${groupThread.id} false`,
    ]);
  });

  test('refuses malformed input and threads one is not in, keeping no state', () => {
    const { parts, dm, typing } = system();
    expect(() => parts.typing.update('alice', dm.id, 'yes' as never)).toThrow(ValidationError);
    expect(() => parts.typing.update('carol', dm.id, true)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', message: `no thread ${dm.id}` }),
    );
    expect(() => parts.typing.update('alice', 'dm:alice:nobody', true)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
    expect(parts.typing.size).toBe(0);
    expect(typing('bob')).toEqual([]);
  });

  test('checks its timings', () => {
    const { parts } = system();
    const deps = { ...parts, clock: new ManualClock(0), outbox: new SessionOutbox(parts.sessions) };
    expect(() => new TypingRelay({ ...deps, ttlMs: 0 })).toThrow(ValidationError);
    expect(() => new TypingRelay({ ...deps, throttleMs: -1 })).toThrow(ValidationError);
  });
});
