import { ChatSystem } from 'chat-room';
import { ChatClient } from 'chat-room/client';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { SharpImageProcessor } from 'chat-room/sharp';
import { createTokenAuth } from 'chat-room/ws';
import sharp from 'sharp';
import { WebSocket } from 'ws';

// A client fetches a photo with its token in the Authorization header, never in the URL.

jest.setTimeout(20_000);

const tokens = createTokenAuth({ secret: 'client-media-test-secret-at-least-32-bytes' });

let server: ChatServer | undefined;
let system: ChatSystem | undefined;
let clients: ChatClient[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  await server?.close();
  await system?.close();
  [server, system, clients] = [undefined, undefined, []];
});

function client(url: string, userId: string, fetch: typeof globalThis.fetch): ChatClient {
  const c = new ChatClient({ url, token: tokens.sign(userId), WebSocket, fetch });
  clients.push(c);
  return c;
}

it('fetchMedia gets a photo for a member with the token in a header, and NOT_FOUND for anyone else', async () => {
  system = ChatSystem.create({ imageProcessor: new SharpImageProcessor() });
  for (const id of ['alice', 'bob', 'carol']) system.registerUser({ id, name: id });
  server = await createChatServer({ system, auth: tokens.verify });
  const photo = await sharp({
    create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 40 } },
  })
    .png()
    .toBuffer();
  const message = await system.sendPhoto({ from: 'alice', to: 'bob', photo: new Uint8Array(photo) });
  const mediaId = message.media?.mediaId ?? '';

  const requested: { url: string; authorization: string | null }[] = [];
  const recording: typeof globalThis.fetch = (input, init) => {
    requested.push({
      url: String(input),
      authorization: new Headers(init?.headers).get('authorization'),
    });
    return globalThis.fetch(input, init);
  };
  const bob = client(server.url, 'bob', recording);
  const { bytes, mimeType } = await bob.fetchMedia(mediaId);
  expect(mimeType).toMatch(/^image\//);
  expect((await sharp(bytes).metadata()).width).toBe(64);
  expect(requested).toHaveLength(1);
  expect(requested[0]?.url).not.toContain('token');
  expect(requested[0]?.authorization).toMatch(/^Bearer /);

  const carol = client(server.url, 'carol', recording);
  await expect(carol.fetchMedia(mediaId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  await expect(carol.fetchMedia('no-such-photo')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  await expect(carol.fetchMedia('../etc/passwd')).rejects.toMatchObject({ code: 'VALIDATION' });
});
