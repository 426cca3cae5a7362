import { ChatSystem } from 'chat-room';
import type { TransportKind } from 'chat-room/client';
import { ChatClient } from 'chat-room/client';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import { WebSocket } from 'ws';

// A burst an app sends at once meets the server's rate limit: the client slows down and retries by itself.

jest.setTimeout(30_000);

const tokens = createTokenAuth({ secret: 'pacing-test-secret-at-least-32-bytes-long' });

let servers: ChatServer[] = [];
let systems: ChatSystem[] = [];
let clients: ChatClient[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(systems.map((s) => s.close()));
  [servers, systems, clients] = [[], [], []];
});

/** A server with the default limits, or with `frames` per second per connection. */
async function start(frames?: number): Promise<{ system: ChatSystem; server: ChatServer }> {
  const system = ChatSystem.create();
  systems.push(system);
  for (const id of ['alice', 'bob']) system.registerUser({ id, name: id });
  const rate = { frames: frames ?? 50, perMs: 1_000 };
  const server = await createChatServer({
    system,
    auth: tokens.verify,
    ...(frames === undefined ? {} : { limits: { rate }, longPollLimits: { rate } }),
  });
  servers.push(server);
  return { system, server };
}

function client(server: ChatServer, userId: string, transport: TransportKind): ChatClient {
  const c = new ChatClient({
    url: server.url,
    token: tokens.sign(userId),
    deviceId: `${userId}-phone`,
    WebSocket,
    transport,
  });
  clients.push(c);
  return c;
}

describe.each<TransportKind>(['websocket', 'long-poll'])('ChatClient over %s', (transport) => {
  it('sends a burst over the rate limit without an error: every message stored once, in order', async () => {
    // 20 frames a second: a burst of 40 sends is twice the budget.
    const { system, server } = await start(20);
    const alice = client(server, 'alice', transport);
    const errors: unknown[] = [];
    alice.on('error', (e) => errors.push(e));
    await alice.connect();

    const texts = Array.from({ length: 40 }, (_, i) => `message ${i + 1}`);
    const acks = await Promise.all(texts.map((text) => alice.send({ to: 'bob', text })));
    expect(acks.map((a) => a.seq)).toEqual(texts.map((_, i) => i + 1));
    expect(errors).toEqual([]);

    const stored: string[] = [];
    for (const entry of (await system.store.readInbox('bob', 0, 100)).entries) {
      if (entry.type === 'message') stored.push(entry.message.text ?? '');
    }
    expect(stored).toEqual(texts);
  });
});

describe.each<TransportKind>(['websocket', 'long-poll'])(
  'a phone back after a day offline, over %s',
  (transport) => {
    it('catches up on 3 000 messages of 4 000 characters under the default limits: no error, no cut', async () => {
      const { system, server } = await start();
      const long = 'x'.repeat(4_000);
      for (let i = 1; i <= 3_000; i++) {
        await system.sendMessage({ from: 'alice', to: 'bob', text: `${i} ${long}` });
      }
      const bob = client(server, 'bob', transport);
      const errors: unknown[] = [];
      const cuts: string[] = [];
      bob.on('error', (e) => errors.push(e));
      bob.on('disconnected', (reason) => cuts.push(reason));
      let received = 0;
      bob.on('message', () => (received += 1));
      await bob.connect(); // resolves once the device caught up
      expect(received).toBe(3_000);
      expect(errors).toEqual([]);
      expect(cuts).toEqual([]);
    });
  },
);
