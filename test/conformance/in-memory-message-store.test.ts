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
