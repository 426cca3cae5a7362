/// <reference types="jest" />
/**
 * The conformance suite of the `Transport` port: the same chat scenarios over every transport (in-memory,
 * WebSocket, HTTP long-poll, a third party's): delivery, ticks, reconnect and resume, bad frames, limits. Each
 * transport's test file makes a rig — a system with alice, bob and carol, a `ClientTransport` per user, and raw
 * devices that send text as is — and calls `transportSuite`.
 *
 * @module
 */
import type { ChatSystem } from '../chat-system';
import type { Message, ReceiptData } from '../domain';
import type { ClientTransport } from '../ports';
import type { ServerFrame } from '../protocol';
import { ChatSession } from '../session';

/** A device below the session: it sends text exactly as given and records every frame it hears. */
export interface RawDevice {
  readonly frames: ServerFrame[];
  sendText(text: string): Promise<void>;
  /** Whether the server has hung up on it. */
  readonly closed: boolean;
  close(): Promise<void>;
}

/** One transport, ready for a scenario. */
export interface TransportRig {
  readonly system: ChatSystem;
  /** A client transport that connects as `userId`. */
  client(userId: string): ClientTransport;
  raw(userId: string, deviceId: string): Promise<RawDevice>;
  /** The limits the transport enforces, when it has any: what a frame over `maxFrameBytes` gets. */
  readonly limits?: {
    readonly maxFrameBytes: number;
    readonly oversized: 'closed' | 'PAYLOAD_TOO_LARGE';
    /** Frames per connection the rate allows in a burst. */
    readonly burst: number;
  };
  close(): Promise<void>;
}

/**
 * Waits until `check` holds, polling every 5 ms, for a rig that must wait for its device (the `hello`, say).
 *
 * @param check - the condition
 * @param what - what is awaited, for the error
 * @param ms - how long to wait at most
 * @throws Error when `check` still fails after `ms`
 */
export async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A session of `userId` on `deviceId` that records what its user would see. */
function device(rig: TransportRig, userId: string, deviceId: string, cursor?: number) {
  const session = new ChatSession(rig.client(userId), {
    userId,
    deviceId,
    foreground: true,
    clock: rig.system.clock,
    requestTimeoutMs: 5_000,
    ...(cursor === undefined ? {} : { cursor }),
  });
  const seen = { messages: [] as Message[], receipts: [] as ReceiptData[] };
  session.on('message', (m) => seen.messages.push(m));
  session.on('receipt', (r) => seen.receipts.push(r));
  return { session, seen };
}

/**
 * Registers the transport scenarios for one transport.
 *
 * @param name - the transport's name, in the titles
 * @param make - makes a fresh rig for each test
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { transportSuite } from 'chat-room/testing'
 * transportSuite('MyTransport', async () => {
 *   const system = ChatSystem.create()
 *   for (const id of ['alice', 'bob', 'carol']) system.registerUser({ id, name: id })
 *   // attach your transport to `system`, then:
 *   return { system, client: (userId) => myClientFor(userId), raw: (u, d) => myRawDevice(u, d), close: async () => {} }
 * })
 * ```
 */
