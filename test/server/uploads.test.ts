/**
 * The limits of `POST /media` through a real server on 127.0.0.1: uploads in flight and bytes per minute per
 * user (refused before the body is read, with 429 and `Retry-After`), the decode queue of the sharp processor,
 * and unsent uploads — fetchable by their uploader alone, gone after their time, on disk too.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import type { ImageProcessor, MediaInfo, MediaStore, ServerFrame } from 'chat-room';
import { ChatSystem, InMemoryMediaStore, ManualClock, ValidationError } from 'chat-room';
import { FsMediaStore } from 'chat-room/fs';
import type { ChatServer, UploadLimits } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { SharpImageProcessor } from 'chat-room/sharp';
import { createTokenAuth } from 'chat-room/ws';
import { UploadLimiter } from '../../src/server/upload-limits';

jest.setTimeout(20_000);

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const tokens = createTokenAuth({ secret: 'uploads-test-secret-of-at-least-32-bytes' });

let chats: ChatSystem[] = [];
let servers: ChatServer[] = [];
let sockets: WebSocket[] = [];
let dirs: string[] = [];

afterEach(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(chats.map((c) => c.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  [chats, servers, sockets, dirs] = [[], [], [], []];
});

interface Rig {
  chat: ChatSystem;
  clock: ManualClock;
  server: ChatServer;
  base: string;
}

async function serve(
  options: {
    processor?: ImageProcessor;
    mediaStore?: MediaStore;
    uploadLimits?: UploadLimits;
  } = {},
): Promise<Rig> {
  const clock = new ManualClock(T0);
  const chat = ChatSystem.create({
    clock,
    imageProcessor: options.processor ?? new SharpImageProcessor(),
    mediaStore: options.mediaStore ?? new InMemoryMediaStore(),
  });
  chats.push(chat);
  for (const id of ['alice', 'bob', 'carol']) chat.registerUser({ id, name: id });
  const server = await createChatServer({
    system: chat,
    auth: tokens.verify,
    ...(options.uploadLimits === undefined ? {} : { uploadLimits: options.uploadLimits }),
  });
  servers.push(server);
  return { chat, clock, server, base: `http://127.0.0.1:${server.port}` };
}

function bearer(userId: string): Record<string, string> {
  return { Authorization: `Bearer ${tokens.sign(userId)}` };
}

async function jpeg(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#3366cc' } })
    .jpeg()
    .toBuffer();
}

function upload(rig: Rig, userId: string, body: Uint8Array): Promise<Response> {
  return fetch(`${rig.base}/media`, {
    method: 'POST',
    headers: { ...bearer(userId), 'Content-Type': 'image/jpeg' },
    body,
  });
}

function get(rig: Rig, userId: string, mediaId: string): Promise<Response> {
  return fetch(`${rig.base}/media/${mediaId}`, { headers: bearer(userId) });
}

/**
 * Sends only the head of an upload that announces `contentLength` bytes, and resolves with the answer: an answer
 * at all proves the server did not wait for the body.
 */
