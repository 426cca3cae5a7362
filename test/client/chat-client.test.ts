import type { ReceiptData } from 'chat-room';
import { ChatSystem, ManualClock } from 'chat-room';
import type { BackoffOptions, WebSocketConstructor, WebSocketLike } from 'chat-room/client';
import { ChatClient, DEFAULT_BACKOFF, backoffDelay } from 'chat-room/client';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import { WebSocket } from 'ws';
import { inbox, next } from '../support/client-events';

jest.setTimeout(20_000);

const SECRET = 'test-secret-that-is-at-least-32-bytes-long';
const tokens = createTokenAuth({ secret: SECRET, issuer: 'chat-room-test' });

/** How long any wait for an event may take before the test fails. */
/** Reconnects within tens of ms. */
const FAST: Partial<BackoffOptions> = { initialMs: 10, maxMs: 50, factor: 2, jitter: 0.5 };

let servers: ChatServer[] = [];
let systems: ChatSystem[] = [];
let clients: ChatClient[] = [];
let sockets: WebSocket[] = [];

afterEach(async () => {
  for (const client of clients) client.close();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.terminate();
        }),
    ),
  );
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(systems.map((s) => s.close()));
  servers = [];
  systems = [];
  clients = [];
  sockets = [];
});

async function start(): Promise<{ system: ChatSystem; server: ChatServer }> {
  const system = ChatSystem.create();
  systems.push(system);
  for (const id of ['alice', 'bob']) system.registerUser({ id, name: id });
  const server = await createChatServer({ system, auth: tokens.verify });
  servers.push(server);
  return { system, server };
}

/**
 * A `ws` socket behind the standard WebSocket surface, recorded in `opened` (so a test can cut it), with an
 * optional filter that sees each incoming frame first and may swallow it.
 */
