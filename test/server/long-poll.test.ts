import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { ServerFrame } from 'chat-room';
import { ChatSystem } from 'chat-room';
import type { LongPollLimits } from 'chat-room/long-poll';
import { LongPollTransport } from 'chat-room/long-poll';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { openSqliteStores } from 'chat-room/sqlite';
import { createTokenAuth } from 'chat-room/ws';

jest.setTimeout(20_000);

const tokens = createTokenAuth({ secret: 'a-long-poll-test-secret-of-32-bytes-or-more', issuer: 'lp-test' });

let servers: ChatServer[] = [];
let systems: ChatSystem[] = [];
let cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const server of servers) await server.close();
  for (const system of systems) await system.close();
  for (const cleanUp of cleanups) await cleanUp();
  servers = [];
  systems = [];
  cleanups = [];
});

async function start(
  options: {
    limits?: LongPollLimits;
    websocket?: boolean;
    system?: ChatSystem;
    allowedOrigins?: string[];
  } = {},
) {
  const system = options.system ?? ChatSystem.create();
  if (options.system === undefined) {
    for (const id of ['alice', 'bob']) system.registerUser({ id, name: id });
  }
  systems.push(system);
  const server = await createChatServer({
    system,
    auth: tokens.verify,
    ...(options.limits === undefined ? {} : { longPollLimits: options.limits }),
    ...(options.websocket === undefined ? {} : { transports: { websocket: options.websocket } }),
    ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
  });
  servers.push(server);
  return { system, server };
}

/** One device talking long-poll with plain `fetch`. */
function device(server: ChatServer, userId: string, link = `link-${userId}`, deviceId = 'laptop') {
  const base = new URL('poll', server.httpUrl);
  base.searchParams.set('link', link);
  base.searchParams.set('deviceId', deviceId);
  const headers = { Authorization: `Bearer ${tokens.sign(userId)}` };
  return {
    async poll(
      query: { after?: number; wait?: number } = {},
    ): Promise<{ status: number; frames: ServerFrame[] }> {
      const url = new URL(base);
      if (query.after !== undefined) url.searchParams.set('after', String(query.after));
      if (query.wait !== undefined) url.searchParams.set('wait', String(query.wait));
      const res = await fetch(url, { headers });
      return { status: res.status, frames: ((await res.json()) as { frames: ServerFrame[] }).frames };
    },
    async post(body: unknown, raw = false): Promise<{ status: number; frames: ServerFrame[] }> {
      const res = await fetch(base, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: raw ? (body as string) : JSON.stringify(body),
      });
      const json = (await res.json()) as { frames?: ServerFrame[] };
      return { status: res.status, frames: json.frames ?? [] };
    },
    async hangUp(): Promise<number> {
      return (await fetch(base, { method: 'DELETE', headers })).status;
    },
  };
}

