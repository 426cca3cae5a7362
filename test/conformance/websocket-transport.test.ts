import { WebSocket } from 'ws';
import type { ServerFrame } from 'chat-room';
import { ChatSystem } from 'chat-room';
import { WebSocketClientTransport } from 'chat-room/client';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import { transportSuite, until } from 'chat-room/testing';

jest.setTimeout(20_000);

const tokens = createTokenAuth({ secret: 'a-transport-suite-secret-of-32-bytes-at-least' });
const LIMITS = { maxFrameBytes: 16 * 1024, rate: { frames: 30, perMs: 60_000 } };

transportSuite('WebSocketTransport', async () => {
  const system = ChatSystem.create();
  for (const id of ['alice', 'bob', 'carol']) system.registerUser({ id, name: id });
  const server = await createChatServer({ system, auth: tokens.verify, limits: LIMITS });
  return {
    system,
    client: (userId) =>
      new WebSocketClientTransport({ url: server.url, token: tokens.sign(userId), WebSocket }),
    async raw(userId, deviceId) {
      const frames: ServerFrame[] = [];
      let closed = false;
      const ws = new WebSocket(`${server.url}?token=${tokens.sign(userId)}&deviceId=${deviceId}`);
      ws.on('message', (data) => frames.push(JSON.parse(String(data)) as ServerFrame));
      ws.on('close', () => (closed = true));
      ws.on('error', () => undefined);
      await until(() => frames.some((f) => f.type === 'hello'), 'the hello');
      return {
        frames,
        get closed() {
          return closed;
        },
        async sendText(text) {
          ws.send(text);
        },
        async close() {
          ws.terminate();
        },
      };
    },
    limits: { maxFrameBytes: LIMITS.maxFrameBytes, oversized: 'closed', burst: LIMITS.rate.frames },
    async close() {
      await server.close();
      await system.close();
    },
  };
});
