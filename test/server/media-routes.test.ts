import type { MediaInfo, ServerFrame } from 'chat-room';
import {
  ChatSystem,
  InMemoryMediaStore,
  MediaService,
  NotFoundError,
  PermissionError,
  RateLimitError,
} from 'chat-room';
import { SharpImageProcessor } from 'chat-room/sharp';
import type { ChatServer, ChatServerSystem } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import sharp from 'sharp';
import { WebSocket } from 'ws';

jest.setTimeout(20_000);

const SECRET = 'test-secret-that-is-at-least-32-bytes-long';
const tokens = createTokenAuth({ secret: SECRET });
const WAIT_MS = 5_000;

/** A system whose media pipeline is the real one (sharp, `MediaService`) and whose membership is a table. */
interface MediaRig extends ChatServerSystem {
  /** Lets these users fetch the media (as if it had been sent in a thread they belong to). */
  share(mediaId: string, users: readonly string[]): void;
}

let chats: ChatSystem[] = [];
let servers: ChatServer[] = [];
let sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(chats.map((c) => c.close()));
  [chats, servers, sockets] = [[], [], []];
});

function rig(): MediaRig {
  const chat = ChatSystem.create();
  chats.push(chat);
  const media = new MediaService({
    store: new InMemoryMediaStore(),
    processor: new SharpImageProcessor(),
    clock: chat.clock,
    newId: () => randomUUID(),
  });
  const members = new Map<string, Set<string>>();
  return {
    attach: (transport) => chat.attach(transport),
    clock: chat.clock,
    share(mediaId, users) {
      members.set(mediaId, new Set(users));
    },
    uploadMedia: (userId, bytes, claimedType) => media.ingest(userId, bytes, claimedType),
    async getMedia(userId, mediaId) {
      if ((await media.info(mediaId)) === undefined) throw new NotFoundError(`no media ${mediaId}`);
      if (members.get(mediaId)?.has(userId) !== true) throw new PermissionError('not a member');
      return media.read(mediaId);
    },
  };
}

async function serve(system: ChatServerSystem, maxUploadBytes?: number): Promise<ChatServer> {
  const server = await createChatServer({
    system,
    auth: tokens.verify,
    ...(maxUploadBytes === undefined ? {} : { maxUploadBytes }),
  });
  servers.push(server);
  return server;
}

function base(server: ChatServer): string {
  return `http://127.0.0.1:${server.port}`;
}

function bearer(userId: string): Record<string, string> {
  return { Authorization: `Bearer ${tokens.sign(userId)}` };
}

async function jpeg(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#3366cc' } })
    .jpeg()
    .toBuffer();
}

async function upload(server: ChatServer, userId: string, body: Uint8Array, type = 'image/jpeg') {
  return fetch(`${base(server)}/media`, {
    method: 'POST',
    headers: { ...bearer(userId), 'Content-Type': type },
    body,
  });
}

/**
 * Sends the head of a POST /media that announces or streams more than the limit, never finishing the body, and
 * resolves with the status and JSON the server answered: an answer at all proves it did not wait for the rest.
 */
function oversized(
  server: ChatServer,
  mode: 'content-length' | 'chunked',
  chunk: number,
): Promise<{ status: number; body: unknown; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const request = http.request(`${base(server)}/media`, {
      method: 'POST',
      headers: {
        ...bearer('alice'),
        'Content-Type': 'image/jpeg',
        ...(mode === 'content-length' ? { 'Content-Length': String(64 * 1024 * 1024) } : {}),
      },
    });
    const deadline = setTimeout(() => {
      clearInterval(timer);
      request.destroy();
      reject(new Error('no answer while the body was still being sent'));
    }, WAIT_MS);
    request.on('error', () => undefined); // the server closes the connection once it has answered
    request.on('response', (response) => {
      clearTimeout(deadline);
      clearInterval(timer);
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (d: string) => (text += d));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown, sent });
      });
    });
    request.flushHeaders();
    const write = (): void => {
      if (request.destroyed) return;
      request.write(Buffer.alloc(chunk, 0xff));
      sent += chunk;
    };
    write();
    const timer = setInterval(write, 20); // the closures above run only after this line
  });
}

