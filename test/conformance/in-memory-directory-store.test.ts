import { InMemoryDirectoryStore } from 'chat-room';
import { directoryStoreSuite } from 'chat-room/testing';

directoryStoreSuite('InMemoryDirectoryStore', async () => ({ store: new InMemoryDirectoryStore() }));
