import type { ClientFrame, ErrorFrame, ServerFrame } from 'chat-room';
import { ChatSystem, PermissionError } from 'chat-room';
import type { ChatServer } from 'chat-room/server';
import type { WebSocketLimits } from 'chat-room/ws';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';

jest.setTimeout(20_000);

const SECRET = 'test-secret-that-is-at-least-32-bytes-long';
const tokens = createTokenAuth({ secret: SECRET, issuer: 'chat-room-test' });

/** How long any wait for a socket event may take before the test fails. */
const WAIT_MS = 5_000;

/** One device over a real socket, recording every frame it receives. */
class Device {
  readonly frames: ServerFrame[] = [];
  readonly #waiters = new Set<() => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as ServerFrame);
      for (const wake of [...this.#waiters]) wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('error', () => undefined);
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Waits for a frame (received already or later) that matches, bounded by `WAIT_MS`. */
  next<T extends ServerFrame = ServerFrame>(
    match: (f: ServerFrame) => boolean,
    what = 'a frame',
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const found = this.frames.find(match);
        if (found === undefined) return false;
        cleanUp();
        resolve(found as T);
        return true;
      };
      const timer = setTimeout(() => {
        cleanUp();
        reject(
          new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.map((f) => f.type))}`),
        );
      }, WAIT_MS);
      const cleanUp = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      const wake = (): void => void check();
      this.#waiters.add(wake);
      check();
    });
  }
}

let servers: ChatServer[] = [];
let systems: ChatSystem[] = [];
let sockets: WebSocket[] = [];

afterEach(async () => {
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
  sockets = [];
});

async function start(limits: WebSocketLimits = {}, allowedOrigins?: string[]) {
  const system = ChatSystem.create();
  systems.push(system);
  for (const id of ['alice', 'bob', 'carol']) system.registerUser({ id, name: id });
  const server = await createChatServer({
    system,
    auth: tokens.verify,
    limits,
    ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
  });
  servers.push(server);
  return { system, server };
}

function open(
  url: string,
  options: { headers?: Record<string, string>; autoPong?: boolean } = {},
): WebSocket {
  const ws = new WebSocket(url, options);
  sockets.push(ws);
  return ws;
}

/** Connects a user (token in the query or the Authorization header) and waits for the hello frame. */
async function connect(
  server: ChatServer,
  userId: string,
  options: { header?: boolean; autoPong?: boolean; query?: string } = {},
): Promise<Device> {
  const token = tokens.sign(userId);
  const url = options.header
    ? `${server.url}?${options.query ?? ''}`
    : `${server.url}?token=${token}&${options.query ?? ''}`;
  const ws = open(url, {
    ...(options.header ? { headers: { Authorization: `Bearer ${token}` } } : {}),
    ...(options.autoPong === undefined ? {} : { autoPong: options.autoPong }),
  });
  const device = new Device(ws);
  await device.next((f) => f.type === 'hello', 'hello');
  return device;
}

/** Attempts an upgrade that should be refused, and resolves with the HTTP status the server answered. */
function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const ws = open(url, { headers });
    const timer = setTimeout(() => reject(new Error('no answer to the upgrade')), WAIT_MS);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      clearTimeout(timer);
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  });
}

/** Resolves when the server has closed a session of the user, bounded by `WAIT_MS`. */
function sessionClosed(system: ChatSystem, userId: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${userId}'s session did not close`)), WAIT_MS);
    const listener = (e: { userId: string }): void => {
      if (e.userId !== userId) return;
      clearTimeout(timer);
      system.notifications.off('session-closed', listener);
      resolve();
    };
    system.notifications.on('session-closed', listener);
  });
}

function isError(code: string) {
  return (f: ServerFrame): boolean => f.type === 'error' && f.code === code;
}

