import sharp from 'sharp';
import type { ChatSession, Message } from 'chat-room';
import {
  ChatSystem,
  InMemoryMediaStore,
  InMemoryPushNotifier,
  ManualClock,
  NotFoundError,
  PermissionError,
  ValidationError,
  sniffImage,
  toMediaRef,
} from 'chat-room';
import { SharpImageProcessor } from 'chat-room/sharp';
import { T0 } from './helpers';

function makeChat(options: { uploadTtlMs?: number } = {}) {
  const clock = new ManualClock(T0);
  const push = new InMemoryPushNotifier();
  const mediaStore = new InMemoryMediaStore();
  const chat = ChatSystem.create({
    clock,
    pushNotifier: push,
    mediaStore,
    imageProcessor: new SharpImageProcessor(),
    ...options,
  });
  for (const [id, name] of [
    ['alice', 'Alice'],
    ['bob', 'Bob'],
    ['carol', 'Carol'],
  ] as const) {
    chat.registerUser({ id, name });
  }
  return { chat, push, mediaStore, clock };
}

/** A 600 × 400 JPEG with GPS in its EXIF, as a phone camera writes it. */
function cameraJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 600, height: 400, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .jpeg()
    .withExifMerge({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '38/1 42/1 0/1' } })
    .toBuffer();
}

function received(session: ChatSession): Message[] {
  const got: Message[] = [];
  session.on('message', (m) => got.push(m));
  return got;
}

