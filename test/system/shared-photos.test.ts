import sharp from 'sharp';
import { ChatSystem, ManualClock, PermissionError, sniffImage, toMediaRef } from 'chat-room';
import type { PostgresStores } from 'chat-room/postgres';
import { openPostgresStores } from 'chat-room/postgres';
import { SharpImageProcessor } from 'chat-room/sharp';
import { postgresFixture } from '../support/postgres';
import { postgresOrSkip } from '../support/services';
import { T0 } from './helpers';

jest.setTimeout(20_000);

const url = postgresOrSkip('photos shared by two nodes on PostgreSQL');

/** A 300 × 200 JPEG, as a phone would send. */
function jpeg(r: number): Promise<Buffer> {
  return sharp({ create: { width: 300, height: 200, channels: 3, background: { r, g: 120, b: 40 } } })
    .jpeg()
    .toBuffer();
}

/**
 * Two nodes: each a `ChatSystem` with its own pool and stores, both on one PostgreSQL schema — what two
 * `chat-room serve --database-url` processes are. Each node loads the directory when it opens (directory changes
 * reach a running node only on restart, until the cluster bus), so the second opens after the first has
 * registered the users and made the conversation.
 */
(url === undefined ? describe.skip : describe)('photos shared by two nodes on one PostgreSQL schema', () => {
  const pg = postgresFixture(url);
  const opened: { chat: ChatSystem; stores: PostgresStores }[] = [];

  afterEach(async () => {
    for (const { chat, stores } of opened.splice(0)) {
      await chat.close();
      await stores.close();
    }
  });

  const node = async (schema: string): Promise<ChatSystem> => {
    const stores = await openPostgresStores(url ?? '', { schema, poolSize: 2 });
    const chat = await ChatSystem.open({
      clock: new ManualClock(T0),
      store: stores.store,
      directoryStore: stores.directoryStore,
      mediaStore: stores.mediaStore,
      imageProcessor: new SharpImageProcessor(),
    });
    opened.push({ chat, stores });
    return chat;
  };

  test('a photo sent through one node is fetched through the other by a member, and by no one else', async () => {
    const schema = pg.schema();
    const a = await node(schema);
    for (const id of ['alice', 'bob', 'carol']) a.registerUser({ id, name: id });
    await a.idle();
    const sent = await a.sendPhoto({ from: 'alice', to: 'bob', photo: await jpeg(200), caption: 'from a' });
    const mediaId = sent.media?.mediaId ?? '';
    const thumbnailId = sent.media?.thumbnailId ?? '';
    await a.idle();

    const b = await node(schema);
    const onB = await b.getMedia('bob', mediaId);
    const onA = await a.getMedia('alice', mediaId);
    expect(sniffImage(onB.bytes)).toBe('image/jpeg');
    expect(Buffer.from(onB.bytes).equals(Buffer.from(onA.bytes))).toBe(true);
    expect(onB.info).toEqual(onA.info);
    expect((await sharp(onB.bytes).metadata()).width).toBe(300);
    const thumbnail = await b.getMedia('bob', thumbnailId);
    expect(sniffImage(thumbnail.bytes)).toBe('image/jpeg');
    await expect(b.getMedia('carol', mediaId)).rejects.toBeInstanceOf(PermissionError);
  });

  test('a photo uploaded through one node, sent through the other, is fetched back through the first', async () => {
    const schema = pg.schema();
    const a = await node(schema);
    for (const id of ['alice', 'bob', 'carol']) a.registerUser({ id, name: id });
    await a.idle();
    await a.sendMessage({ from: 'alice', to: 'bob', text: 'hi' }); // the conversation, on record for b
    await a.idle();
    const b = await node(schema);

    const photo = await jpeg(20);
    const upload = await a.uploadMedia('alice', photo, 'image/jpeg');
    // Before it is sent, only its uploader may fetch it, through either node.
    expect((await b.getMedia('alice', upload.mediaId)).info.ownerId).toBe('alice');
    await expect(b.getMedia('bob', upload.mediaId)).rejects.toBeInstanceOf(PermissionError);

    const sent = await b.sendMessage({ from: 'alice', to: 'bob', kind: 'photo', media: toMediaRef(upload) });
    expect(sent.media?.mediaId).toBe(upload.mediaId);
    const fetched = await a.getMedia('bob', upload.mediaId);
    expect(
      Buffer.from(fetched.bytes).equals(Buffer.from((await b.getMedia('alice', upload.mediaId)).bytes)),
    ).toBe(true);
    expect(sniffImage(fetched.bytes)).toBe('image/jpeg');
  });
});
