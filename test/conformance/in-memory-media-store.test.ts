import { InMemoryMediaStore } from 'chat-room';
import { mediaStoreSuite } from './media-store.case';

mediaStoreSuite('InMemoryMediaStore', async () => ({ store: new InMemoryMediaStore() }));
