import type { ServerFrame } from 'chat-room';
import { ChatSystem } from 'chat-room';
import { transportSuite } from 'chat-room/testing';

transportSuite('InMemoryTransport', async () => {
  const system = ChatSystem.create();
  for (const id of ['alice', 'bob', 'carol']) system.registerUser({ id, name: id });
  return {
    system,
    client: () => system.transport,
    async raw(userId, deviceId) {
      const frames: ServerFrame[] = [];
      let closed = false;
      const link = system.transport.open(
        { userId, deviceId, foreground: true },
        { received: (f) => frames.push(f), closed: () => (closed = true) },
      );
      return {
        frames,
        get closed() {
          return closed;
        },
        async sendText(text) {
          let frame: unknown = null; // what a socket's malformed JSON reaches the server as
          try {
            frame = JSON.parse(text) as unknown;
          } catch {
            // stays null
          }
          link.send(frame as never);
        },
        async close() {
          link.close();
        },
      };
    },
    close: () => system.close(),
  };
});