function headOnly(
  rig: Rig,
  userId: string,
  contentLength: number,
): Promise<{ status: number; retryAfter: string | undefined; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${rig.base}/media`, {
      method: 'POST',
      headers: { ...bearer(userId), 'Content-Type': 'image/jpeg', 'Content-Length': String(contentLength) },
    });
    const deadline = setTimeout(() => {
      request.destroy();
      reject(new Error('no answer without the body'));
    }, 5_000);
    request.on('error', () => undefined); // the server closes the connection once it has answered
    request.on('response', (response) => {
      clearTimeout(deadline);
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (d: string) => (text += d));
      response.on('end', () => {
        request.destroy();
        const retryAfter = response.headers['retry-after'];
        resolve({ status: response.statusCode ?? 0, retryAfter, body: JSON.parse(text) as unknown });
      });
    });
    request.flushHeaders();
  });
}

/**
 * A processor that holds the first `count` images at its door until `open()`, then hands them to sharp: uploads
 * that stay in flight for as long as the test wants (a slow decode, without the wait).
 */
function doorman(count: number) {
  const inner = new SharpImageProcessor();
  let open!: () => void;
  const door = new Promise<void>((resolve) => (open = resolve));
  let held = 0;
  let arrived: (() => void) | undefined;
  const processor: ImageProcessor = {
    probe: (bytes) => inner.probe(bytes),
    async normalize(bytes, options) {
      if (held < count) {
        held++;
        if (held === count) arrived?.();
        await door;
      }
      return inner.normalize(bytes, options);
    },
  };
  const allHeld = new Promise<void>((resolve) => (arrived = resolve));
  return { processor, allHeld, open };
}

/** Sends a photo message over a WebSocket as `from`, and resolves with the server's reply (ack or error). */
function sendOverSocket(rig: Rig, from: string, media: MediaInfo, to: string): Promise<ServerFrame> {
  const ws = new WebSocket(`${rig.server.url}?token=${tokens.sign(from)}`);
  sockets.push(ws);
  return new Promise<ServerFrame>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply to the photo')), 5_000);
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      if (frame.type === 'hello') {
        ws.send(
          JSON.stringify({
            type: 'send',
            ref: 'p1',
            clientMessageId: randomUUID(),
            to,
            kind: 'photo',
            media,
          }),
        );
      } else if ('ref' in frame && frame.ref === 'p1') {
        clearTimeout(timer);
        ws.close();
        resolve(frame);
      }
    });
  });
}

describe('uploads in flight per user', () => {
  test("a third concurrent upload of one user gets 429 with Retry-After at once; another user's passes", async () => {
    const { processor, allHeld, open } = doorman(2);
    const mediaStore = new InMemoryMediaStore();
    const rig = await serve({ processor, mediaStore });
    const photo = await jpeg();
    const first = upload(rig, 'alice', photo);
    const second = upload(rig, 'alice', photo);
    await allHeld; // both are in the pipeline

    const third = await headOnly(rig, 'alice', photo.length); // answered without its body
    expect(third.status).toBe(429);
    expect(Number(third.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(third.body).toEqual({ code: 'RATE_LIMITED', message: expect.stringMatching(/2 of your uploads/) });

    const bobs = await upload(rig, 'bob', photo);
    expect(bobs.status).toBe(201);
    expect(mediaStore.size).toBe(2); // bob's photo and thumbnail; the refused upload stored nothing

    open();
    expect([(await first).status, (await second).status]).toEqual([201, 201]);
    expect((await upload(rig, 'alice', photo)).status).toBe(201); // places are given back
    expect(mediaStore.size).toBe(8);
  });

  test('a refused or failed upload gives its place back', async () => {
    const rig = await serve({ uploadLimits: { maxInFlightPerUser: 1 } });
    const notAnImage = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');
    expect((await upload(rig, 'alice', notAnImage)).status).toBe(400);
    expect((await upload(rig, 'alice', notAnImage)).status).toBe(400);
    expect((await upload(rig, 'alice', await jpeg())).status).toBe(201);
  });
});

describe('bytes per minute per user', () => {
  test('an upload that does not fit the budget yet gets 429, and fits once the clock has refilled it', async () => {
    const photo = await jpeg();
    const size = photo.length;
    const budget = 2 * size + Math.floor(size / 2);
    const mediaStore = new InMemoryMediaStore();
    const rig = await serve({ mediaStore, uploadLimits: { maxBytesPerMinutePerUser: budget } });
    expect((await upload(rig, 'alice', photo)).status).toBe(201);
    expect((await upload(rig, 'alice', photo)).status).toBe(201);

    // Half a photo's worth is left: refused before the body is read, told when it will fit.
    const waitMs = Math.ceil(((size - (budget - 2 * size)) * MINUTE) / budget);
    const refused = await headOnly(rig, 'alice', size);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe(String(Math.ceil(waitMs / 1000)));
    expect(refused.body).toEqual({ code: 'RATE_LIMITED', message: expect.stringMatching(/per minute/) });
    expect((await upload(rig, 'bob', photo)).status).toBe(201); // bob has a budget of his own

    // A refusal costs nothing: one millisecond short is still short, and then it fits exactly.
    rig.clock.advance(waitMs - 1);
    expect((await upload(rig, 'alice', photo)).status).toBe(429);
    rig.clock.advance(1);
    expect((await upload(rig, 'alice', photo)).status).toBe(201);
    expect(mediaStore.size).toBe(8);
  });

  test('a body over a whole minute of budget can never fit: 413 at once', async () => {
    const rig = await serve({ uploadLimits: { maxBytesPerMinutePerUser: 10_000 } });
    const refused = await headOnly(rig, 'alice', 10_001);
    expect(refused.status).toBe(413);
    expect(refused.body).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'the upload is over the 10000 bytes you may upload per minute',
    });
    expect((await upload(rig, 'alice', await jpeg())).status).toBe(201);
  });

  test('the limits must be positive integers: a ValidationError names the field', async () => {
    const chat = ChatSystem.create();
    chats.push(chat);
    for (const [field, value] of [
      ['maxInFlightPerUser', 0],
      ['maxBytesPerMinutePerUser', 1.5],
    ] as const) {
      const error = await createChatServer({
        system: chat,
        auth: tokens.verify,
        uploadLimits: { [field]: value },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details).toEqual({ field: `uploadLimits.${field}` });
    }
  });
});

describe('the decode queue', () => {
  test('an upload that finds the decode queue full gets 429 with Retry-After', async () => {
    const processor = new SharpImageProcessor({ maxConcurrent: 1, maxQueued: 1 });
    const rig = await serve({ processor });
    const photo = await jpeg();
    const png = await sharp({ create: { width: 1000, height: 1000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const options = { maxPixels: 40_000_000, thumbnailSide: 320 };
    // One image decodes and one waits (another system sharing the processor, say), and each that ends is replaced
    // in the same turn of the event loop, before any request can come in: the queue stays full.
    let answered = false;
    const keepBusy = (): Promise<unknown> =>
      processor.normalize(png, options).then(() => (answered ? undefined : keepBusy()));
    const busy = [keepBusy(), keepBusy()];
    const refused = await upload(rig, 'alice', photo);
    answered = true;
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toEqual({ code: 'RATE_LIMITED', message: expect.stringMatching(/wait/) });
    await Promise.all(busy);
    expect((await upload(rig, 'alice', await jpeg())).status).toBe(201);
  });
});

describe('unsent uploads', () => {
  test('an unsent upload is fetched by its uploader alone, and gone after an hour, file and all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chat-room-uploads-'));
    dirs.push(dir);
    const rig = await serve({ mediaStore: new FsMediaStore({ dir }) });
    const unsent = (await (await upload(rig, 'alice', await jpeg())).json()) as MediaInfo;
    const sent = (await (await upload(rig, 'alice', await jpeg())).json()) as MediaInfo;

    const own = await get(rig, 'alice', unsent.mediaId);
    expect([own.status, own.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
    expect((await own.arrayBuffer()).byteLength).toBe(unsent.bytes);
    expect((await get(rig, 'alice', unsent.thumbnailId!)).status).toBe(200);
    const bobs = await get(rig, 'bob', unsent.mediaId);
    const missing = await get(rig, 'bob', randomUUID());
    expect([bobs.status, await bobs.text()]).toEqual([missing.status, await missing.text()]);
    expect(bobs.status).toBe(404);

    expect(await sendOverSocket(rig, 'alice', sent, 'bob')).toMatchObject({ type: 'ack' });
    const bin = async (): Promise<number> =>
      (await readdir(dir, { recursive: true })).filter((n) => n.endsWith('.bin')).length;
    expect(await bin()).toBe(4);

    rig.clock.advance(HOUR); // the sweep runs on the system's clock
    await rig.chat.idle();
    for (const id of [unsent.mediaId, unsent.thumbnailId!]) {
      const gone = await get(rig, 'alice', id);
      expect([gone.status, await gone.json()]).toEqual([
        404,
        { code: 'NOT_FOUND', message: 'no such media' },
      ]);
    }
    expect(await bin()).toBe(2); // only the sent photo and its thumbnail are left on disk
    expect((await get(rig, 'bob', sent.mediaId)).status).toBe(200);
    expect((await get(rig, 'alice', sent.mediaId)).status).toBe(200);
  });

  test('sending an expired upload fails with NOT_FOUND and stores no message', async () => {
    const rig = await serve();
    const media = (await (await upload(rig, 'alice', await jpeg())).json()) as MediaInfo;
    rig.clock.advance(HOUR);
    await rig.chat.idle();
    const reply = await sendOverSocket(rig, 'alice', media, 'bob');
    expect(reply).toMatchObject({
      type: 'error',
      code: 'NOT_FOUND',
      message: expect.stringMatching(/expired/),
    });
    expect((await rig.chat.store.readInbox('bob', 0, 10)).entries).toEqual([]);
    expect(rig.chat.getFeed('alice').size).toBe(0);
  });
});

describe('UploadLimiter (the class behind the limits)', () => {
  test("a user's entry is dropped once idle with a full budget, so memory follows recent uploaders", () => {
    const clock = new ManualClock(T0);
    const limiter = new UploadLimiter({ maxInFlightPerUser: 1 }, clock);
    const busy = limiter.admit('busy', 1_000, 16_000_000); // stays in flight throughout
    for (let i = 0; i < 100; i++) {
      const ticket = limiter.admit(`user-${i}`, 1_000, 16_000_000);
      ticket.bodyRead(1_000);
      ticket.release();
    }
    expect(limiter.size).toBe(101);
    clock.advance(MINUTE - 1);
    limiter.admit('zed', 1, 16_000_000).release();
    expect(limiter.size).toBe(102); // budgets not yet full: kept
    clock.advance(1);
    for (let i = 0; i < 30; i++) limiter.admit('zed', 1, 16_000_000).release();
    expect(limiter.size).toBe(2); // zed, and busy, whose upload is still in flight
    expect(() => limiter.admit('busy', 1, 16_000_000)).toThrow(/still in progress/);
    busy.release();
    expect(() => limiter.admit('busy', 1, 16_000_000)).not.toThrow();
  });
});
