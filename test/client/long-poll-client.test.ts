import type { ReceiptData } from 'chat-room';
import { ChatSystem } from 'chat-room';
import type { BackoffOptions, FetchLike } from 'chat-room/client';
import { ChatClient, LongPollClientTransport } from 'chat-room/client';
import type { ClientLinkHandler } from 'chat-room';
import type { ServerFrame } from 'chat-room/protocol';
import type { ChatServer, ChatServerOptions } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import { WebSocket } from 'ws';
import { inbox, next } from '../support/client-events';

jest.setTimeout(30_000);

const SECRET = 'test-secret-that-is-at-least-32-bytes-long';
const tokens = createTokenAuth({ secret: SECRET, issuer: 'chat-room-test' });

/** How long any wait for an event may take before the test fails. */
/** Reconnects within tens of ms. */
const FAST: Partial<BackoffOptions> = { initialMs: 10, maxMs: 50, factor: 2, jitter: 0.5 };

let servers: ChatServer[] = [];
let systems: ChatSystem[] = [];
let clients: ChatClient[] = [];

afterEach(async () => {
  for (const client of clients) client.close();
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(systems.map((s) => s.close()));
  servers = [];
  systems = [];
  clients = [];
});

async function start(
  options: Partial<ChatServerOptions> = {},
): Promise<{ system: ChatSystem; server: ChatServer }> {
  const system = ChatSystem.create();
  systems.push(system);
  for (const id of ['alice', 'bob']) system.registerUser({ id, name: id });
  const server = await createChatServer({ system, auth: tokens.verify, ...options });
  servers.push(server);
  return { system, server };
}

function client(
  server: ChatServer,
  userId: string,
  options: Partial<ConstructorParameters<typeof ChatClient>[0]> = {},
): ChatClient {
  const c = new ChatClient({
    url: server.url,
    token: tokens.sign(userId),
    deviceId: `${userId}-phone`,
    WebSocket,
    backoff: FAST,
    ...options,
  });
  clients.push(c);
  return c;
}

