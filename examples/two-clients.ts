/**
 * Intent: the seed's flow over a real server — a WebSocket server on 127.0.0.1 and two `ChatClient`s, Alice and
 * Bob, each authenticated by a signed token. Alice's message gets ✓ when the server has stored it, ✓✓ when
 * Bob's app acknowledges it, blue when Bob reads it. Then Bob's connection drops; Alice writes twice; Bob's client
 * reconnects by itself and resumes from its cursor, so he gets both, once each, in order.
 *
 * Run it with `npx ts-node examples/two-clients.ts`; its output is `two-clients.out.txt`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { ChatSystem } from 'chat-room';
import { ChatClient } from 'chat-room/client';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';

/** Resolves with the next event of a kind that passes `test`. */
function next<T>(client: ChatClient, event: 'message' | 'receipt', test: (e: T) => boolean = () => true) {
  return new Promise<T>((resolve) => {
    const listener = (e: T): void => {
      if (!test(e)) return;
      client.off(event, listener as never);
      resolve(e);
    };
    client.on(event, listener as never);
  });
}

async function main(): Promise<void> {
  const system = ChatSystem.create();
  system.registerUser({ id: 'alice', name: 'Alice' });
  system.registerUser({ id: 'bob', name: 'Bob' });
  // A secret of this process alone: a secret written in code is public, and createTokenAuth refuses known ones.
  const tokens = createTokenAuth({ secret: randomBytes(32).toString('base64url') });
  const server = await createChatServer({ system, auth: (token) => tokens.verify(token), port: 0 });
  console.log('server listening on 127.0.0.1 (a free port)');

  // Bob's phone: its sockets are kept so the example can cut one, and while it is "in a tunnel" every
  // reconnection attempt fails (its token is refused), as it would without a network.
  const bobSockets: WebSocket[] = [];
  class PhoneSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      bobSockets.push(this);
      this.on('error', () => undefined);
    }
  }
  let inTunnel = false;
  const options = { url: server.url, backoff: { initialMs: 20, maxMs: 200 } };
  const alice = new ChatClient({ ...options, token: tokens.sign('alice'), WebSocket });
  const bob = new ChatClient({
    ...options,
    token: () => (inTunnel ? 'no network' : tokens.sign('bob')),
    WebSocket: PhoneSocket,
  });
  /** Waits for Bob's phone to show a text; printed when awaited, in the order of the story (sockets may race). */
  const bobShows = (text: string): (() => Promise<void>) => {
    const shown = next<{ text: string }>(bob, 'message', (x) => x.text === text);
    return async () => console.log(`Bob's phone shows "${(await shown).text}"`);
  };
  await Promise.all([alice.connect(), bob.connect()]);
  console.log('Alice and Bob are connected');

  const delivered = next<{ status: string }>(alice, 'receipt', (r) => r.status === 'delivered');
  const shown = bobShows('Hello Gainlo');
  const ack = await alice.send({ to: 'bob', text: 'Hello Gainlo' });
  console.log(`Alice ✓  "Hello Gainlo" stored as #${ack.seq}`);
  await shown();
  await delivered;
  console.log('Alice ✓✓ Bob’s app acknowledged it');
  const read = next<{ status: string }>(alice, 'receipt', (r) => r.status === 'read');
  await bob.markRead(ack.threadId, ack.seq);
  await read;
  console.log('Alice ✓✓ blue: Bob read it');

  inTunnel = true;
  bobSockets.at(-1)?.terminate();
  for (let i = 0; i < 200 && system.deliveryStateOf('bob') !== 'offline'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10)); // until the server has seen the socket go
  }
  console.log(`Bob goes into a tunnel: the server sees him ${system.deliveryStateOf('bob')}`);
  const shows = [bobShows('Are you there?'), bobShows('Call me when you can')];
  for (const text of ['Are you there?', 'Call me when you can']) {
    const stored = await alice.send({ to: 'bob', text });
    console.log(`Alice ✓  "${text}" stored as #${stored.seq}; it waits in Bob's inbox`);
  }
  const twoTicks = next<{ status: string; upToSeq: number }>(
    alice,
    'receipt',
    (r) => r.status === 'delivered' && r.upToSeq >= 3,
  );
  inTunnel = false;
  for (const show of shows) await show();
  await twoTicks;
  console.log('Alice ✓✓ both: Bob’s client reconnected by itself and resumed from its cursor');

  await alice.close();
  await bob.close();
  await server.close();
  console.log('done');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
