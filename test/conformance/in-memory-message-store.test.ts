import { ChatRoomError, InMemoryMessageStore, ValidationError } from 'chat-room';
import { messageStoreSuite } from 'chat-room/testing';

messageStoreSuite('InMemoryMessageStore', async () => ({ store: new InMemoryMessageStore() }), {
  retention: async (max) => new InMemoryMessageStore({ maxInboxEntries: max }),
});

describe('InMemoryMessageStore options', () => {
  it.each([0, -1, 1.5, Number.NaN])('refuses maxInboxEntries %p', (max) => {
    let caught: unknown;
    try {
      new InMemoryMessageStore({ maxInboxEntries: max });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect(ChatRoomError.is(caught) && caught.code).toBe('VALIDATION');
    expect(caught).toMatchObject({ details: { field: 'maxInboxEntries' } });
  });

  it.each([undefined, Number.POSITIVE_INFINITY])('keeps every entry with maxInboxEntries %p', async (max) => {
    const store = new InMemoryMessageStore(max === undefined ? {} : { maxInboxEntries: max });
    for (let n = 1; n <= 50; n++) {
      await store.appendEntry('bob', {
        type: 'receipt',
        receipt: { threadId: 'dm:alice:bob', status: 'read', upToSeq: n, at: n },
      });
    }
    expect((await store.readInbox('bob', 0, 100)).entries).toHaveLength(50);
  });
});

describe('InMemoryMessageStore idempotency keys', () => {
  // Near-identical keys, and keys where one starts with the other, name different messages.
  it.each([
    ['c-308475', 'c-1293310'],
    ['c-1293310', 'c-308475'],
    ['key1z0FbZl', 'key1'],
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

describe('InMemoryMessageStore lookups by id', () => {
  /** A store holding Alice's "hi" to Bob. */
  async function storeWithOneMessage() {
    const store = new InMemoryMessageStore();
    const { message } = await store.appendMessage({
      threadId: 'dm:alice:bob',
      senderId: 'alice',
      kind: 'text',
      text: 'hi',
      clientMessageId: 'c1',
      sentAt: 1,
      recipientIds: ['bob'],
    });
    return { store, message };
  }

  it('finds nothing for a malformed id or a seq the thread does not have', async () => {
    const { store, message } = await storeWithOneMessage();
    expect(message.id).toBe('dm:alice:bob#1');
    expect(await store.getMessage(message.id)).toEqual(message);
    for (const id of [
      'dm:alice:bob#01',
      'dm:alice:bob#0',
      'dm:alice:bob#2',
      'dm:alice:bob',
      '#1',
      'x#1',
      '',
    ]) {
      expect(await store.getMessage(id)).toBeUndefined();
    }
  });

  it('refuses to put in an inbox a message it does not hold', async () => {
    const { store, message } = await storeWithOneMessage();
    const entry = await store.appendEntry('carol', { type: 'message', message });
    expect(entry).toEqual({ type: 'message', message, userId: 'carol', inboxSeq: 1 });
    await expect(
      store.appendEntry('carol', { type: 'message', message: { ...message, seq: 2, id: 'dm:alice:bob#2' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(
      store.appendEntry('carol', { type: 'message', message: { ...message, senderId: 'mallory' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(await store.latestInboxSeq('carol')).toBe(1);
  });
});
