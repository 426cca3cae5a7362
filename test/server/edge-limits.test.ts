import type { ServerFrame } from 'chat-room';
import { ChatSystem, ManualClock } from 'chat-room';
import type { ChatServer, ChatServerOptions } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import http from 'node:http';
import { WebSocket } from 'ws';

// Origins, CORS and the limits a server holds each user to across all of their connections.

jest.setTimeout(20_000);

const SECRET = 'edge-limits-test-secret-at-least-32-bytes';
const tokens = createTokenAuth({ secret: SECRET });
const WAIT_MS = 5_000;
const FOREIGN = 'https://evil.example';
const APP = 'https://chat.example.com';

let servers: ChatServer[] = [];
let systems: ChatSystem[] = [];
let sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(systems.map((s) => s.close()));
  [servers, systems, sockets] = [[], [], []];
});

async function start(options: Partial<ChatServerOptions> = {}, clock?: ManualClock) {
  const system = ChatSystem.create(clock === undefined ? {} : { clock });
  systems.push(system);
  for (const id of ['alice', 'bob', 'carol']) system.registerUser({ id, name: id });
  const server = await createChatServer({ system, auth: tokens.verify, ...options });
  servers.push(server);
  return { system, server };
}

/** The server's own origin, as a page it served would send it. */
function ownOrigin(server: ChatServer): string {
  return server.httpUrl.replace(/\/$/, '');
}

/** Opens a socket for a user; resolves with it once greeted, or with the HTTP status of a refused upgrade. */
function upgrade(
  server: ChatServer,
  userId: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; frames: ServerFrame[] } | { status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url}?token=${tokens.sign(userId)}`, { headers });
    sockets.push(ws);
    const frames: ServerFrame[] = [];
    const timer = setTimeout(() => reject(new Error('no answer to the upgrade')), WAIT_MS);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      frames.push(frame);
      if (frame.type === 'hello') {
        clearTimeout(timer);
        resolve({ ws, frames });
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      const retryAfter = res.headers['retry-after'];
      resolve({ status: res.statusCode ?? 0, ...(retryAfter === undefined ? {} : { retryAfter }) });
      res.resume();
    });
    ws.on('error', () => undefined);
  });
}

async function greeted(server: ChatServer, userId: string, headers: Record<string, string> = {}) {
  const result = await upgrade(server, userId, headers);
  if ('status' in result) throw new Error(`upgrade refused with ${result.status}`);
  return result;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(method: string, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with the frames a socket receives until one matches. */
function until(ws: WebSocket, frames: ServerFrame[], match: (f: ServerFrame) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    if (frames.some(match)) return resolve();
    const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(frames)}`)), WAIT_MS);
    const onMessage = (): void => {
      if (!frames.some(match)) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve();
    };
    ws.on('message', onMessage);
  });
}