/** Polls (bounded) until `check` holds. */
async function eventually(check: () => boolean, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('long-poll', () => {
  test('the first poll of a link answers its hello at once; the device is online', async () => {
    const { server, system } = await start();
    const bob = device(server, 'bob');
    const first = await bob.poll();
    expect(first.status).toBe(200);
    expect(first.frames).toEqual([
      expect.objectContaining({ type: 'hello', userId: 'bob', deviceId: 'laptop' }),
    ]);
    expect(system.presenceOf('bob')).toBe('online');
  });

  test('a device with a backlog gets its hello and the first page (up to 500 entries) in its first answer', async () => {
    const { server, system } = await start();
    for (let i = 1; i <= 700; i++) await system.sendMessage({ from: 'alice', to: 'bob', text: `m${i}` });
    const bob = device(server, 'bob');
    const first = await bob.poll();
    expect(first.frames[0]).toEqual(expect.objectContaining({ type: 'hello', cursor: 0, latest: 700 }));
    const seqs = first.frames.slice(1).map((f) => (f.type === 'entry' ? f.entry.inboxSeq : f.type));
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    // The rest follows in the next answer.
    const second = await bob.poll({ after: 500 });
    expect(second.frames).toHaveLength(200);
  });

  test('a held poll is answered as soon as a message is stored (well within a second), with the entry', async () => {
    const { server, system } = await start();
    const bob = device(server, 'bob');
    await bob.poll();
    const held = bob.poll({ after: 0, wait: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the poll is held by now
    const sentAt = performance.now();
    await system.sendMessage({ from: 'alice', to: 'bob', text: 'are you there?' });
    const answer = await held;
    const latencyMs = performance.now() - sentAt;
    expect(answer.frames).toEqual([
      expect.objectContaining({ type: 'entry', entry: expect.objectContaining({ inboxSeq: 1 }) }),
    ]);
    expect(latencyMs).toBeLessThan(1_000);
  });

  test('with nothing to say, a poll answers empty after its wait', async () => {
    const { server } = await start();
    const bob = device(server, 'bob');
    await bob.poll();
    const began = performance.now();
    expect((await bob.poll({ after: 0, wait: 300 })).frames).toEqual([]);
    expect(performance.now() - began).toBeGreaterThanOrEqual(250);
  });

  test('a poll after a cursor returns only the entries after it, in order', async () => {
    const { server, system } = await start();
    for (const text of ['one', 'two', 'three']) await system.sendMessage({ from: 'alice', to: 'bob', text });
    const bob = device(server, 'bob');
    await bob.poll();
    const { frames } = await bob.poll({ after: 1 });
    expect(frames.map((f) => (f.type === 'entry' ? f.entry.inboxSeq : f.type))).toEqual([2, 3]);
  });

  test('a newer poll of the same link answers the older one, empty', async () => {
    const { server, system } = await start();
    const bob = device(server, 'bob');
    await bob.poll();
    const older = bob.poll({ after: 0, wait: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const newer = bob.poll({ after: 0, wait: 10_000 });
    expect((await older).frames).toEqual([]);
    await system.sendMessage({ from: 'alice', to: 'bob', text: 'hi' });
    expect((await newer).frames).toHaveLength(1);
  });

  test('POST passes frames in order and answers with their replies: ack, synced, errors', async () => {
    const { server } = await start();
    const alice = device(server, 'alice');
    const { status, frames } = await alice.post([
      { type: 'send', ref: 's1', clientMessageId: 'c1', to: 'bob', text: 'first' },
      { type: 'send', ref: 's2', clientMessageId: 'c2', to: 'bob', text: 'second' },
      { type: 'sync', ref: 'y', after: 0 },
      { type: 'nonsense', ref: 'bad' },
      { type: 'send', ref: 's3', clientMessageId: 'c3', to: 'nobody', text: 'hm' },
    ]);
    expect(status).toBe(200);
    const byRef = new Map(frames.map((f) => ['ref' in f ? f.ref : '', f]));
    expect(byRef.get('s1')).toMatchObject({ type: 'ack', seq: 1 });
    expect(byRef.get('s2')).toMatchObject({ type: 'ack', seq: 2 });
    expect(byRef.get('y')).toMatchObject({ type: 'synced' });
    expect(byRef.get('bad')).toMatchObject({ type: 'error', code: 'VALIDATION' });
    expect(byRef.get('s3')).toMatchObject({ type: 'error', code: 'NOT_FOUND' });
    // A retried send comes back with the same ack and stores nothing new.
    const again = await alice.post([
      { type: 'send', ref: 'r', clientMessageId: 'c1', to: 'bob', text: 'first' },
    ]);
    expect(again.frames[0]).toMatchObject({
      type: 'ack',
      seq: 1,
      messageId: (byRef.get('s1') as { messageId: string }).messageId,
    });
  });

  test('the same limits and error codes as the WebSocket: frame size, frames per request, body, JSON, rate', async () => {
    const { server } = await start({
      limits: {
        maxFrameBytes: 1_000,
        maxFramesPerRequest: 4,
        maxRequestBytes: 8_000,
        rate: { frames: 3, perMs: 60_000 },
      },
    });
    const alice = device(server, 'alice');
    const big = await alice.post([
      { type: 'send', ref: 'big', clientMessageId: 'b', to: 'bob', text: 'x'.repeat(2_000) },
    ]);
    expect(big.frames).toEqual([expect.objectContaining({ ref: 'big', code: 'PAYLOAD_TOO_LARGE' })]);
    expect(
      (await alice.post(Array.from({ length: 5 }, (_, i) => ({ type: 'ping', ref: `p${i}` })))).status,
    ).toBe(413);
    expect((await alice.post('y'.repeat(9_000), true)).status).toBe(413);
    const malformed = await alice.post('{"type": "ping"', true);
    expect(malformed).toMatchObject({
      status: 400,
      frames: [expect.objectContaining({ code: 'VALIDATION' })],
    });
    // Refused frames took no token: 3 pass, the 4th is over the rate.
    const burst = await alice.post([1, 2, 3, 4].map((i) => ({ type: 'ping', ref: `q${i}` })));
    expect(burst.frames.map((f) => f.type)).toEqual(['pong', 'pong', 'pong', 'error']);
    expect(burst.frames[3]).toMatchObject({
      code: 'RATE_LIMITED',
      details: { retryAfterMs: expect.any(Number) },
    });
  });

  test('refuses a missing or bad token (401), a bad link id (400) and a foreign origin (403)', async () => {
    const { server } = await start({ allowedOrigins: ['https://chat.example'] });
    const url = new URL('poll?link=abc', server.httpUrl);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    const auth = { Authorization: `Bearer ${tokens.sign('bob')}` };
    expect((await fetch(new URL('poll?link=a%20b', server.httpUrl), { headers: auth })).status).toBe(400);
    expect((await fetch(url, { headers: { ...auth, Origin: 'https://evil.example' } })).status).toBe(403);
    expect((await fetch(url, { headers: { ...auth, Origin: 'https://chat.example' } })).status).toBe(200);
  });

  test('presence: a device whose polls stop is offline after the lease; DELETE is offline at once', async () => {
    const { server, system } = await start({ limits: { pollTimeoutMs: 200, leaseMs: 500 } });
    const bob = device(server, 'bob');
    await bob.poll();
    expect(system.presenceOf('bob')).toBe('online');
    const stoppedAt = Date.now();
    await eventually(() => system.presenceOf('bob') === 'offline');
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(400);
    expect(server.longPoll?.openConnections).toBe(0);

    const alice = device(server, 'alice');
    await alice.poll();
    expect(system.presenceOf('alice')).toBe('online');
    expect(await alice.hangUp()).toBe(200);
    expect(system.presenceOf('alice')).toBe('offline');
    // A poll sent before the hang-up that arrives after it does not open the link again.
    expect((await alice.poll({ after: 0 })).status).toBe(410);
    expect(system.presenceOf('alice')).toBe('offline');
  });

  test('a device that keeps polling stays online past the lease', async () => {
    const { server, system } = await start({ limits: { pollTimeoutMs: 200, leaseMs: 500 } });
    const bob = device(server, 'bob');
    await bob.poll();
    for (let i = 0; i < 5; i++) await bob.poll({ after: 0, wait: 200 });
    expect(system.presenceOf('bob')).toBe('online');
  });

  test('no sticky sessions: a poll held by another server on the same store gets a message stored by the first', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chat-room-lp-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'chat.db');
    const nodeA = openSqliteStores(file);
    const a = await ChatSystem.open({ store: nodeA.store, directoryStore: nodeA.directoryStore });
    a.registerUser({ id: 'alice', name: 'Alice' });
    a.registerUser({ id: 'bob', name: 'Bob' });
    await a.idle();
    const nodeB = openSqliteStores(file);
    const b = await ChatSystem.open({ store: nodeB.store, directoryStore: nodeB.directoryStore });
    cleanups.push(
      () => a.close(),
      () => b.close(),
      () => nodeA.close(),
      () => nodeB.close(),
    );
    const serverB = (await start({ system: b, limits: { recheckMs: 50 } })).server;
    systems = systems.filter((s) => s !== b);
    const bob = device(serverB, 'bob');
    await bob.poll();
    const held = bob.poll({ after: 0, wait: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await a.sendMessage({ from: 'alice', to: 'bob', text: 'stored by node A' });
    const { frames } = await held;
    expect(frames).toEqual([
      expect.objectContaining({
        entry: expect.objectContaining({ message: expect.objectContaining({ text: 'stored by node A' }) }),
      }),
    ]);
  });

  test('a server without WebSocket refuses upgrades with 426 and still serves long-poll', async () => {
    const { server } = await start({ websocket: false });
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url}?token=${tokens.sign('bob')}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(426);
    expect((await device(server, 'bob').poll()).frames[0]).toMatchObject({ type: 'hello' });
  });

  test('refuses malformed options', () => {
    expect(() => new LongPollTransport({} as never)).toThrow('readInbox');
    const readInbox = async () => ({ entries: [], hasMore: false, cursor: 0, latest: 0 });
    expect(() => new LongPollTransport({ readInbox, limits: { pollTimeoutMs: 0 } })).toThrow('pollTimeoutMs');
    expect(
      () => new LongPollTransport({ readInbox, limits: { pollTimeoutMs: 30_000, leaseMs: 20_000 } }),
    ).toThrow('leaseMs');
  });
});