describe('POST /media and GET /media/:id', () => {
  test('an upload answers 201 with the media; a member gets the bytes with safe headers', async () => {
    const system = rig();
    const server = await serve(system);
    const res = await upload(server, 'alice', await jpeg(), 'image/jpeg; charset=binary');
    expect(res.status).toBe(201);
    const media = (await res.json()) as Record<string, unknown>;
    expect(media).toEqual({
      mediaId: expect.any(String),
      thumbnailId: expect.any(String),
      mimeType: 'image/jpeg',
      bytes: expect.any(Number),
      width: 64,
      height: 48,
    });
    expect(res.headers.get('location')).toBe(`/media/${String(media.mediaId)}`);

    system.share(String(media.mediaId), ['alice', 'bob']);
    const got = await fetch(`${base(server)}/media/${String(media.mediaId)}`, { headers: bearer('bob') });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/jpeg');
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(got.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(got.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const bytes = Buffer.from(await got.arrayBuffer());
    expect(bytes.byteLength).toBe(media.bytes);
    expect(got.headers.get('content-length')).toBe(String(media.bytes));
    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);

    const head = await fetch(`${base(server)}/media/${String(media.mediaId)}`, {
      method: 'HEAD',
      headers: bearer('alice'),
    });
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([
      200,
      String(media.bytes),
      '',
    ]);
  });

  test('a non-member gets 404 and no bytes, exactly as for an id that does not exist', async () => {
    const system = rig();
    const server = await serve(system);
    const { mediaId } = (await (await upload(server, 'alice', await jpeg())).json()) as MediaInfo;
    system.share(mediaId, ['alice', 'bob']);

    const carol = await fetch(`${base(server)}/media/${mediaId}`, { headers: bearer('carol') });
    const missing = await fetch(`${base(server)}/media/${randomUUID()}`, { headers: bearer('carol') });
    expect(carol.status).toBe(404);
    expect(carol.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const [carolBody, missingBody] = [await carol.text(), await missing.text()];
    expect(JSON.parse(carolBody)).toEqual({ code: 'NOT_FOUND', message: 'no such media' });
    expect([missing.status, missingBody]).toEqual([404, carolBody]);
  });

  test('no or a bad token is 401 on both routes, before any body is read', async () => {
    const system = rig();
    const server = await serve(system);
    const { mediaId } = (await (await upload(server, 'alice', await jpeg())).json()) as MediaInfo;
    system.share(mediaId, ['alice']);
    const bare = await fetch(`${base(server)}/media/${mediaId}`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer');
    expect(await bare.json()).toEqual({ code: 'UNAUTHORIZED', message: 'missing bearer token' });
    const forged = await fetch(`${base(server)}/media/${mediaId}`, {
      headers: { Authorization: `Bearer ${tokens.sign('alice')}x` },
    });
    expect(forged.status).toBe(401);
    const post = await fetch(`${base(server)}/media`, { method: 'POST', body: await jpeg() });
    expect(post.status).toBe(401);
    const query = await fetch(`${base(server)}/media/${mediaId}?token=${tokens.sign('alice')}`);
    expect(query.status).toBe(401); // bearer header only: a token in a URL ends up in logs
  });

  test('an HTML file posted as image/png is refused with 400', async () => {
    const server = await serve(rig());
    const html = Buffer.from('<!doctype html><script>alert(document.cookie)</script>');
    const res = await upload(server, 'alice', html, 'image/png');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: 'VALIDATION',
      message: 'not a JPEG, PNG, WebP or GIF image',
    });
  });

  test('a body over the limit is refused with 413 without reading the rest', async () => {
    const server = await serve(rig(), 4096);
    const declared = await oversized(server, 'content-length', 1024);
    expect(declared.status).toBe(413);
    expect(declared.body).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: 'the upload is over 4096 bytes' });
    const streamed = await oversized(server, 'chunked', 1024);
    expect(streamed.status).toBe(413);
    expect(streamed.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

    // Within the limit still works on the same server.
    expect((await upload(server, 'alice', await jpeg(8, 8))).status).toBe(201);
  });

  test('errors map to statuses; an unexpected error shows no details; routes refuse other methods', async () => {
    const chat = ChatSystem.create();
    chats.push(chat);
    let failure: unknown = new RateLimitError('slow down', 2500);
    const server = await serve({
      attach: (t) => chat.attach(t),
      uploadMedia: () => Promise.reject(failure),
    });
    const limited = await upload(server, 'alice', await jpeg());
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '3']);
    expect(await limited.json()).toEqual({ code: 'RATE_LIMITED', message: 'slow down' });

    failure = new Error('connection to postgres://admin:hunter2@db failed');
    const broken = await upload(server, 'alice', await jpeg());
    expect(broken.status).toBe(500);
    expect(await broken.json()).toEqual({ code: 'INTERNAL', message: 'internal error' });

    const noDownloads = await fetch(`${base(server)}/media/abc`, { headers: bearer('alice') });
    expect(noDownloads.status).toBe(503);
    const wrongMethod = await fetch(`${base(server)}/media`, { headers: bearer('alice') });
    expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'POST']);
    expect((await fetch(`${base(server)}/elsewhere`)).status).toBe(404);
    expect(await (await fetch(`${base(server)}/health`)).text()).toBe('ok');
  });

  test('a system without uploads answers 503', async () => {
    const chat = ChatSystem.create();
    chats.push(chat);
    const server = await serve({ attach: (t) => chat.attach(t) });
    const res = await upload(server, 'alice', await jpeg());
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ code: 'UNAVAILABLE', message: 'this server does not accept uploads' });
  });
});

