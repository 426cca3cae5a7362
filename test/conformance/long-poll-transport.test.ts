import type { ServerFrame } from 'chat-room';
import { ChatSystem } from 'chat-room';
import { LongPollClientTransport } from 'chat-room/client';
import { createChatServer } from 'chat-room/server';
import { createTokenAuth } from 'chat-room/ws';
import { transportSuite } from 'chat-room/testing';

jest.setTimeout(20_000);

const tokens = createTokenAuth({ secret: 'a-transport-suite-secret-of-32-bytes-at-least' });
const LIMITS = { maxFrameBytes: 16 * 1024, rate: { frames: 30, perMs: 60_000 } };

transportSuite('LongPollTransport', async () => {
  const system = ChatSystem.create();
  for (const id of ['alice', 'bob', 'carol']) system.registerUser({ id, name: id });
  const server = await createChatServer({
    system,
    auth: tokens.verify,
    transports: { websocket: false },
    longPollLimits: LIMITS,
  });
  let links = 0;
  return {
    system,
    client: (userId) => new LongPollClientTransport({ url: server.httpUrl, token: tokens.sign(userId) }),
    async raw(userId, deviceId) {
      // A device that speaks the HTTP side by hand: each text is one POST; the answers are what it hears.
      const frames: ServerFrame[] = [];
      const url = new URL('poll', server.httpUrl);
      url.searchParams.set('link', `raw-${++links}`);
      url.searchParams.set('deviceId', deviceId);
      const headers = { Authorization: `Bearer ${tokens.sign(userId)}`, 'Content-Type': 'application/json' };
      let closed = false;
      return {
        frames,
        get closed() {
          return closed;
        },
        async sendText(text) {
          const res = await fetch(url, { method: 'POST', headers, body: text });
          const body = (await res.json()) as { frames?: ServerFrame[] };
          frames.push(...(body.frames ?? []));
          if (res.status >= 500) closed = true;
        },
        async close() {
          await fetch(url, { method: 'DELETE', headers });
          closed = true;
        },
      };
    },
    limits: {
      maxFrameBytes: LIMITS.maxFrameBytes,
      oversized: 'PAYLOAD_TOO_LARGE',
      burst: LIMITS.rate.frames,
    },
    async close() {
      await server.close();
      await system.close();
    },
  };
});
