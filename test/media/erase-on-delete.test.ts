/**
 * A photo message deleted for everyone takes its photo with it: the delivery wing publishes `message-deleted`,
 * and the media wing erases the photo and its thumbnail from the `MediaStore`. A delete for one user erases
 * nothing.
 */
import sharp from 'sharp';
import { ChatSystem, InMemoryMediaStore, ManualClock, NotFoundError } from 'chat-room';
import { SharpImageProcessor } from 'chat-room/sharp';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

function makeChat() {
  const mediaStore = new InMemoryMediaStore();
  const chat = ChatSystem.create({
    clock: new ManualClock(T0),
    mediaStore,
    imageProcessor: new SharpImageProcessor(),
  });
  chat.registerUser({ id: 'alice', name: 'Alice' });
  chat.registerUser({ id: 'bob', name: 'Bob' });
  return { chat, mediaStore };
}

function png(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 120, b: 200 } } })
    .png()
    .toBuffer();
}

describe('deleting a photo message erases its files', () => {
  test('delete for everyone: the photo and its thumbnail are gone from the media store', async () => {
    const { chat, mediaStore } = makeChat();
    const m = await chat.sendPhoto({ from: 'alice', to: 'bob', photo: await png(), caption: 'the view' });
    const { mediaId, thumbnailId } = m.media!;
    expect(await mediaStore.get(mediaId)).toBeDefined();
    expect(await mediaStore.get(thumbnailId)).toBeDefined();

    await chat.deleteMessage('alice', m.id, { forEveryone: true });
    await chat.idle();
    expect(await mediaStore.get(mediaId)).toBeUndefined();
    expect(await mediaStore.get(thumbnailId)).toBeUndefined();
    await expect(chat.getMedia('bob', mediaId)).rejects.toBeInstanceOf(NotFoundError);
    const stored = await chat.store.getMessage(m.id);
    expect(stored).toMatchObject({ kind: 'photo', text: '' });
    expect(stored).not.toHaveProperty('media');
  });

  test('delete for me erases nothing', async () => {
    const { chat, mediaStore } = makeChat();
    const m = await chat.sendPhoto({ from: 'alice', to: 'bob', photo: await png() });
    await chat.deleteMessage('bob', m.id, { forEveryone: false });
    await chat.idle();
    expect(await mediaStore.get(m.media!.mediaId)).toBeDefined();
    expect((await chat.getMedia('alice', m.media!.mediaId)).info.mediaId).toBe(m.media!.mediaId);
  });

  test('a store that fails to erase is reported, and the other file still goes', async () => {
    const { chat, mediaStore } = makeChat();
    const m = await chat.sendPhoto({ from: 'alice', to: 'bob', photo: await png() });
    const { mediaId, thumbnailId } = m.media!;
    const failures: string[] = [];
    chat.notifications.on('media-erase-failed', (e) => failures.push(e.mediaId));
    const original = mediaStore.delete.bind(mediaStore);
    mediaStore.delete = async (id: string) => {
      if (id === mediaId) throw new Error('disk on fire');
      return original(id);
    };
    await chat.deleteMessage('alice', m.id, { forEveryone: true });
    await chat.idle();
    expect(failures).toEqual([mediaId]);
    expect(await mediaStore.get(thumbnailId)).toBeUndefined();
  });
});