/** Whether `ChatSystem` has `uploadMedia` yet (it is being added alongside these routes). */
const hasUpload = typeof (ChatSystem.prototype as Partial<ChatServerSystem>).uploadMedia === 'function';

describe('with a ChatSystem', () => {
  (hasUpload ? test : test.skip)(
    'upload, send the photo over the socket, and only thread members can fetch it',
    async () => {
      const chat = ChatSystem.create({ imageProcessor: new SharpImageProcessor() });
      chats.push(chat);
      for (const id of ['alice', 'bob', 'carol']) chat.registerUser({ id, name: id });
      const server = await serve(chat);

      const res = await upload(server, 'alice', await jpeg());
      expect(res.status).toBe(201);
      const media = (await res.json()) as MediaInfo & { thumbnailId: string };
      // Not sent anywhere yet: nobody else can fetch it.
      expect((await fetch(`${base(server)}/media/${media.mediaId}`, { headers: bearer('bob') })).status).toBe(
        404,
      );

      const ws = new WebSocket(`${server.url}?token=${tokens.sign('alice')}`);
      sockets.push(ws);
      const ack = await new Promise<ServerFrame>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no ack for the photo')), WAIT_MS);
        ws.on('error', reject);
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data)) as ServerFrame;
          if (frame.type === 'hello') {
            ws.send(
              JSON.stringify({
                type: 'send',
                ref: 'p1',
                clientMessageId: 'c1',
                to: 'bob',
                kind: 'photo',
                media,
              }),
            );
          } else if ('ref' in frame && frame.ref === 'p1') {
            clearTimeout(timer);
            resolve(frame);
          }
        });
      });
      expect(ack).toMatchObject({ type: 'ack' });

      for (const id of [media.mediaId, media.thumbnailId]) {
        const bob = await fetch(`${base(server)}/media/${id}`, { headers: bearer('bob') });
        expect([bob.status, bob.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
        const carol = await fetch(`${base(server)}/media/${id}`, { headers: bearer('carol') });
        expect(carol.status).toBe(404);
        expect(carol.headers.get('content-type')).toBe('application/json; charset=utf-8');
      }
    },
  );

  test('a ChatSystem without an image processor: uploads answer 503 with a clear message', async () => {
    if (!hasUpload) return; // ChatSystem.uploadMedia is not there yet
    const chat = ChatSystem.create();
    chats.push(chat);
    chat.registerUser({ id: 'alice', name: 'Alice' });
    const server = await serve(chat);
    const res = await upload(server, 'alice', await jpeg());
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/image processor/),
    });
  });
});