function trackedWebSocket(
  opened: WebSocket[],
  filter?: (frame: { type: string }, ws: WebSocket) => boolean,
): WebSocketConstructor {
  return class implements WebSocketLike {
    readonly ws: WebSocket;
    constructor(url: string) {
      this.ws = new WebSocket(url);
      this.ws.on('error', () => undefined);
      opened.push(this.ws);
      sockets.push(this.ws);
    }
    get readyState(): number {
      return this.ws.readyState;
    }
    send(data: string): void {
      this.ws.send(data);
    }
    close(code?: number, reason?: string): void {
      this.ws.close(code, reason);
    }
    addEventListener(type: string, listener: (event: never) => void): void {
      const call = listener as (event: unknown) => void;
      if (type !== 'message' || filter === undefined) {
        this.ws.addEventListener(type as 'open', call);
        return;
      }
      this.ws.addEventListener('message', (event) => {
        if (filter(JSON.parse(String(event.data)) as { type: string }, this.ws)) call(event);
      });
    }
  };
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

describe('ChatClient over real sockets', () => {
  it('sends with an ack, receives, and reports delivered and read receipts', async () => {
    const { server } = await start();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob');
    await Promise.all([alice.connect(), bob.connect()]);
    expect(alice.userId).toBe('alice');
    expect(alice.connected).toBe(true);

    const bobGot = next(bob, 'message');
    const delivered = next(alice, 'receipt', (r: ReceiptData) => r.status === 'delivered');
    const ack = await alice.send({ to: 'bob', text: 'hello bob' });
    expect(ack).toEqual(expect.objectContaining({ seq: 1, clientMessageId: expect.any(String) }));
    const [message] = await bobGot;
    expect(message).toEqual(
      expect.objectContaining({ text: 'hello bob', senderId: 'alice', id: ack.messageId }),
    );
    const [receipt] = await delivered;
    expect(receipt).toEqual(expect.objectContaining({ threadId: ack.threadId, upToSeq: 1 }));

    // The local feeds follow what was sent, received and read.
    expect(alice.feed.get(ack.threadId)).toEqual(
      expect.objectContaining({ preview: 'hello bob', unread: 0 }),
    );
    expect(bob.feed.get(ack.threadId)).toEqual(expect.objectContaining({ preview: 'hello bob', unread: 1 }));

    const read = next(alice, 'receipt', (r: ReceiptData) => r.status === 'read');
    await bob.markRead(ack.threadId, ack.seq);
    expect(bob.feed.unreadCount(ack.threadId)).toBe(0);
    const [readReceipt] = await read;
    expect(readReceipt).toEqual(expect.objectContaining({ threadId: ack.threadId, upToSeq: 1 }));
  });

  it('a client that disconnects, misses messages and reconnects gets every one exactly once, in order', async () => {
    const { server } = await start();
    const bobSockets: WebSocket[] = [];
    let gate: Promise<void> = Promise.resolve();
    const alice = client(server, 'alice');
    const bob = client(server, 'bob', {
      WebSocket: trackedWebSocket(bobSockets),
      // Bob stays away while the gate is shut: his next attempt waits for a token.
      token: async () => {
        await gate;
        return tokens.sign('bob');
      },
    });
    const got = inbox(bob);
    const connected: number[] = [];
    bob.on('connected', (info) => connected.push(info.cursor));
    await Promise.all([alice.connect(), bob.connect()]);

    await alice.send({ to: 'bob', text: 'before' });
    await got.until(1);

    let release!: () => void;
    gate = new Promise((resolve) => (release = resolve));
    const disconnected = next(bob, 'disconnected');
    const reconnecting = next(bob, 'reconnecting');
    bobSockets[0]!.terminate();
    await disconnected;
    const [{ attempt, delayMs }] = await reconnecting;
    expect(attempt).toBe(1);
    expect(delayMs).toBeGreaterThanOrEqual(5);
    expect(delayMs).toBeLessThanOrEqual(10);
    expect(bob.connected).toBe(false);

    for (let i = 1; i <= 5; i++) await alice.send({ to: 'bob', text: `missed ${i}` });
    expect(got.messages).toHaveLength(1);

    const back = next(bob, 'connected');
    release();
    await back;
    await got.until(6);
    expect(got.messages.map((m) => m.text)).toEqual([
      'before',
      'missed 1',
      'missed 2',
      'missed 3',
      'missed 4',
      'missed 5',
    ]);
    expect(new Set(got.messages.map((m) => m.id)).size).toBe(6);
    expect(got.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(bobSockets).toHaveLength(2);
    expect(connected).toHaveLength(2);

    // Live delivery continues on the new connection, still once each.
    await alice.send({ to: 'bob', text: 'after' });
    await got.until(7);
    expect(got.messages.map((m) => m.text).slice(-1)).toEqual(['after']);
    expect(got.messages).toHaveLength(7);
    expect(bob.feed.unreadCount(got.messages[0]!.threadId)).toBe(7);
  });

  it('a send retried after a dropped connection is stored once', async () => {
    const { system, server } = await start();
    const aliceSockets: WebSocket[] = [];
    const dropped: { messageId?: string | undefined } = {};
    let armed = false;
    const alice = client(server, 'alice', {
      // The server stores the send and acks it, but the connection drops before the ack reaches the client.
      WebSocket: trackedWebSocket(aliceSockets, (frame, ws) => {
        if (!armed || frame.type !== 'ack') return true;
        armed = false;
        dropped.messageId = (frame as { messageId?: string }).messageId;
        ws.terminate();
        return false;
      }),
    });
    const bob = client(server, 'bob');
    const got = inbox(bob);
    await Promise.all([alice.connect(), bob.connect()]);

    armed = true;
    const reconnected = next(alice, 'connected');
    const ack = await alice.send({ to: 'bob', text: 'only once' });
    await reconnected;

    expect(dropped.messageId).toBeDefined();
    expect(ack.messageId).toBe(dropped.messageId);
    expect(aliceSockets).toHaveLength(2);
    expect(alice.pending).toBe(0);
    const stored = await system.store.findByClientMessageId('alice', ack.clientMessageId);
    expect(stored?.id).toBe(ack.messageId);
    expect(await system.store.lastSeq(ack.threadId)).toBe(1);
    const inThread = await system.store.listMessages(ack.threadId, 0, 100, 100);
    expect(inThread.map((m) => m.text)).toEqual(['only once']);

    // Bob sees it once; a later message proves nothing else is coming before it.
    await alice.send({ to: 'bob', text: 'next' });
    await got.until(2);
    expect(got.messages.map((m) => m.text)).toEqual(['only once', 'next']);
  });

  it('close() stops reconnecting and rejects what waits for an ack', async () => {
    const { server } = await start();
    const aliceSockets: WebSocket[] = [];
    const alice = client(server, 'alice', { WebSocket: trackedWebSocket(aliceSockets) });
    await alice.connect();
    const reconnecting = next(alice, 'reconnecting');
    aliceSockets[0]!.terminate();
    await reconnecting;
    const send = alice.send({ to: 'bob', text: 'never' });
    alice.close();
    await expect(send).rejects.toThrow('closed');
    await expect(alice.connect()).rejects.toThrow('closed');
    expect(aliceSockets).toHaveLength(1);
  });
});

describe('ChatClient backoff', () => {
  it('computes delays that grow exponentially, are capped and jittered within bounds', () => {
    const b: BackoffOptions = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, b, () => 0))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, b, () => 0.999999))).toEqual([50, 100, 200, 400, 500]);
    for (let n = 1; n <= 20; n++) {
      const base = Math.min(1_000, 100 * 2 ** (n - 1));
      const d = backoffDelay(n, b, Math.random);
      expect(d).toBeGreaterThanOrEqual(base / 2);
      expect(d).toBeLessThanOrEqual(base);
    }
    expect(DEFAULT_BACKOFF).toEqual({ initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.5 });
  });

  it('waits on the injected clock between failed attempts, with growing jittered delays', async () => {
    const clock = new ManualClock(0);
    const randoms = [0, 1, 0.5, 0, 0.25];
    let opened = 0;
    /** A socket that fails to connect, as a refused connection does. */
    class Refused implements WebSocketLike {
      readyState = 0;
      readonly #listeners: Record<string, ((event: never) => void)[]> = {};
      constructor(readonly url: string) {
        opened++;
        queueMicrotask(() => {
          this.readyState = 3;
          for (const l of this.#listeners.error ?? []) (l as (e: unknown) => void)({});
          for (const l of this.#listeners.close ?? [])
            (l as (e: unknown) => void)({ code: 1006, reason: '' });
        });
      }
      send(): void {}
      close(): void {}
      addEventListener(type: string, listener: (event: never) => void): void {
        (this.#listeners[type] ??= []).push(listener);
      }
    }
    const c = new ChatClient({
      url: 'ws://127.0.0.1:1/',
      token: 'x',
      WebSocket: Refused,
      clock,
      random: () => randoms.shift() ?? 0,
      backoff: { initialMs: 100, maxMs: 500, factor: 2, jitter: 0.5 },
    });
    clients.push(c);
    const delays: number[] = [];
    c.on('reconnecting', ({ attempt, delayMs }) => delays.push(attempt * 10_000 + delayMs));
    const connecting = c.connect();
    connecting.catch(() => undefined);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const [info] = await next(c, 'reconnecting');
      expect(info.attempt).toBe(attempt);
      expect(opened).toBe(attempt);
      clock.advance(info.delayMs - 1);
      expect(opened).toBe(attempt); // not before the delay
      clock.advance(1);
      expect(opened).toBe(attempt + 1);
    }
    // base 100, 200, 400, 500 (capped), 500 with 0, 1, 0.5, 0, 0.25 of half taken off
    expect(delays).toEqual([10_100, 20_100, 30_300, 40_500, 50_438]);
    c.close();
    await expect(connecting).rejects.toThrow('closed');
    expect(clock.pending).toBe(0);
  });
});
