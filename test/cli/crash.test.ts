import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { ServerFrame } from 'chat-room';
import { createTokenAuth } from 'chat-room/ws';

jest.setTimeout(60_000);

const SECRET = 'a-crash-test-secret-that-is-at-least-32-bytes';
const BIN = path.join(__dirname, '..', '..', 'bin', 'chat-room.js');
const tokens = createTokenAuth({ secret: SECRET, issuer: 'chat-room' });

let dir: string;
const children: ChildProcess[] = [];
const sockets: WebSocket[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-room-crash-'));
});
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `chat-room serve --data <file>` in its own process and resolves with its port. */
function serve(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', path.join(dir, 'chat.db')], {
    env: { ...process.env, CHAT_ROOM_SECRET: SECRET, CHAT_ROOM_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /chat-room listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', () => reject(new Error(`exited early; stderr: ${stderr}`)));
  });
}

/** A raw device: every frame it hears, and a way to wait for one. */
async function device(port: number, userId: string, deviceId: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?token=${tokens.sign(userId)}&deviceId=${deviceId}`);
  sockets.push(ws);
  ws.on('error', () => undefined);
  const frames: ServerFrame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as ServerFrame);
    for (const wake of [...waiters]) wake();
  });
  const next = (match: (f: ServerFrame) => boolean): Promise<ServerFrame> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no such frame in time; heard ${JSON.stringify(frames.slice(-4))}`)),
        10_000,
      );
      const check = (): void => {
        const found = frames.find(match);
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    });
  await next((f) => f.type === 'hello');
  return { ws, frames, next, send: (frame: object) => ws.send(JSON.stringify(frame)) };
}

test('messages acked before a SIGKILL reach their recipient exactly once after a restart; a retry is stored once', async () => {
  const first = await serve();
  const alice = await device(first.port, 'alice', 'phone');
  const acks: string[] = [];
  for (let i = 1; i <= 5; i++) {
    alice.send({ type: 'send', ref: `r${i}`, clientMessageId: `c${i}`, to: 'bob', text: `m${i}` });
    const ack = await alice.next((f) => f.type === 'ack' && f.ref === `r${i}`);
    if (ack.type === 'ack') acks.push(ack.messageId);
  }
  first.child.kill('SIGKILL'); // right after the acks: no shutdown, no flush
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await serve();
  const bob = await device(second.port, 'bob', 'phone');
  bob.send({ type: 'sync', ref: 's1', after: 0, limit: 100 });
  const page = await bob.next((f) => f.type === 'synced');
  const got =
    page.type === 'synced' ? page.entries.flatMap((e) => (e.type === 'message' ? [e.message] : [])) : [];
  expect(got.map((m) => m.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  expect(got.map((m) => m.id)).toEqual(acks);

  // Alice never saw the ack of c5 (say): she retries it on the new server; it is the same message, stored once.
  const again = await device(second.port, 'alice', 'phone');
  again.send({ type: 'send', ref: 'retry', clientMessageId: 'c5', to: 'bob', text: 'm5' });
  const ack = await again.next((f) => f.type === 'ack' && f.ref === 'retry');
  expect(ack).toMatchObject({ messageId: acks[4], seq: 5 });
  bob.send({ type: 'sync', ref: 's2', after: 0, limit: 100 });
  const after = await bob.next((f) => f.type === 'synced' && f.ref === 's2');
  expect(after.type === 'synced' && after.entries.filter((e) => e.type === 'message').length).toBe(5);
});

test('directory changes answered before a SIGKILL survive it, and ticks of earlier messages move after it', async () => {
  const first = await serve();
  const alice = await device(first.port, 'alice', 'phone');
  alice.send({ type: 'group.create', ref: 'g', name: 'Trip', memberIds: ['bob'] });
  const created = await alice.next((f) => f.type === 'group' && f.ref === 'g');
  const groupId = created.type === 'group' ? created.group.id : '';
  alice.send({ type: 'contacts.add', ref: 'c', userId: 'carol' });
  alice.send({ type: 'settings.set', ref: 's', lastSeen: 'contacts' });
  await alice.next((f) => f.type === 'settings' && f.ref === 's');
  alice.send({ type: 'send', ref: 'm', clientMessageId: 'm1', to: 'bob', text: 'before the crash' });
  await alice.next((f) => f.type === 'ack' && f.ref === 'm');
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await serve();
  const again = await device(second.port, 'alice', 'phone');
  again.send({ type: 'settings.get', ref: 's2' });
  expect(await again.next((f) => f.type === 'settings' && f.ref === 's2')).toMatchObject({
    settings: { lastSeen: 'contacts' },
  });
  again.send({ type: 'contacts.search', ref: 'q', query: 'car' });
  expect(await again.next((f) => f.type === 'contacts' && f.ref === 'q')).toMatchObject({
    results: [{ id: 'carol' }],
  });
  again.send({ type: 'send', ref: 'g1', clientMessageId: 'g1', groupId, text: 'still here' });
  expect(await again.next((f) => 'ref' in f && f.ref === 'g1')).toMatchObject({ type: 'ack', seq: 1 });

  // Bob comes online only now: his device acks delivery of the message sent before the crash.
  const bob = await device(second.port, 'bob', 'phone');
  bob.send({ type: 'sync', ref: 'b', after: 0, limit: 100 });
  const page = await bob.next((f) => f.type === 'synced');
  bob.send({ type: 'delivered', upTo: page.type === 'synced' ? page.cursor : 0 });
  const tick = await again.next(
    (f) => f.type === 'entry' && f.entry.type === 'receipt' && f.entry.receipt.threadId === 'dm:alice:bob',
  );
  expect(tick).toMatchObject({ entry: { receipt: { status: 'delivered', upToSeq: 1 } } });
});
