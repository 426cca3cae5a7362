/**
 * A real server on 127.0.0.1 (photos on, through sharp) with alice, bob and carol registered, and `ChatClient`s
 * that connect to it: what the SDK tests share. Everything started is closed after each test.
 *
 * @module
 */
import { ChatSystem } from 'chat-room';
import type { ChatClientOptions } from 'chat-room/client';
import { ChatClient } from 'chat-room/client';
import type { ChatServer } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { SharpImageProcessor } from 'chat-room/sharp';
import { createTokenAuth } from 'chat-room/ws';
import sharp from 'sharp';
import { WebSocket } from 'ws';

/** Signs the test users' tokens. */
export const tokens = createTokenAuth({ secret: 'client-sdk-test-secret-at-least-32-bytes-long' });

/** The users every server knows, with their display names. */
export const USERS = Object.freeze({ alice: 'Alice Liddell', bob: 'Bob Builder', carol: 'Carol Danvers' });

/**
 * Registers the clean-up after each test of the calling file and returns how to start a server and its clients.
 *
 * @example
 * ```ts
 * const rig = sdkRig()
 * const server = await rig.start()
 * const alice = rig.client(server, 'alice')
 * ```
 */
export function sdkRig(): {
  start(): Promise<ChatServer>;
  client(server: ChatServer, userId: string, options?: Partial<ChatClientOptions>): ChatClient;
} {
  let servers: ChatServer[] = [];
  let systems: ChatSystem[] = [];
  let clients: ChatClient[] = [];
  afterEach(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(systems.map((s) => s.close()));
    [servers, systems, clients] = [[], [], []];
  });
  return {
    async start() {
      const system = ChatSystem.create({ imageProcessor: new SharpImageProcessor() });
      systems.push(system);
      for (const [id, name] of Object.entries(USERS)) system.registerUser({ id, name });
      const server = await createChatServer({ system, auth: tokens.verify });
      servers.push(server);
      return server;
    },
    client(server, userId, options = {}) {
      const c = new ChatClient({
        url: server.url,
        token: tokens.sign(userId),
        deviceId: `${userId}-sdk`,
        WebSocket,
        backoff: { initialMs: 10, maxMs: 50 },
        ...options,
      });
      clients.push(c);
      return c;
    },
  };
}

/** A real PNG of one colour, made with sharp. */
export async function png(width: number, height: number): Promise<Uint8Array> {
  const bytes = await sharp({ create: { width, height, channels: 3, background: { r: 30, g: 160, b: 90 } } })
    .png()
    .toBuffer();
  return new Uint8Array(bytes);
}
