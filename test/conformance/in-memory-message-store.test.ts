import { InMemoryMessageStore, ValidationError } from 'chat-room';
import { messageStoreSuite } from 'chat-room/testing';

messageStoreSuite('InMemoryMessageStore', async () => ({ store: new InMemoryMessageStore() }), {
  retention: async (max) => new InMemoryMessageStore({ maxInboxEntries: max }),
});

describe('InMemoryMessageStore options', () => {
  it.each([0, -1, 1.5, Number.NaN])('refuses maxInboxEntries %p', (max) => {
    expect(() => new InMemoryMessageStore({ maxInboxEntries: max })).toThrow(ValidationError);
  });
});

describe('InMemoryMessageStore idempotency keys whose hashes collide', () => {
  // Its key index is a hash table. Under the first sender it interns, these pairs have the same 32-bit hash.
  it.each([
    ['c-308475', 'c-1293310'],
    ['c-1293310', 'c-308475'],
    ['key1z0FbZl', 'key1'], // one key starts with the other
    ['key1', 'key1z0FbZl'],
  ])('keeps %p and %p apart', async (first, second) => {
    const store = new InMemoryMessageStore();
    const input = (clientMessageId: string) => ({
      threadId: 'dm:alice:bob',
      senderId: 'alice',
      kind: 'text' as const,
      text: clientMessageId,
      clientMessageId,
      sentAt: 1,
      recipientIds: ['bob'],
    });
    const a = await store.appendMessage(input(first));
    expect(await store.findByClientMessageId('alice', second)).toBeUndefined();
    const b = await store.appendMessage(input(second));
    expect(b.duplicate).toBe(false);
    expect(b.message.seq).toBe(2);
    expect(await store.findByClientMessageId('alice', first)).toEqual(a.message);
    expect(await store.findByClientMessageId('alice', second)).toEqual(b.message);
  });
});
