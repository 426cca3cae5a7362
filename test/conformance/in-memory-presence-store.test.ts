import { InMemoryPresenceStore } from 'chat-room';
import { presenceStoreSuite } from 'chat-room/testing';

presenceStoreSuite('InMemoryPresenceStore', async (clock) => ({
  store: new InMemoryPresenceStore({ clock }),
}));
