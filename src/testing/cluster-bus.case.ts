/// <reference types="jest" />
/**
 * The conformance suite of the `ClusterBus` port: every bus (in-memory, Redis, a third party's) runs it with
 * three nodes. Delivery may be asynchronous (a network hop), so the suite waits for what must arrive, and proves
 * that something did not arrive by sending a marker after it on the same connection and waiting for the marker.
 *
 * @module
 */
import type { ClusterBus, ClusterNotice } from '../ports';

/** What `clusterBusSuite` needs for one test: three nodes on one medium, and a way to put raw bytes on it. */
export interface ClusterBusRig {
  /** Three buses (nodes) with distinct ids, sharing one medium; channels start empty. */
  readonly nodes: readonly [ClusterBus, ClusterBus, ClusterBus];
  /** Puts a raw message on a channel, as if some other program had published it. */
  injectRaw(channel: string, raw: string): Promise<void>;
  /** With the `outage` capability: takes the medium down, and brings it back. */
  readonly outage?: { down(): Promise<void>; up(): Promise<void> };
  /** Closes the nodes and frees the medium. */
  close?(): Promise<void>;
}

/** What a rig can do beyond the contract; each capability turns on the tests that need it. */
export interface ClusterBusCaps {
  /** The rig's `outage` can take the medium down and bring it back. */
  readonly outage?: boolean;
}

/** How long the suite waits for a notice that must arrive. */
const WAIT_MS = 3_000;

