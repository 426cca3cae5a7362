/**
 * Intent: share a photo the way a phone app does — ask for camera permission, take a picture (here a
 * file-backed camera reads `examples/gallery/`), send it with a caption — and show what the server makes of it:
 * identified by its bytes, turned upright, stripped of EXIF (the GPS position is gone), thumbnailed, and
 * delivered with the same ticks as text. Only members of the chat may fetch it; a file that is not a photo is
 * refused whatever its name says.
 *
 * Run it with `npx ts-node examples/send-photo.ts`; its output is `send-photo.out.txt`.
 *
 * @module
 */
import path from 'node:path';
import sharp from 'sharp';
import { ChatRoomError, ChatSystem, ManualClock } from 'chat-room';
import { FileCamera } from 'chat-room/fs';
import { SharpImageProcessor } from 'chat-room/sharp';

async function main(): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 20, 15));
  const camera = new FileCamera({
    dir: path.join(__dirname, 'gallery'),
    permission: 'prompt',
    answer: 'granted',
  });
  const chat = ChatSystem.create({ clock, camera, imageProcessor: new SharpImageProcessor() });
  chat.registerUser({ id: 'alice', name: 'Alice' });
  chat.registerUser({ id: 'bob', name: 'Bob' });
  chat.registerUser({ id: 'mallory', name: 'Mallory' });
  const bob = chat.connect('bob');
  bob.on('message', (m) =>
    console.log(
      `Bob's phone: ${m.kind} from ${m.from}, "${m.text}", ${m.media?.width}×${m.media?.height} ${m.media?.mimeType}`,
    ),
  );
  await bob.ready;

  console.log(`camera permission: ${camera.permission()}`);
  const shot = await chat.camera!.takePicture(); // asks first, as phones do
  console.log(`camera permission after asking: ${camera.permission()}`);
  const before = await sharp(shot.bytes).metadata();
  console.log(
    `taken: ${shot.fileName}, ${shot.bytes.length} bytes, ${before.width}×${before.height}, ` +
      `EXIF orientation ${before.orientation}, EXIF present: ${before.exif !== undefined}`,
  );

  const m = await chat.sendPhoto({
    from: 'alice',
    to: 'bob',
    photo: shot,
    caption: 'Sunset from the castle',
  });
  console.log(`Alice sees: ${m.status}`);
  await bob.markRead(m.threadId, m.seq);
  await chat.idle();
  console.log(`Alice sees: ${m.status}`);

  const photo = await chat.getMedia('bob', m.media!.mediaId);
  const after = await sharp(photo.bytes).metadata();
  console.log(
    `Bob fetches it: ${photo.info.mimeType}, ${after.width}×${after.height} (upright), ` +
      `EXIF present: ${after.exif !== undefined}`,
  );
  const thumbnail = await chat.getMedia('bob', m.media!.thumbnailId);
  console.log(`thumbnail: ${thumbnail.info.width}×${thumbnail.info.height}`);
  console.log(`Bob's chat list: ${chat.getFeed('bob').top(1)[0]?.preview}`);

  for (const attempt of [
    () => chat.getMedia('mallory', m.media!.mediaId),
    () =>
      chat.sendPhoto({
        from: 'alice',
        to: 'bob',
        photo: { bytes: Buffer.from('<html><script>steal()</script></html>'), fileName: 'cute.png' },
      }),
  ]) {
    try {
      await attempt();
    } catch (e) {
      if (!ChatRoomError.is(e)) throw e;
      console.log(`refused: ${e.code} — ${e.message}`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