describe('photos through the chat', () => {
  test('a photo goes through the same flow and ticks as text, and its members can fetch it', async () => {
    const { chat } = makeChat();
    const bob = chat.connect('bob');
    const got = received(bob);
    await bob.ready;
    const m = await chat.sendPhoto({
      from: 'alice',
      to: 'bob',
      photo: await cameraJpeg(),
      caption: 'the view',
    });
    expect(m.status).toBe('delivered');
    expect(got.map((x) => [x.kind, x.text, x.media?.mimeType, x.media?.width, x.media?.height])).toEqual([
      ['photo', 'the view', 'image/jpeg', 600, 400],
    ]);
    await bob.markRead(m.threadId, m.seq);
    await chat.idle();
    expect(m.status).toBe('read');

    const photo = await chat.getMedia('bob', m.media?.mediaId as string);
    expect(sniffImage(photo.bytes)).toBe('image/jpeg');
    expect((await sharp(photo.bytes).metadata()).exif).toBeUndefined();
    const thumbnail = await chat.getMedia('bob', m.media?.thumbnailId as string);
    expect(Math.max(thumbnail.info.width, thumbnail.info.height)).toBe(320);
    expect(chat.getFeed('bob').top(1)[0]?.preview).toBe('📷 the view');
  });

  test('only members of a conversation the photo was sent in may fetch it', async () => {
    const { chat } = makeChat();
    const m = await chat.sendPhoto({ from: 'alice', to: 'bob', photo: await cameraJpeg() });
    const mediaId = m.media?.mediaId as string;
    await expect(chat.getMedia('carol', mediaId)).rejects.toBeInstanceOf(PermissionError);
    await expect(chat.getMedia('carol', m.media?.thumbnailId as string)).rejects.toBeInstanceOf(
      PermissionError,
    );
    await expect(chat.getMedia('bob', 'no-such-photo')).rejects.toBeInstanceOf(NotFoundError);

    const g = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob', 'carol'] });
    const shared = await chat.sendPhoto({ from: 'alice', groupId: g.id, photo: await cameraJpeg() });
    await expect(chat.getMedia('carol', shared.media?.mediaId as string)).resolves.toBeDefined();
    chat.removeGroupMember('alice', g.id, 'carol');
    await expect(chat.getMedia('carol', shared.media?.mediaId as string)).rejects.toBeInstanceOf(
      PermissionError,
    );
  });

  test('a file that is not a photo is refused and nothing is stored or sent', async () => {
    const { chat, mediaStore } = makeChat();
    const bob = chat.connect('bob');
    const got = received(bob);
    await bob.ready;
    const svg = new TextEncoder().encode(
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    );
    await expect(
      chat.sendPhoto({
        from: 'alice',
        to: 'bob',
        photo: { bytes: svg, fileName: 'cat.png', claimedType: 'image/png' },
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    await chat.idle();
    expect(got).toEqual([]);
    expect(chat.getFeed('bob').size).toBe(0);
    expect(mediaStore.size).toBe(0);
  });

  test('a retried photo send stores one photo and one message', async () => {
    const { chat, mediaStore } = makeChat();
    const jpeg = await cameraJpeg();
    const first = await chat.sendPhoto({ from: 'alice', to: 'bob', photo: jpeg, clientMessageId: 'p1' });
    const retry = await chat.sendPhoto({ from: 'alice', to: 'bob', photo: jpeg, clientMessageId: 'p1' });
    expect(retry.id).toBe(first.id);
    expect(retry.media?.mediaId).toBe(first.media?.mediaId);
    expect(mediaStore.size).toBe(2); // the photo and its thumbnail
  });

  test('an away recipient gets a push that says it is a photo; a muted thread gets none', async () => {
    const { chat, push } = makeChat();
    const bob = chat.connect('bob', { foreground: false });
    await bob.ready;
    await chat.sendPhoto({ from: 'alice', to: 'bob', photo: await cameraJpeg(), caption: 'look' });
    expect(push.sent.map((p) => p.body)).toEqual(['📷 look']);
    chat.settings('bob').mute(chat.directThreadId('alice', 'bob'));
    await chat.sendPhoto({ from: 'alice', to: 'bob', photo: await cameraJpeg() });
    expect(push.sent).toHaveLength(1);
  });

  test('the uploader can fetch its own upload before it is sent; nobody else can', async () => {
    const { chat } = makeChat();
    const upload = await chat.uploadMedia('alice', await cameraJpeg());
    const own = await chat.getMedia('alice', upload.mediaId);
    expect([own.info.ownerId, sniffImage(own.bytes)]).toEqual(['alice', 'image/jpeg']);
    await expect(chat.getMedia('alice', upload.thumbnailId!)).resolves.toBeDefined();
    await expect(chat.getMedia('bob', upload.mediaId)).rejects.toBeInstanceOf(PermissionError);
    await expect(chat.getMedia('bob', upload.thumbnailId!)).rejects.toBeInstanceOf(PermissionError);
  });

  test('an upload not sent within uploadTtlMs expires; one sent with sendMessage stays', async () => {
    const { chat, clock, mediaStore } = makeChat({ uploadTtlMs: 10 * 60_000 });
    const unsent = await chat.uploadMedia('alice', await cameraJpeg());
    const sent = await chat.uploadMedia('alice', await cameraJpeg());
    const m = await chat.sendMessage({ from: 'alice', to: 'bob', kind: 'photo', media: toMediaRef(sent) });
    expect(m.media?.mediaId).toBe(sent.mediaId);
    clock.advance(10 * 60_000); // the sweep runs on the clock
    await chat.idle();
    await expect(chat.getMedia('alice', unsent.mediaId)).rejects.toBeInstanceOf(NotFoundError);
    expect(mediaStore.size).toBe(2); // the sent photo and its thumbnail
    await expect(chat.getMedia('bob', sent.mediaId)).resolves.toBeDefined();
    await expect(chat.getMedia('bob', sent.thumbnailId!)).resolves.toBeDefined();
  });

  test('sending an expired upload fails with NOT_FOUND and stores no message', async () => {
    const { chat, clock } = makeChat();
    const upload = await chat.uploadMedia('alice', await cameraJpeg());
    clock.advance(60 * 60_000);
    const error = await chat
      .sendMessage({ from: 'alice', to: 'bob', kind: 'photo', media: toMediaRef(upload) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toMatch(/expired.*upload it again/);
    await chat.idle();
    expect(chat.getFeed('bob').size).toBe(0);
    expect(chat.getFeed('alice').size).toBe(0);
  });

  test('uploadTtlMs must be a positive integer', () => {
    expect(() => makeChat({ uploadTtlMs: 0 })).toThrow(ValidationError);
  });

  test('without an image processor, sendPhoto says how to get one', async () => {
    const chat = ChatSystem.create();
    chat.registerUser({ id: 'alice', name: 'Alice' });
    chat.registerUser({ id: 'bob', name: 'Bob' });
    await expect(chat.sendPhoto({ from: 'alice', to: 'bob', photo: await cameraJpeg() })).rejects.toThrow(
      /chat-room\/sharp/,
    );
  });
});