export function transportSuite(name: string, make: () => Promise<TransportRig>): void {
  describe(`Transport conformance: ${name}`, () => {
    let rig: TransportRig;
    const sessions: ChatSession[] = [];
    const raws: RawDevice[] = [];

    beforeEach(async () => {
      rig = await make();
    });

    afterEach(async () => {
      for (const s of sessions.splice(0)) s.disconnect();
      for (const r of raws.splice(0)) await r.close();
      await rig.close();
    });

    const open = async (userId: string, deviceId: string, cursor?: number) => {
      const d = device(rig, userId, deviceId, cursor);
      sessions.push(d.session);
      await d.session.ready;
      return d;
    };
    const raw = async (userId: string, deviceId = 'raw') => {
      const r = await rig.raw(userId, deviceId);
      raws.push(r);
      return r;
    };
    const answer = async (r: RawDevice, ref: string) => {
      await until(() => r.frames.some((f) => 'ref' in f && f.ref === ref), `an answer to ${ref}`);
      return r.frames.find((f) => 'ref' in f && f.ref === ref) as ServerFrame;
    };

    test('delivery: a message reaches the recipient once, and the sender gets its ack (✓)', async () => {
      const alice = await open('alice', 'phone');
      const bob = await open('bob', 'phone');
      const ack = await alice.session.send({ to: 'bob', text: 'Hello Gainlo' });
      expect(ack).toMatchObject({ seq: 1, threadId: 'dm:alice:bob' });
      await until(() => bob.seen.messages.length === 1, 'the message at bob');
      expect(bob.seen.messages.map((m) => [m.text, m.seq, m.senderId])).toEqual([
        ['Hello Gainlo', 1, 'alice'],
      ]);
      await rig.system.idle();
      expect(bob.seen.messages).toHaveLength(1);
    });

    test('ticks: delivered (✓✓) once the device has it, read (blue) once its user read it', async () => {
      const alice = await open('alice', 'phone');
      const bob = await open('bob', 'phone');
      const ack = await alice.session.send({ to: 'bob', text: 'tick tock' });
      await until(() => alice.seen.receipts.some((r) => r.status === 'delivered'), 'the delivered receipt');
      await bob.session.markRead(ack.threadId, ack.seq);
      await until(() => alice.seen.receipts.some((r) => r.status === 'read'), 'the read receipt');
      expect(alice.seen.receipts.map((r) => [r.status, r.upToSeq])).toEqual([
        ['delivered', 1],
        ['read', 1],
      ]);
    });

    test('reconnect and resume: what arrived while the device was away comes once, in order', async () => {
      const alice = await open('alice', 'phone');
      const first = await open('bob', 'phone');
      await alice.session.send({ to: 'bob', text: 'before' });
      await until(() => first.seen.messages.length === 1, 'the first message');
      await rig.system.idle();
      const cursor = first.session.cursor;
      first.session.disconnect();
      await until(() => rig.system.deliveryStateOf('bob') === 'offline', 'bob offline');
      for (const text of ['one', 'two', 'three']) await alice.session.send({ to: 'bob', text });
      const again = await open('bob', 'phone', cursor);
      await until(() => again.seen.messages.length >= 3, 'the missed messages');
      await rig.system.idle();
      expect(again.seen.messages.map((m) => [m.text, m.seq])).toEqual([
        ['one', 2],
        ['two', 3],
        ['three', 4],
      ]);
    });

    test('a retried send (same clientMessageId) gets the same ack and is stored once', async () => {
      const alice = await open('alice', 'phone');
      const bob = await open('bob', 'phone');
      const input = { to: 'bob', text: 'once', clientMessageId: 'retry-me' };
      const [a, b] = [await alice.session.send(input), await alice.session.send(input)];
      expect(b.messageId).toBe(a.messageId);
      await rig.system.idle();
      expect(bob.seen.messages.map((m) => m.text)).toEqual(['once']);
    });

    test('bad frames get VALIDATION, with their ref when they have one, and the link stays usable', async () => {
      const r = await raw('alice');
      await r.sendText('{"type": "send", "to": "bob"');
      await until(() => r.frames.some((f) => f.type === 'error'), 'an error for malformed JSON');
      expect(r.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'VALIDATION' });
      await r.sendText(JSON.stringify({ type: 'teleport', ref: 'x1' }));
      expect(await answer(r, 'x1')).toMatchObject({ type: 'error', code: 'VALIDATION' });
      await r.sendText(JSON.stringify({ type: 'send', ref: 'x2', clientMessageId: 'c', to: 'bob' }));
      expect(await answer(r, 'x2')).toMatchObject({ type: 'error', code: 'VALIDATION' });
      await r.sendText(
        JSON.stringify({ type: 'send', ref: 'x3', clientMessageId: 'c', to: 'nobody', text: 'hi' }),
      );
      expect(await answer(r, 'x3')).toMatchObject({ type: 'error', code: 'NOT_FOUND' });
      await r.sendText(JSON.stringify({ type: 'ping', ref: 'p' }));
      expect(await answer(r, 'p')).toMatchObject({ type: 'pong' });
      expect(r.closed).toBe(false);
    });

    test('the sender is the authenticated user, whatever a frame claims', async () => {
      const bob = await open('bob', 'phone');
      const r = await raw('alice');
      const frame = { type: 'send', ref: 's', clientMessageId: 'c1', to: 'bob', text: 'hi', from: 'carol' };
      await r.sendText(JSON.stringify(frame));
      await answer(r, 's');
      await until(() => bob.seen.messages.length === 1, 'the message');
      expect(bob.seen.messages[0]?.senderId).toBe('alice');
    });

    test('limits: a text over the maximum length is refused with VALIDATION and stores nothing', async () => {
      const r = await raw('alice');
      const text = 'x'.repeat(4_097);
      await r.sendText(JSON.stringify({ type: 'send', ref: 'long', clientMessageId: 'c', to: 'bob', text }));
      expect(await answer(r, 'long')).toMatchObject({ type: 'error', code: 'VALIDATION' });
      expect(await rig.system.store.lastSeq('dm:alice:bob')).toBe(0);
    });

    test('limits: a frame over the transport maximum is refused', async () => {
      const limits = rig.limits;
      if (limits === undefined) return; // an in-process transport carries any size
      const r = await raw('alice');
      const text = 'y'.repeat(limits.maxFrameBytes);
      await r.sendText(JSON.stringify({ type: 'send', ref: 'huge', clientMessageId: 'c', to: 'bob', text }));
      if (limits.oversized === 'closed') await until(() => r.closed, 'the link closed');
      else expect(await answer(r, 'huge')).toMatchObject({ type: 'error', code: 'PAYLOAD_TOO_LARGE' });
      expect(await rig.system.store.lastSeq('dm:alice:bob')).toBe(0);
    });

    test('limits: frames over the rate are refused with RATE_LIMITED and a retry-after', async () => {
      const limits = rig.limits;
      if (limits === undefined) return; // an in-process transport has no rate
      const r = await raw('alice');
      for (let i = 0; i <= limits.burst; i++)
        await r.sendText(JSON.stringify({ type: 'ping', ref: `p${i}` }));
      const refused = await answer(r, `p${limits.burst}`);
      expect(refused).toMatchObject({
        type: 'error',
        code: 'RATE_LIMITED',
        details: { retryAfterMs: expect.any(Number) },
      });
      expect(r.frames.filter((f) => f.type === 'pong').length).toBeLessThanOrEqual(limits.burst);
    });
  });
}
