/**
 * The WebSocket transport writes the frames one callback sends a device together: a handler that sends a device
 * several frames (acks, entries and receipts for a burst of sends) costs it one write, not one per frame, and
 * nothing waits beyond the callback. A real WebSocket on loopback; the server side's writes are counted on its socket.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { Connection, ServerFrame } from 'chat-room';
import { WebSocketTransport } from 'chat-room/ws';

jest.setTimeout(10_000);

/** Counts the writes that reach the socket (`_write` for one chunk, `_writev` for a corked batch). */
function countWrites(socket: Duplex): { readonly count: number } {
  const counter = { count: 0 };
  const target = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  for (const name of ['_write', '_writev'] as const) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: unknown, ...args: unknown[]) {
      counter.count++;
      return original.apply(this, args);
    };
  }
  return counter;
}

async function setUp(): Promise<{
  connection: Connection;
  writes: { readonly count: number };
  received: ServerFrame[];
  close(): Promise<void>;
}> {
  const transport = new WebSocketTransport();
  let opened: ((c: Connection) => void) | undefined;
  const connected = new Promise<Connection>((resolve) => (opened = resolve));
  transport.listen({ opened: (c) => opened?.(c), received: () => undefined, closed: () => undefined });
  let writes: { count: number } | undefined;
  const http = createServer();
  http.on('upgrade', (request, socket, head) => {
    writes = countWrites(socket);
    transport.handleUpgrade(request, socket, head, { userId: 'bob', deviceId: 'phone', foreground: true });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  const received: ServerFrame[] = [];
  client.on('message', (data) => received.push(JSON.parse(String(data)) as ServerFrame));
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  const connection = await connected;
  return {
    connection,
    get writes() {
      if (writes === undefined) throw new Error('no upgrade seen');
      return writes;
    },
    received,
    async close() {
      client.terminate();
      await transport.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const note = (text: string): ServerFrame => ({ type: 'error', code: 'VALIDATION', message: text });

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error('timed out');
}

describe('WebSocketTransport writes', () => {
  it('sends the frames one callback addresses to a device in one write, in order', async () => {
    const t = await setUp();
    try {
      const before = t.writes.count;
      setImmediate(() => {
        t.connection.send(note('one'));
        t.connection.send(note('two'));
        t.connection.send(note('three'));
      });
      await until(() => t.received.length === 3);
      expect(t.received.map((f) => (f.type === 'error' ? f.message : f.type))).toEqual([
        'one',
        'two',
        'three',
      ]);
      expect(t.writes.count - before).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('sends a frame from a timer at once, and the next callback’s frame in a write of its own', async () => {
    const t = await setUp();
    try {
      const before = t.writes.count;
      setTimeout(() => t.connection.send(note('first')), 1);
      await until(() => t.received.length === 1);
      t.connection.send(note('second'));
      await until(() => t.received.length === 2);
      expect(t.received.map((f) => (f.type === 'error' ? f.message : f.type))).toEqual(['first', 'second']);
      expect(t.writes.count - before).toBe(2);
    } finally {
      await t.close();
    }
  });
});
