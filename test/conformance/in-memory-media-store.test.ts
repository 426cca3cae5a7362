import { InMemoryMediaStore } from 'chat-room';
import { mediaStoreSuite } from 'chat-room/testing';

mediaStoreSuite('InMemoryMediaStore', async () => ({ store: new InMemoryMediaStore() }));