describe('chat-room/ws server', () => {
  test('greets a device with hello and answers GET /health', async () => {
    const { server } = await start();
    const alice = await connect(server, 'alice', { header: true, query: 'deviceId=phone' });
    expect(alice.frames[0]).toMatchObject({ type: 'hello', v: 1, userId: 'alice', deviceId: 'phone' });
    const res = await fetch(`http://127.0.0.1:${server.port}/health`);
    expect([res.status, await res.text()]).toEqual([200, 'ok']);
  });

  test('carries the seed flow: ack, entry, delivered and read receipts', async () => {
    const { server } = await start();
    const alice = await connect(server, 'alice');
    const bob = await connect(server, 'bob', { header: true });

    alice.send({ type: 'send', ref: 'r1', clientMessageId: 'c1', to: 'bob', text: 'Hello Gainlo' });
    const ack = await alice.next((f) => f.type === 'ack' && f.ref === 'r1', 'ack');
    expect(ack).toMatchObject({ clientMessageId: 'c1', seq: 1 });
    if (ack.type !== 'ack') throw new Error('unreachable');

    const entry = await bob.next((f) => f.type === 'entry' && f.entry.type === 'message', 'entry');
    if (entry.type !== 'entry' || entry.entry.type !== 'message') throw new Error('unreachable');
    expect(entry.entry.message).toMatchObject({ senderId: 'alice', text: 'Hello Gainlo', id: ack.messageId });

    bob.send({ type: 'delivered', ref: 'd1', upTo: entry.entry.inboxSeq });
    const delivered = await alice.next(
      (f) => f.type === 'entry' && f.entry.type === 'receipt' && f.entry.receipt.status === 'delivered',
      'delivered receipt',
    );
    expect(delivered).toMatchObject({ entry: { receipt: { threadId: ack.threadId, upToSeq: 1 } } });

    bob.send({ type: 'read', ref: 'rd1', threadId: ack.threadId, upToSeq: 1 });
    const read = await alice.next(
      (f) => f.type === 'entry' && f.entry.type === 'receipt' && f.entry.receipt.status === 'read',
      'read receipt',
    );
    expect(read).toMatchObject({ entry: { receipt: { threadId: ack.threadId, upToSeq: 1 } } });
  });

  test('ignores a spoofed sender: the stored sender is the connection user', async () => {
    const { server, system } = await start();
    const alice = await connect(server, 'alice');
    alice.send({ type: 'send', ref: 'r1', clientMessageId: 'c1', to: 'bob', text: 'hi', from: 'carol' });
    const ack = await alice.next((f) => f.type === 'ack', 'ack');
    if (ack.type !== 'ack') throw new Error('unreachable');
    expect((await system.store.getMessage(ack.messageId))?.senderId).toBe('alice');
  });

  test('refuses a non-member’s group message and fans it out to nobody', async () => {
    const { server, system } = await start();
    const group = system.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob'] });
    const bob = await connect(server, 'bob');
    const carol = await connect(server, 'carol');
    carol.send({ type: 'send', ref: 'r1', clientMessageId: 'c1', groupId: group.id, text: 'let me in' });
    expect(await carol.next(isError('NOT_FOUND'), 'NOT_FOUND')).toMatchObject({ ref: 'r1' });
    // A frame after it still reaches bob, so had the refused one been fanned out, it would have arrived first.
    const alice = await connect(server, 'alice');
    alice.send({ type: 'send', ref: 'r2', clientMessageId: 'c2', groupId: group.id, text: 'members only' });
    const entry = await bob.next((f) => f.type === 'entry' && f.entry.type === 'message', 'entry');
    expect(entry).toMatchObject({ entry: { message: { senderId: 'alice', text: 'members only' } } });
    expect(await system.store.lastSeq(system.groupThreadId(group.id))).toBe(1);
  });

  test('refuses a missing or unknown token with 401 and a foreign Origin with 403', async () => {
    const { server } = await start({}, ['https://chat.example']);
    expect(await refusedStatus(server.url)).toBe(401);
    expect(await refusedStatus(`${server.url}?token=not-a-token`)).toBe(401);
    expect(await refusedStatus(server.url, { Authorization: 'Bearer not.a.token' })).toBe(401);
    const forged = createTokenAuth({ secret: 'another-secret-that-is-at-least-32-bytes' }).sign('alice');
    expect(await refusedStatus(`${server.url}?token=${forged}`)).toBe(401);
    const token = tokens.sign('alice');
    expect(await refusedStatus(`${server.url}?token=${token}`, { Origin: 'https://evil.example' })).toBe(403);
    expect(await refusedStatus(`${server.url}?token=${token}&deviceId=bad%20id`)).toBe(400);
    const ok = new Device(
      open(`${server.url}?token=${token}`, { headers: { Origin: 'https://chat.example' } }),
    );
    await ok.next((f) => f.type === 'hello', 'hello');
  });

  test('answers malformed JSON and binary frames with VALIDATION and keeps the connection', async () => {
    const { server } = await start();
    const alice = await connect(server, 'alice');
    alice.ws.send('{not json');
    alice.ws.send(Buffer.from([1, 2, 3]));
    alice.send({ type: 'sync', ref: 's1', after: 0 });
    const synced = await alice.next((f) => f.type === 'synced' && f.ref === 's1', 'synced');
    expect(synced).toMatchObject({ entries: [], hasMore: false });
    const errors = alice.frames.filter((f): f is ErrorFrame => f.type === 'error');
    expect(errors.map((e) => e.code)).toEqual(['VALIDATION', 'VALIDATION']);
    expect(alice.ws.readyState).toBe(WebSocket.OPEN);
  });

  test('closes the socket with 1009 on a frame over maxFrameBytes', async () => {
    const { server } = await start({ maxFrameBytes: 1024 });
    const alice = await connect(server, 'alice');
    alice.send({ type: 'send', ref: 'r1', clientMessageId: 'c1', to: 'bob', text: 'x'.repeat(2000) });
    expect((await alice.closed).code).toBe(1009);
  });

  test('answers a flood with RATE_LIMITED and keeps the frames within the limit', async () => {
    const { server, system } = await start({ rate: { frames: 5, perMs: 60_000 } });
    const alice = await connect(server, 'alice');
    for (let i = 1; i <= 8; i++) {
      alice.send({ type: 'send', ref: `r${i}`, clientMessageId: `c${i}`, to: 'bob', text: `m${i}` });
    }
    const limited = await alice.next<ErrorFrame>(isError('RATE_LIMITED'), 'RATE_LIMITED');
    expect(limited.details?.retryAfterMs).toBeGreaterThan(0);
    await alice.next((f) => f.type === 'error' && f.ref === 'r8', 'the last refusal');
    const acks = alice.frames.filter((f) => f.type === 'ack');
    expect(acks.map((a) => a.type === 'ack' && a.ref)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(alice.frames.filter(isError('RATE_LIMITED'))).toHaveLength(3);
    for (const a of acks) {
      if (a.type === 'ack') expect(await system.store.getMessage(a.messageId)).toBeDefined();
    }
  });

  test('cuts off a client that stops reading while another keeps receiving', async () => {
    const { server, system } = await start({ maxBufferedBytes: 64 * 1024 });
    const bob = await connect(server, 'bob');
    const carol = await connect(server, 'carol');
    const socket = (bob.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const text = 'y'.repeat(4000);
    let sent = 0;
    // Bounded: at most ~40 MB, far beyond the kernel's socket buffers on loopback.
    while (system.presenceOf('bob') !== 'offline' && sent < 10_000) {
      await Promise.all(
        Array.from({ length: 50 }, () => system.sendMessage({ from: 'alice', to: 'bob', text })),
      );
      sent += 50;
    }
    expect(system.presenceOf('bob')).toBe('offline');
    await system.sendMessage({ from: 'alice', to: 'carol', text: 'still here' });
    await carol.next((f) => f.type === 'entry' && f.entry.type === 'message', 'entry for carol');
    expect(await system.store.latestInboxSeq('bob')).toBe(sent);
    // Once it reads again, it finds the close frame after what was already buffered: try again later.
    socket.resume();
    expect((await bob.closed).code).toBe(1013);
  });

  test('detects a dead peer by heartbeat and takes its user offline', async () => {
    const { server, system } = await start({ heartbeatMs: 100 });
    const alice = await connect(server, 'alice');
    const bob = await connect(server, 'bob', { autoPong: false });
    expect(system.presenceOf('bob')).toBe('online');
    const gone = sessionClosed(system, 'bob');
    const { code } = await bob.closed;
    expect(code).toBe(1006);
    await gone;
    expect(system.presenceOf('bob')).toBe('offline');
    // A peer that answers pings stays.
    expect(alice.ws.readyState).toBe(WebSocket.OPEN);
    expect(system.presenceOf('alice')).toBe('online');
  });

  test('closes every socket with 1001 on close()', async () => {
    const { server, system } = await start();
    const alice = await connect(server, 'alice');
    const gone = sessionClosed(system, 'alice');
    await server.close();
    expect((await alice.closed).code).toBe(1001);
    await gone;
    expect(system.presenceOf('alice')).toBe('offline');
  });

  test('attaches to an existing HTTP server and leaves it running on close()', async () => {
    const system = ChatSystem.create();
    systems.push(system);
    system.registerUser({ id: 'alice', name: 'Alice' });
    const http1 = http.createServer((_req, res) => res.end('app'));
    await new Promise<void>((resolve) => http1.listen(0, '127.0.0.1', () => resolve()));
    try {
      const server = await createChatServer({ system, auth: tokens.verify, server: http1 });
      servers.push(server);
      expect(server.port).toBe((http1.address() as AddressInfo).port);
      const alice = await connect(server, 'alice');
      await server.close();
      expect((await alice.closed).code).toBe(1001);
      expect(http1.listening).toBe(true);
      expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('app');
    } finally {
      await new Promise<void>((resolve) => {
        http1.close(() => resolve());
        http1.closeAllConnections();
      });
    }
  });
});

describe('createTokenAuth', () => {
  test('signs and verifies, and refuses forged, foreign and expired tokens without naming the secret', () => {
    expect(tokens.verify(tokens.sign('alice'))).toBe('alice');
    const refusals = [
      'garbage',
      createTokenAuth({ secret: 'another-secret-that-is-at-least-32-bytes' }).sign('alice'),
      createTokenAuth({ secret: SECRET, issuer: 'someone-else' }).sign('alice'),
      createTokenAuth({ secret: SECRET, issuer: 'chat-room-test', expiresIn: 0 }).sign('alice'),
    ];
    for (const token of refusals) {
      let caught: unknown;
      try {
        tokens.verify(token);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(PermissionError);
      expect(String((caught as Error).message)).not.toContain(SECRET);
    }
    expect(() => createTokenAuth({ secret: 'short' })).toThrow('secret must be at least 32 bytes');
  });
});