describe('origins', () => {
  it('by default accepts its own origin and native clients, and refuses a foreign origin with 403 everywhere', async () => {
    const { server } = await start();
    expect(await upgrade(server, 'alice', { Origin: FOREIGN })).toEqual({ status: 403 });
    await greeted(server, 'alice', { Origin: ownOrigin(server) });
    await greeted(server, 'alice'); // no Origin: a native client

    const auth = { Authorization: `Bearer ${tokens.sign('alice')}` };
    const poll = `${server.httpUrl}poll?link=l1&deviceId=web`;
    expect((await request('GET', poll, { ...auth, Origin: FOREIGN })).status).toBe(403);
    expect((await request('GET', `${server.httpUrl}media/m1`, { ...auth, Origin: FOREIGN })).status).toBe(
      403,
    );
    expect((await request('POST', `${server.httpUrl}media`, { ...auth, Origin: FOREIGN })).status).toBe(403);
    // The refused poll opened no link: the user has only the two sockets.
    expect(server.longPoll?.openConnections).toBe(0);
  });

  it('accepts the origins it is given, and refuses a malformed entry', async () => {
    const { server } = await start({ allowedOrigins: [APP] });
    await greeted(server, 'alice', { Origin: APP });
    expect(await upgrade(server, 'alice', { Origin: FOREIGN })).toEqual({ status: 403 });
    await expect(start({ allowedOrigins: ['chat.example.com'] })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });
});

describe('CORS', () => {
  it('answers a preflight for an allowed origin, and nothing CORS for another', async () => {
    const { server } = await start({ allowedOrigins: [APP] });
    const preflight = {
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization, content-type',
    };
    for (const path of ['poll?link=l1', 'media', 'media/m1']) {
      const allowed = await request('OPTIONS', `${server.httpUrl}${path}`, { ...preflight, Origin: APP });
      expect(allowed.status).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe(APP);
      expect(allowed.headers['access-control-allow-headers']).toBe('authorization, content-type');
      expect(allowed.headers['access-control-allow-methods']).toEqual(expect.any(String));

      const refused = await request('OPTIONS', `${server.httpUrl}${path}`, { ...preflight, Origin: FOREIGN });
      expect(refused.status).toBe(403);
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    }
    const methods = await request('OPTIONS', `${server.httpUrl}poll?link=l1`, { ...preflight, Origin: APP });
    expect(methods.headers['access-control-allow-methods']).toBe('GET, POST, DELETE');
  });

  it('lets an allowed page read the answers, errors included, with Retry-After exposed', async () => {
    const { server } = await start({ allowedOrigins: [APP] });
    const auth = { Authorization: `Bearer ${tokens.sign('alice')}`, Origin: APP };
    const missing = await request('GET', `${server.httpUrl}media/m1`, auth);
    expect(missing.status).toBe(503); // this system takes no photos
    expect(missing.headers['access-control-allow-origin']).toBe(APP);
    expect(missing.headers['access-control-expose-headers']).toContain('Retry-After');
    const poll = await request('GET', `${server.httpUrl}poll?link=l1&deviceId=web&wait=0`, auth);
    expect(poll.status).toBe(200);
    expect(poll.headers['access-control-allow-origin']).toBe(APP);
    expect(poll.headers.vary).toBe('Origin');
  });
});

describe('connections per user', () => {
  it('admits 16 connections of one user by default and refuses the 17th with 429, without touching others', async () => {
    const { server, system } = await start();
    for (let i = 0; i < 16; i++) await greeted(server, 'alice');
    const refused = await upgrade(server, 'alice');
    expect(refused).toEqual({ status: 429, retryAfter: '5' });
    expect(server.transport.openConnections).toBe(16);
    await greeted(server, 'bob'); // another user is not affected

    // Closing one frees its place.
    const first = sockets[0];
    await new Promise<void>((resolve) => {
      first?.once('close', () => resolve());
      first?.close();
    });
    await system.idle();
    await waitFor(() => server.transport.openConnections === 16);
    await greeted(server, 'alice');
  });

  it('counts long-poll links too: a new link over the cap gets 429', async () => {
    const { server } = await start({ userLimits: { maxConnectionsPerUser: 2 } });
    await greeted(server, 'alice');
    const auth = { Authorization: `Bearer ${tokens.sign('alice')}` };
    const first = await request('GET', `${server.httpUrl}poll?link=l1&deviceId=web&wait=0`, auth);
    expect(first.status).toBe(200);
    const second = await request('GET', `${server.httpUrl}poll?link=l2&deviceId=web&wait=0`, auth);
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('5');
    expect(JSON.parse(second.body)).toMatchObject({ frames: [{ type: 'error', code: 'RATE_LIMITED' }] });
    // The open link itself keeps working.
    expect((await request('GET', `${server.httpUrl}poll?link=l1&deviceId=web&wait=0`, auth)).status).toBe(
      200,
    );
    expect(await upgrade(server, 'alice')).toEqual({ status: 429, retryAfter: '5' });
  });

  it('caps connections per client address only when asked', async () => {
    const { server } = await start({ userLimits: { maxConnectionsPerAddress: 2 } });
    await greeted(server, 'alice');
    await greeted(server, 'bob');
    expect(await upgrade(server, 'carol')).toEqual({ status: 429, retryAfter: '5' });
  });
});

describe('frame budget per user', () => {
  it('holds a user to one budget across connections, on top of each connection’s own', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { server } = await start(
      { limits: { rate: { frames: 5, perMs: 1_000 } }, userLimits: { rate: { frames: 8, perMs: 1_000 } } },
      clock,
    );
    const a = await greeted(server, 'alice');
    const b = await greeted(server, 'alice');
    for (let i = 0; i < 5; i++) a.ws.send(JSON.stringify({ type: 'ping', ref: `a${i}` }));
    for (let i = 0; i < 5; i++) b.ws.send(JSON.stringify({ type: 'ping', ref: `b${i}` }));
    const answered = (f: ServerFrame): boolean => 'ref' in f && f.ref !== undefined;
    await until(a.ws, a.frames, () => a.frames.filter(answered).length === 5);
    await until(b.ws, b.frames, () => b.frames.filter(answered).length === 5);
    const refused = [...a.frames, ...b.frames].filter((f) => f.type === 'error');
    // Each connection stayed within its own 5, but the user's 8 ran out: two frames were refused.
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });

    // Another user has a budget of their own.
    const c = await greeted(server, 'bob');
    c.ws.send(JSON.stringify({ type: 'ping', ref: 'c0' }));
    await until(c.ws, c.frames, (f) => f.type === 'pong');

    clock.advance(1_000);
    a.ws.send(JSON.stringify({ type: 'ping', ref: 'again' }));
    await until(a.ws, a.frames, (f) => f.type === 'pong' && f.ref === 'again');
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
