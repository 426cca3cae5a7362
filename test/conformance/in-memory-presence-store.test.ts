import { InMemoryPresenceStore } from 'chat-room';
import { presenceStoreSuite } from './presence-store.case';

presenceStoreSuite('InMemoryPresenceStore', async (clock) => ({
  store: new InMemoryPresenceStore({ clock }),
}));