/** Waits until `check` holds, polling every 10 ms, for at most `ms`. */
async function eventually(check: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The real fetch, recording each request's method and URL. */
function recordingFetch(log: { method: string; url: string }[]): FetchLike {
  return (input, init) => {
    log.push({ method: init?.method ?? 'GET', url: String(input) });
    return globalThis.fetch(input, init);
  };
}

describe('ChatClient over long-poll, against a real server', () => {
  it("sends and receives with transport 'long-poll': ack, delivery, delivered and read receipts", async () => {
    const { server } = await start();
    const requests: { method: string; url: string }[] = [];
    const alice = client(server, 'alice', { transport: 'long-poll', fetch: recordingFetch(requests) });
    const bob = client(server, 'bob', { url: server.httpUrl, transport: 'long-poll' });
    const aliceConnected = next(alice, 'connected');
    await Promise.all([alice.connect(), bob.connect()]);
    const [info] = await aliceConnected;
    expect(info).toEqual({ userId: 'alice', deviceId: 'alice-phone', cursor: 0, transport: 'long-poll' });
    expect(alice.transport).toBe('long-poll');
    expect(bob.transport).toBe('long-poll');
    // Every request went to /poll, with a link id and the device; no socket was tried.
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      const url = new URL(r.url);
      expect(url.pathname).toBe('/poll');
      expect(url.searchParams.get('link')).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      expect(url.searchParams.get('deviceId')).toBe('alice-phone');
    }

    const bobGot = next(bob, 'message');
    const delivered = next(alice, 'receipt', (r: ReceiptData) => r.status === 'delivered');
    const ack = await alice.send({ to: 'bob', text: 'hello over http' });
    expect(ack).toEqual(expect.objectContaining({ seq: 1, clientMessageId: expect.any(String) }));
    const [message] = await bobGot;
    expect(message).toEqual(
      expect.objectContaining({ text: 'hello over http', senderId: 'alice', id: ack.messageId }),
    );
    const [receipt] = await delivered;
    expect(receipt).toEqual(expect.objectContaining({ threadId: ack.threadId, upToSeq: 1 }));

    const read = next(alice, 'receipt', (r: ReceiptData) => r.status === 'read');
    await bob.markRead(ack.threadId, ack.seq);
    const [readReceipt] = await read;
    expect(readReceipt).toEqual(expect.objectContaining({ threadId: ack.threadId, upToSeq: 1 }));

    // And back the other way.
    const aliceGot = next(alice, 'message');
    await bob.send({ to: 'alice', text: 'hi alice' });
    const [reply] = await aliceGot;
    expect(reply).toEqual(expect.objectContaining({ text: 'hi alice', senderId: 'bob', seq: 2 }));
    expect(requests.some((r) => r.method === 'POST')).toBe(true);
  });

  it("'auto' falls back to long-poll at once when the server refuses WebSocket, and stays on it", async () => {
    const { server } = await start({ transports: { websocket: false } });
    const alice = client(server, 'alice'); // transport 'auto' by default
    let sockets = 0;
    let cut = false;
    const bob = client(server, 'bob', {
      WebSocket: class extends WebSocket {
        constructor(url: string) {
          super(url);
          sockets++;
        }
      },
      // Fails every request while `cut`, as a dropped network does.
      fetch: (input, init) =>
        cut ? Promise.reject(new TypeError('network down')) : globalThis.fetch(input, init),
    });
    const reasons: string[] = [];
    const delays: number[] = [];
    bob.on('disconnected', (reason) => reasons.push(reason));
    bob.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    const bobConnected = next(bob, 'connected');
    await Promise.all([alice.connect(), bob.connect()]);
    // The fallback went at once, not as a retry after a backoff.
    expect(delays).toEqual([]);
    expect(reasons).toHaveLength(1);
    expect((await bobConnected)[0].transport).toBe('long-poll');
    expect(alice.transport).toBe('long-poll');
    expect(bob.transport).toBe('long-poll');

    const got = inbox(bob);
    const ack = await alice.send({ to: 'bob', text: 'through the fallback' });
    await got.until(1);
    expect(got.messages.map((m) => [m.text, m.id])).toEqual([['through the fallback', ack.messageId]]);
    expect(alice.pending).toBe(0);
    expect(sockets).toBe(1);

    // Long-poll worked: after a drop the client goes straight back to it, without trying a socket.
    const reconnecting = next(bob, 'reconnecting');
    cut = true;
    await alice.send({ to: 'bob', text: 'while cut' });
    await reconnecting;
    const back = next(bob, 'connected');
    cut = false;
    expect((await back)[0].transport).toBe('long-poll');
    await got.until(2);
    expect(got.messages.map((m) => m.text)).toEqual(['through the fallback', 'while cut']);
    expect(sockets).toBe(1);
    expect(bob.transport).toBe('long-poll');
  });

  it('a client switching WebSocket → long-poll → WebSocket mid-stream gets every message once, in order', async () => {
    // Alice sends faster than the default rate limit lets a connection.
    const rate = { frames: 1_000, perMs: 1_000 };
    const { system, server } = await start({ limits: { rate }, longPollLimits: { rate } });
    const alice = client(server, 'alice', { transport: 'websocket' });
    const bob = client(server, 'bob');
    const got = inbox(bob);
    const kinds: string[] = [];
    bob.on('connected', (info) => kinds.push(info.transport));
    /** How many messages arrived on each connection (connections numbered from 1). */
    const perConnection = [0, 0, 0, 0];
    bob.on('message', () => perConnection[kinds.length]!++);
    await Promise.all([alice.connect(), bob.connect()]);
    expect(bob.transport).toBe('websocket');

    const acks = new Map<string, number>();
    alice.on('ack', (a) => acks.set(a.clientMessageId, (acks.get(a.clientMessageId) ?? 0) + 1));
    const N = 60;
    const sends: Promise<{ clientMessageId: string; seq: number }>[] = [];
    let toLongPoll: Promise<void> | undefined;
    let toWebSocket: Promise<void> | undefined;
    for (let i = 1; i <= N; i++) {
      sends.push(alice.send({ to: 'bob', text: `m${i}` }));
      if (i % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      if (i === 15) toLongPoll = bob.useTransport('long-poll');
      if (i === 40) {
        await toLongPoll;
        expect(bob.transport).toBe('long-poll');
        toWebSocket = bob.useTransport('websocket');
      }
    }
    await toWebSocket;
    expect(bob.transport).toBe('websocket');
    const done = await Promise.all(sends);
    await got.until(N);
    // Give a straggler (a duplicate) the chance to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(got.messages.map((m) => m.text)).toEqual(Array.from({ length: N }, (_, i) => `m${i + 1}`));
    expect(got.messages.map((m) => m.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(new Set(got.messages.map((m) => m.id)).size).toBe(N);
    expect(done.map((a) => a.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(acks.size).toBe(N);
    expect([...acks.values()].every((n) => n === 1)).toBe(true);
    expect(kinds).toEqual(['websocket', 'long-poll', 'websocket']);
    // The stream really was mid-flight across both switches.
    expect(perConnection[1]).toBeGreaterThan(0);
    expect(perConnection[2]).toBeGreaterThan(0);
    expect(perConnection[3]).toBeGreaterThan(0);
    expect(bob.cursor).toBe(N);
    expect(bob.pending).toBe(0);
    expect(await system.store.lastSeq(got.messages[0]!.threadId)).toBe(N);

    // The pinned transport holds: live delivery continues over WebSocket.
    await alice.send({ to: 'bob', text: 'after' });
    await got.until(N + 1);
    expect(got.messages).toHaveLength(N + 1);
  });

  it('close() of a long-poll client sends DELETE, and the server reports the user offline', async () => {
    const { system, server } = await start();
    const requests: { method: string; url: string }[] = [];
    const bob = client(server, 'bob', { transport: 'long-poll', fetch: recordingFetch(requests) });
    await bob.connect();
    expect(system.presenceOf('bob')).toBe('online');
    const link = new URL(requests[0]!.url).searchParams.get('link');

    bob.close();
    expect(bob.transport).toBeUndefined();
    const deletes = requests.filter((r) => r.method === 'DELETE');
    expect(deletes).toHaveLength(1);
    expect(new URL(deletes[0]!.url).searchParams.get('link')).toBe(link);
    await eventually(() => system.presenceOf('bob') === 'offline', 2_000);
  });

  it('a bad token ends the link, and the client retries with backoff until a good one comes', async () => {
    const { server } = await start();
    let good = false;
    const bob = client(server, 'bob', {
      transport: 'long-poll',
      token: () => (good ? tokens.sign('bob') : 'not-a-token'),
    });
    const reasons: string[] = [];
    bob.on('disconnected', (reason) => reasons.push(reason));
    const attempts: number[] = [];
    bob.on('reconnecting', ({ attempt, delayMs }) => {
      attempts.push(attempt);
      expect(delayMs).toBeLessThanOrEqual(FAST.maxMs as number);
    });
    const connecting = bob.connect();
    await next(bob, 'reconnecting', ({ attempt }) => attempt === 3);
    expect(attempts).toEqual([1, 2, 3]);
    expect(reasons.length).toBeGreaterThanOrEqual(3);
    expect(reasons[0]).toMatch(/401/);
    expect(bob.connected).toBe(false);

    good = true;
    await connecting;
    expect(bob.transport).toBe('long-poll');
  });
});

describe('LongPollClientTransport', () => {
  /** A scripted fetch: GETs answer from `polls` (then hang until aborted), POSTs from `posts`. */
  function scripted(polls: unknown[][], posts: unknown[][] = []) {
    const calls: { method: string; url: URL; body?: unknown }[] = [];
    const fetch: FetchLike = (input, init) => {
      const method = init?.method ?? 'GET';
      calls.push({
        method,
        url: new URL(String(input)),
        ...(typeof init?.body === 'string' ? { body: JSON.parse(init.body) as unknown } : {}),
      });
      const respond = (frames: unknown[]): Promise<Response> =>
        Promise.resolve(new Response(JSON.stringify({ frames }), { status: 200 }));
      if (method === 'DELETE') return respond([]);
      const next = method === 'POST' ? posts.shift() : polls.shift();
      if (next !== undefined) return respond(next);
      return new Promise((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    };
    return { fetch, calls };
  }

  function recorder(): ClientLinkHandler & { frames: ServerFrame[]; reasons: string[] } {
    const frames: ServerFrame[] = [];
    const reasons: string[] = [];
    return { frames, reasons, received: (f) => frames.push(f), closed: (r) => reasons.push(r) };
  }

  const hello = (latest: number) => ({
    type: 'hello',
    v: 1,
    userId: 'bob',
    deviceId: 'd',
    latest,
    cursor: 0,
  });
  const entry = (inboxSeq: number) => ({ type: 'entry', entry: { inboxSeq, type: 'message' } });
  const identity = { userId: 'bob', deviceId: 'd', foreground: true };

  it('polls after the hello’s latest and the newest entry, and drops a repeated hello', async () => {
    const { fetch, calls } = scripted([[hello(7)], [entry(8), hello(9), entry(10)], []]);
    const transport = new LongPollClientTransport({
      url: 'http://chat.test/',
      token: 't',
      fetch,
      waitMs: 1_000,
    });
    const handler = recorder();
    const link = transport.open(identity, handler);
    await eventually(() => calls.length >= 4);
    expect(calls.map((c) => c.url.searchParams.get('after'))).toEqual([null, '7', '10', '10']);
    expect(calls.every((c) => c.url.searchParams.get('wait') === '1000')).toBe(true);
    expect(new Set(calls.map((c) => c.url.searchParams.get('link'))).size).toBe(1);
    expect(handler.frames.map((f) => f.type)).toEqual(['hello', 'entry', 'entry']);
    link.close();
    link.close();
    expect(handler.reasons).toEqual(['closed by client']);
    expect(link.open).toBe(false);
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(1);
  });

  it('sends the frames of one turn in one POST, one POST at a time, and hands over its answers', async () => {
    const { fetch, calls } = scripted(
      [[hello(0)]],
      [[{ type: 'pong', ref: 'a' }], [{ type: 'pong', ref: 'b' }]],
    );
    const transport = new LongPollClientTransport({ url: 'http://chat.test/', token: 't', fetch });
    const handler = recorder();
    const link = transport.open(identity, handler);
    link.send({ type: 'ping', ref: 'a' });
    link.send({ type: 'active' });
    await Promise.resolve();
    link.send({ type: 'ping', ref: 'b' }); // the first POST is in flight: this one waits for it
    await eventually(() => handler.frames.length >= 3);
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts.map((c) => c.body)).toEqual([
      [{ type: 'ping', ref: 'a' }, { type: 'active' }],
      [{ type: 'ping', ref: 'b' }],
    ]);
    expect(handler.frames.filter((f) => f.type === 'pong')).toHaveLength(2);
    link.close();
  });

  it('ends the link once on a malformed answer or an error status, and delivers nothing after', async () => {
    for (const answer of [
      new Response('not json', { status: 200 }),
      new Response(JSON.stringify({ nope: true }), { status: 200 }),
      new Response(JSON.stringify({ code: 'UNAUTHORIZED' }), { status: 401 }),
    ]) {
      const handler = recorder();
      const fetch: FetchLike = (_input, init) =>
        init?.method === 'DELETE'
          ? Promise.resolve(new Response('{"frames":[]}'))
          : init?.method === 'POST'
            ? Promise.resolve(new Response(JSON.stringify({ frames: [{ type: 'pong' }] })))
            : Promise.resolve(answer);
      const link = new LongPollClientTransport({ url: 'http://chat.test/', token: 't', fetch }).open(
        identity,
        handler,
      );
      await eventually(() => handler.reasons.length > 0);
      link.send({ type: 'ping' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(handler.reasons).toHaveLength(1);
      expect(handler.frames).toEqual([]);
      expect(link.open).toBe(false);
    }
  });
});
