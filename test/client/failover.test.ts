import { ChatSystem } from 'chat-room';
import { ChatClient } from 'chat-room/client';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';

// A client given the nodes of a cluster goes on to the next one when one cannot be reached, from its cursor.

jest.setTimeout(20_000);

const tokens = createTokenAuth({ secret: 'failover-test-secret-at-least-32-bytes-long' });
const FAST = { initialMs: 10, maxMs: 50, factor: 2, jitter: 0 };

let system: ChatSystem | undefined;
let servers: ChatServer[] = [];
let clients: ChatClient[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  await system?.close();
  [system, servers, clients] = [undefined, [], []];
});

/** Two servers of one system: two nodes that share everything. */
async function twoNodes(): Promise<[ChatServer, ChatServer]> {
  system = ChatSystem.create();
  for (const id of ['alice', 'bob']) system.registerUser({ id, name: id });
  servers = [
    await createChatServer({ system, auth: tokens.verify }),
    await createChatServer({ system, auth: tokens.verify }),
  ];
  return servers as [ChatServer, ChatServer];
}

/** A URL where nothing listens any more. */
async function deadUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return `ws://127.0.0.1:${port}/`;
}

function client(url: string | string[], userId: string): ChatClient {
  const c = new ChatClient({ url, token: tokens.sign(userId), deviceId: 'phone', WebSocket, backoff: FAST });
  clients.push(c);
  return c;
}

it('connects to the next node when the first cannot be reached', async () => {
  const [, second] = await twoNodes();
  const alice = client([await deadUrl(), second.url], 'alice');
  await alice.connect();
  expect(alice.connected).toBe(true);
  expect(second.transport.openConnections).toBe(1);
});

it('when its node goes away, fails over to the other and gets what it missed exactly once, in order', async () => {
  const [first, second] = await twoNodes();
  const alice = client([first.url, second.url], 'alice');
  const texts: string[] = [];
  let allThree: () => void = () => undefined;
  const three = new Promise<void>((resolve) => (allThree = resolve));
  alice.on('message', (m) => {
    texts.push(m.text);
    if (texts.length === 3) allThree();
  });
  await alice.connect();
  await system?.sendMessage({ from: 'bob', to: 'alice', text: 'one' });

  const reconnected = new Promise<void>((resolve) => alice.once('connected', () => resolve()));
  await first.close();
  await system?.sendMessage({ from: 'bob', to: 'alice', text: 'two' });
  await system?.sendMessage({ from: 'bob', to: 'alice', text: 'three' });
  await reconnected;
  await three;
  await system?.idle();
  expect(texts).toEqual(['one', 'two', 'three']);
  expect(second.transport.openConnections).toBe(1);
});

it('refuses an empty list or a malformed URL in it', () => {
  expect(() => client([], 'alice')).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
  expect(() => client(['ws://127.0.0.1:1/', 'ftp://x'], 'alice')).toThrow(
    expect.objectContaining({ code: 'VALIDATION' }),
  );
});