async function until(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const entry = (userId: string, inboxSeq: number): ClusterNotice => ({ kind: 'entry', userId, inboxSeq });

/** Records what a handler receives. */
function recorder(): {
  got: { notice: ClusterNotice; from: string }[];
  handler: (notice: ClusterNotice, from: string) => void;
} {
  const got: { notice: ClusterNotice; from: string }[] = [];
  return { got, handler: (notice, from) => got.push({ notice, from }) };
}

/**
 * Registers the `ClusterBus` conformance tests for one adapter.
 *
 * @param name - the adapter's name, shown in the test titles
 * @param make - makes three fresh nodes on one medium (see `ClusterBusRig`)
 * @param caps - what the rig can do beyond the contract (`outage`: its `outage` takes the medium down)
 * @example
 * ```ts
 * import { InMemoryClusterBus, InMemoryClusterHub } from 'chat-room'
 * import { clusterBusSuite } from 'chat-room/testing'
 * clusterBusSuite('InMemoryClusterBus', async () => {
 *   const hub = new InMemoryClusterHub()
 *   const node = (nodeId: string) => new InMemoryClusterBus({ hub, nodeId })
 *   return {
 *     nodes: [node('a'), node('b'), node('c')],
 *     injectRaw: async (channel, raw) => hub.injectRaw(channel, raw),
 *     outage: { down: async () => hub.down(), up: async () => hub.up() },
 *   }
 * }, { outage: true })
 * ```
 */
export function clusterBusSuite(
  name: string,
  make: () => Promise<ClusterBusRig>,
  caps: ClusterBusCaps = {},
): void {
  describe(`ClusterBus conformance: ${name}`, () => {
    let rig: ClusterBusRig;
    let a: ClusterBus;
    let b: ClusterBus;
    let c: ClusterBus;

    beforeEach(async () => {
      rig = await make();
      [a, b, c] = rig.nodes;
    });
    afterEach(async () => {
      await Promise.all(rig.nodes.map((node) => node.close()));
      await rig.close?.();
    });

    test('the nodes have distinct ids', () => {
      expect(new Set(rig.nodes.map((n) => n.nodeId)).size).toBe(3);
    });

    test('a notice reaches every other node with the publisher’s id, never the publisher', async () => {
      const [ra, rb, rc] = [recorder(), recorder(), recorder()];
      await a.subscribe('inbox', ra.handler);
      await b.subscribe('inbox', rb.handler);
      await c.subscribe('inbox', rc.handler);
      expect(await a.publish('inbox', entry('bob', 1))).toBe(true);
      await until('b and c', () => rb.got.length === 1 && rc.got.length === 1);
      expect(rb.got).toEqual([{ notice: entry('bob', 1), from: a.nodeId }]);
      expect(rc.got).toEqual([{ notice: entry('bob', 1), from: a.nodeId }]);
      // b publishes after a: once a hears b, a's own notice would have come before it.
      await b.publish('inbox', entry('bob', 2));
      await until('a', () => ra.got.length > 0);
      expect(ra.got).toEqual([{ notice: entry('bob', 2), from: b.nodeId }]);
      expect(a.stats().published).toBe(1);
    });

    test('every kind of notice crosses intact, in the order published', async () => {
      const notices: ClusterNotice[] = [
        entry('bob', 42),
        { kind: 'presence', record: { userId: 'bob', status: 'online', lastActiveAt: 5, lastSeenAt: 6 } },
        {
          kind: 'presence',
          record: { userId: 'carol', status: 'idle', lastActiveAt: 1, lastSeenAt: 2, idleMinutes: 5 },
        },
        { kind: 'directory', record: 'group', id: 'g1' },
      ];
      const rb = recorder();
      await b.subscribe('all', rb.handler);
      for (const notice of notices) await a.publish('all', notice);
      await until('all four', () => rb.got.length === notices.length);
      expect(rb.got.map((g) => g.notice)).toEqual(notices);
    });

    test('a notice reaches only the subscribers of its channel', async () => {
      const [inbox, presence] = [recorder(), recorder()];
      await b.subscribe('inbox', inbox.handler);
      await b.subscribe('presence', presence.handler);
      await a.publish('presence', entry('bob', 1));
      await a.publish('inbox', entry('bob', 2));
      await until('the inbox notice', () => inbox.got.length === 1);
      expect(inbox.got.map((g) => g.notice)).toEqual([entry('bob', 2)]);
      expect(presence.got.map((g) => g.notice)).toEqual([entry('bob', 1)]);
    });

    test('unsubscribing one handler leaves the others; unsubscribing the last stops delivery', async () => {
      const [first, second, marker] = [recorder(), recorder(), recorder()];
      const offFirst = await b.subscribe('inbox', first.handler);
      const offSecond = await b.subscribe('inbox', second.handler);
      await b.subscribe('marker', marker.handler);
      await offFirst();
      await a.publish('inbox', entry('bob', 1));
      await until('the second handler', () => second.got.length === 1);
      expect(first.got).toEqual([]);
      await offSecond();
      await offSecond(); // twice: harmless
      await a.publish('inbox', entry('bob', 2));
      await a.publish('marker', entry('bob', 3));
      await until('the marker', () => marker.got.length === 1);
      expect(second.got.map((g) => g.notice)).toEqual([entry('bob', 1)]);
    });

    test('malformed input is dropped and counted, never thrown; the channel keeps working', async () => {
      const rb = recorder();
      await b.subscribe('inbox', rb.handler);
      const bad = [
        'not json',
        'null',
        JSON.stringify({ from: a.nodeId }),
        JSON.stringify({ from: a.nodeId, notice: { kind: 'unknown' } }),
        JSON.stringify({ from: a.nodeId, notice: { kind: 'entry', userId: 'bob', inboxSeq: -1 } }),
        JSON.stringify({ from: a.nodeId, notice: { kind: 'entry', userId: '', inboxSeq: 1 } }),
        JSON.stringify({
          from: a.nodeId,
          notice: { kind: 'presence', record: { userId: 'bob', status: 'busy' } },
        }),
        JSON.stringify({ from: a.nodeId, notice: { kind: 'directory', record: 'password', id: 'x' } }),
        JSON.stringify({ from: 42, notice: entry('bob', 1) }),
      ];
      for (const raw of bad) await rig.injectRaw('inbox', raw);
      await a.publish('inbox', entry('bob', 9));
      await until('the good notice', () => rb.got.length === 1);
      expect(rb.got.map((g) => g.notice)).toEqual([entry('bob', 9)]);
      expect(b.stats().malformed).toBe(bad.length);
    });

    test('a notice carries only its known fields', async () => {
      const rb = recorder();
      await b.subscribe('inbox', rb.handler);
      await rig.injectRaw(
        'inbox',
        JSON.stringify({ from: a.nodeId, notice: { ...entry('bob', 3), extra: 'dropped' } }),
      );
      await until('the notice', () => rb.got.length === 1);
      expect(rb.got[0]?.notice).toEqual(entry('bob', 3));
    });

    test('a handler that throws is counted; the other handlers and the publisher carry on', async () => {
      const rb = recorder();
      await b.subscribe('inbox', () => {
        throw new Error('handler bug');
      });
      await b.subscribe('inbox', rb.handler);
      await expect(a.publish('inbox', entry('bob', 1))).resolves.toBe(true);
      await until('the second handler', () => rb.got.length === 1);
      expect(b.stats().handlerErrors).toBe(1);
      expect(b.stats().received).toBe(1);
    });

    test('a closed node hears nothing and publishes nothing; the others carry on; close is idempotent', async () => {
      const [rb, rc] = [recorder(), recorder()];
      await b.subscribe('inbox', rb.handler);
      await c.subscribe('inbox', rc.handler);
      await b.close();
      await b.close();
      expect(await b.publish('inbox', entry('bob', 1))).toBe(false);
      expect(b.stats().dropped).toBe(1);
      await a.publish('inbox', entry('bob', 2));
      await until('c', () => rc.got.length === 1);
      // c heard a's notice; b, closed, did not (and the notice b tried to publish reached nobody).
      expect(rc.got.map((g) => g.notice)).toEqual([entry('bob', 2)]);
      expect(rb.got).toEqual([]);
    });

    (caps.outage === true ? test : test.skip)(
      'with the medium down, publish resolves false; when it returns, the nodes hear of it and notices flow',
      async () => {
        const outage = rig.outage;
        if (outage === undefined) throw new Error('the rig has no outage capability');
        const rb = recorder();
        let reconnects = 0;
        await b.subscribe('inbox', rb.handler);
        b.onReconnect(() => reconnects++);
        await outage.down();
        await expect(a.publish('inbox', entry('bob', 1))).resolves.toBe(false);
        expect(a.stats().dropped).toBe(1);
        await outage.up();
        await until('the reconnect hook', () => reconnects === 1);
        // The hook fires once b's subscriptions are back; a's own connection may come back a moment later.
        const deadline = Date.now() + WAIT_MS;
        while (!(await a.publish('inbox', entry('bob', 2)))) {
          if (Date.now() > deadline) throw new Error('timed out waiting for a to publish again');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await until('a notice after the outage', () => rb.got.length > 0);
        expect(rb.got.map((g) => g.notice)).toContainEqual(entry('bob', 2));
        expect(rb.got.map((g) => g.notice)).not.toContainEqual(entry('bob', 1));
      },
    );
  });
}
