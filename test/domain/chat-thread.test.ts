import { ChatThread, ValidationError } from 'chat-room';

describe('ChatThread', () => {
  describe('direct', () => {
    it('has the same id whichever user starts the conversation', () => {
      const a = ChatThread.direct('bob', 'alice');
      const b = ChatThread.direct('alice', 'bob');
      expect(a.id).toBe(b.id);
      expect(a.kind).toBe('direct');
      expect(a.participantIds).toEqual(['alice', 'bob']);
      expect(a.groupId).toBeUndefined();
    });

    it('gives different pairs different ids', () => {
      const ids = new Set([
        ChatThread.direct('alice', 'bob').id,
        ChatThread.direct('alice', 'carol').id,
        ChatThread.direct('bob', 'carol').id,
      ]);
      expect(ids.size).toBe(3);
    });

    // Ids may contain ':', the separator: ('a:b', 'c') and ('a', 'b:c') must still be two conversations.
    it('gives different pairs different ids even when user ids contain the separator', () => {
      expect(ChatThread.direct('a:b', 'c').id).not.toBe(ChatThread.direct('a', 'b:c').id);
    });

    it('refuses a conversation with oneself', () => {
      expect(() => ChatThread.direct('alice', 'alice')).toThrow(ValidationError);
    });

    it('refuses a malformed user id', () => {
      expect(() => ChatThread.direct('alice', 'bob smith')).toThrow(ValidationError);
      expect(() => ChatThread.direct('', 'bob')).toThrow(ValidationError);
    });

    it('names the other user for each participant', () => {
      const t = ChatThread.direct('bob', 'alice');
      expect(t.peerOf('alice')).toBe('bob');
      expect(t.peerOf('bob')).toBe('alice');
    });

    it('names no peer for someone outside the conversation', () => {
      expect(ChatThread.direct('bob', 'alice').peerOf('mallory')).toBeUndefined();
    });

    it('cannot have its participants changed', () => {
      const t = ChatThread.direct('bob', 'alice');
      expect(() => (t.participantIds as string[]).push('mallory')).toThrow(TypeError);
      expect(t.participantIds).toEqual(['alice', 'bob']);
    });
  });

  describe('group', () => {
    it('is named after its group and has no peer', () => {
      const t = ChatThread.group('g1');
      expect(t.kind).toBe('group');
      expect(t.groupId).toBe('g1');
      expect(t.participantIds).toEqual([]);
      expect(t.peerOf('alice')).toBeUndefined();
      expect(t.id).toBe(ChatThread.group('g1').id);
      expect(t.id).not.toBe(ChatThread.group('g2').id);
    });

    it('never shares an id with a direct thread', () => {
      expect(ChatThread.group('alice').id).not.toBe(ChatThread.direct('alice', 'bob').id);
      expect(ChatThread.group('dm:alice:bob').id).not.toBe(ChatThread.direct('alice', 'bob').id);
    });

    it('refuses a malformed group id', () => {
      expect(() => ChatThread.group('')).toThrow(ValidationError);
    });
  });

  describe('lastSeq', () => {
    it('starts at 0 and follows the highest seq seen, never going back', () => {
      const t = ChatThread.direct('alice', 'bob');
      expect(t.lastSeq).toBe(0);
      t.observe(2);
      t.observe(5);
      t.observe(3);
      expect(t.lastSeq).toBe(5);
    });
  });
});
