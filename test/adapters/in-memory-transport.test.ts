import type {
  ClientFrame,
  ClientLinkHandler,
  Connection,
  ConnectionIdentity,
  InMemoryTransportOptions,
  ServerFrame,
  TransportHandler,
} from 'chat-room';
import { InMemoryTransport, ManualClock, seededRandom, TransportError, ValidationError } from 'chat-room';

/** A server that writes down what the transport reports. */
class FakeServer implements TransportHandler {
  readonly connections: Connection[] = [];
  readonly frames: Array<{ from: string; frame: unknown }> = [];
  readonly closedIds: string[] = [];

  opened(connection: Connection): void {
    this.connections.push(connection);
  }

  received(connection: Connection, frame: unknown): void {
    this.frames.push({ from: connection.id, frame });
  }

  closed(connection: Connection): void {
    this.closedIds.push(connection.id);
  }

  /** The refs of the frames received, in arrival order. */
  refs(): string[] {
    return this.frames.map((r) => (r.frame as { ref?: string }).ref ?? '?');
  }
}

/** A device that writes down what its link reports. */
class FakeDevice implements ClientLinkHandler {
  readonly frames: ServerFrame[] = [];
  readonly closedReasons: string[] = [];

  received(frame: ServerFrame): void {
    this.frames.push(frame);
  }

  closed(reason: string): void {
    this.closedReasons.push(reason);
  }

  /** The refs of the frames received, in arrival order. */
  refs(): string[] {
    return this.frames.map((f) => ('ref' in f && f.ref !== undefined ? f.ref : '?'));
  }
}

const ALICE: ConnectionIdentity = { userId: 'alice', deviceId: 'phone', foreground: true };
const BOB: ConnectionIdentity = { userId: 'bob', deviceId: 'laptop', foreground: false };

const sync = (ref: string): ClientFrame => ({ type: 'sync', ref, after: 0 });
const ok = (ref: string): ServerFrame => ({ type: 'ok', ref });
const refs = (n: number): string[] => Array.from({ length: n }, (_, i) => `r${i + 1}`);

/** A transport with a listening fake server and one connected device (alice's phone). */
function connected(options: InMemoryTransportOptions = {}) {
  const transport = new InMemoryTransport(options);
  const server = new FakeServer();
  transport.listen(server);
  const device = new FakeDevice();
  const link = transport.open(ALICE, device);
  const connection = server.connections[0] as Connection;
  return { transport, server, device, link, connection };
}

describe('InMemoryTransport', () => {
  describe('connecting', () => {
    it('tells the server who connected, with a distinct id per connection', () => {
      const { transport, server, link } = connected();
      transport.open(BOB, new FakeDevice());
      expect(server.connections.map((c) => c.identity)).toEqual([ALICE, BOB]);
      expect(new Set(server.connections.map((c) => c.id)).size).toBe(2);
      expect(link.open).toBe(true);
      expect(transport.openLinks).toBe(2);
    });

    it('refuses to open a link when no server is listening', () => {
      const transport = new InMemoryTransport();
      expect(() => transport.open(ALICE, new FakeDevice())).toThrow(TransportError);
      expect(transport.openLinks).toBe(0);
    });

    it('refuses a second server on the same transport', () => {
      const transport = new InMemoryTransport();
      transport.listen(new FakeServer());
      expect(() => transport.listen(new FakeServer())).toThrow(ValidationError);
    });
  });

  describe('without faults', () => {
    it('carries frames both ways, in order, before send returns', () => {
      const { server, device, link, connection } = connected();
      for (const ref of refs(5)) link.send(sync(ref));
      for (const ref of refs(5)) connection.send(ok(ref));
      expect(server.frames).toEqual(refs(5).map((ref) => ({ from: connection.id, frame: sync(ref) })));
      expect(device.frames).toEqual(refs(5).map(ok));
    });

    it('hands over copies: changing a received frame does not change the sender’s object, and back', () => {
      const { server, device, link, connection } = connected();
      const sent = { type: 'sync', ref: 'r1', after: 7 } as const;
      link.send(sent);
      const got = server.frames[0]?.frame as { after: number };
      expect(got).toEqual(sent);
      expect(got).not.toBe(sent);
      got.after = 99;
      expect(sent.after).toBe(7);

      const reply = { type: 'ok', ref: 'r1' } as const;
      connection.send(reply);
      const gotReply = device.frames[0] as { ref: string };
      expect(gotReply).not.toBe(reply);
      gotReply.ref = 'changed';
      expect(reply.ref).toBe('r1');
    });

    it('keeps the frames of different connections apart', () => {
      const { transport, server, device, link } = connected();
      const bobDevice = new FakeDevice();
      const bobLink = transport.open(BOB, bobDevice);
      const bobConnection = server.connections[1] as Connection;
      link.send(sync('from-alice'));
      bobLink.send(sync('from-bob'));
      bobConnection.send(ok('to-bob'));
      expect(server.frames.map((f) => [f.from, (f.frame as { ref: string }).ref])).toEqual([
        [server.connections[0]?.id, 'from-alice'],
        [bobConnection.id, 'from-bob'],
      ]);
      expect(bobDevice.refs()).toEqual(['to-bob']);
      expect(device.frames).toEqual([]);
    });
  });

  describe('with faults', () => {
    it('duplicate: 1 delivers every frame twice, both ways', () => {
      const { server, device, link, connection } = connected({
        faults: { random: seededRandom(1), duplicate: 1 },
      });
      for (const ref of refs(4)) link.send(sync(ref));
      for (const ref of refs(4)) connection.send(ok(ref));
      expect(server.refs()).toEqual(['r1', 'r1', 'r2', 'r2', 'r3', 'r3', 'r4', 'r4']);
      expect(device.refs()).toEqual(['r1', 'r1', 'r2', 'r2', 'r3', 'r3', 'r4', 'r4']);
    });

    it('drop: 1 delivers nothing, and the link stays open', () => {
      const { server, device, link, connection } = connected({
        faults: { random: seededRandom(2), drop: 1 },
      });
      for (const ref of refs(10)) link.send(sync(ref));
      for (const ref of refs(10)) connection.send(ok(ref));
      expect(server.frames).toEqual([]);
      expect(device.frames).toEqual([]);
      expect(link.open).toBe(true);
    });

    it('delayMs holds frames until the clock passes the delay', () => {
      const clock = new ManualClock(0);
      const { server, device, link, connection } = connected({
        clock,
        faults: { random: seededRandom(3), delayMs: [20, 20] },
      });
      link.send(sync('r1'));
      connection.send(ok('r1'));
      expect(server.frames).toEqual([]);
      expect(device.frames).toEqual([]);
      clock.advance(19);
      expect(server.frames).toEqual([]);
      expect(device.frames).toEqual([]);
      clock.advance(1);
      expect(server.refs()).toEqual(['r1']);
      expect(device.refs()).toEqual(['r1']);
    });

    it('random delays deliver every frame once, within the range, in the order sent (one link is one pipe)', () => {
      const clock = new ManualClock(0);
      const { server, device, link, connection } = connected({
        clock,
        faults: { random: seededRandom(4), delayMs: [10, 50] },
      });
      for (const ref of refs(20)) link.send(sync(ref));
      for (const ref of refs(20)) connection.send(ok(ref));
      clock.advance(9);
      expect(server.frames).toEqual([]);
      clock.advance(41);
      expect(server.refs()).toEqual(refs(20));
      expect(device.refs()).toEqual(refs(20));
      clock.advance(1_000);
      expect(server.frames).toHaveLength(20);
    });

    it('reorder: 1 lets delayed frames overtake each other, still delivering each once', () => {
      const clock = new ManualClock(0);
      const { server, link } = connected({
        clock,
        faults: { random: seededRandom(8), delayMs: [10, 50], reorder: 1 },
      });
      for (const ref of refs(20)) link.send(sync(ref));
      clock.advance(50);
      expect([...server.refs()].sort()).toEqual([...refs(20)].sort());
      expect(server.refs()).not.toEqual(refs(20));
    });

    it('healing the links does not let a new frame overtake one still in flight', () => {
      const clock = new ManualClock(0);
      const { transport, server, link } = connected({
        clock,
        faults: { random: seededRandom(9), delayMs: [30, 30] },
      });
      link.send(sync('r1'));
      transport.setFaults(undefined);
      link.send(sync('r2'));
      expect(server.frames).toEqual([]);
      clock.advance(30);
      expect(server.refs()).toEqual(['r1', 'r2']);
      link.send(sync('r3'));
      expect(server.refs()).toEqual(['r1', 'r2', 'r3']);
    });

    it('a delayed frame arrives as it was sent, whatever the sender changes meanwhile', () => {
      const clock = new ManualClock(0);
      const { server, link } = connected({ clock, faults: { random: seededRandom(5), delayMs: [5, 5] } });
      const frame = { type: 'sync', ref: 'r1', after: 1 };
      link.send(frame as ClientFrame);
      frame.after = 42;
      clock.advance(5);
      expect(server.frames[0]?.frame).toEqual({ type: 'sync', ref: 'r1', after: 1 });
    });

    it('setFaults(undefined) heals the links', () => {
      const { transport, server, link } = connected({ faults: { random: seededRandom(6), drop: 1 } });
      link.send(sync('lost'));
      transport.setFaults(undefined);
      link.send(sync('r1'));
      expect(server.refs()).toEqual(['r1']);
    });
  });

  describe('closing', () => {
    it('cut(connectionId) closes both ends, once', () => {
      const { transport, server, device, link, connection } = connected();
      expect(transport.cut(connection.id)).toBe(true);
      expect(server.closedIds).toEqual([connection.id]);
      expect(device.closedReasons).toHaveLength(1);
      expect(link.open).toBe(false);
      expect(transport.openLinks).toBe(0);
      expect(transport.cut(connection.id)).toBe(false);
      expect(server.closedIds).toEqual([connection.id]);
      expect(device.closedReasons).toHaveLength(1);
    });

    it('cutting one connection leaves the others working', () => {
      const { transport, server, link, connection } = connected();
      const bobDevice = new FakeDevice();
      const bobLink = transport.open(BOB, bobDevice);
      transport.cut(connection.id);
      expect(bobLink.open).toBe(true);
      bobLink.send(sync('still-here'));
      expect(server.refs()).toEqual(['still-here']);
      expect(bobDevice.closedReasons).toEqual([]);
      expect(link.open).toBe(false);
    });

    it('sending on a closed client link throws a TransportError', () => {
      const { transport, server, link, connection } = connected();
      transport.cut(connection.id);
      expect(() => link.send(sync('r1'))).toThrow(TransportError);
      expect(server.frames).toEqual([]);
    });

    it('the server sending on a closed connection is dropped quietly', () => {
      const { transport, device, connection } = connected();
      transport.cut(connection.id);
      expect(() => connection.send(ok('r1'))).not.toThrow();
      expect(device.frames).toEqual([]);
    });

    it('a frame still in flight when the connection is cut never arrives', () => {
      const clock = new ManualClock(0);
      const { transport, server, device, link, connection } = connected({
        clock,
        faults: { random: seededRandom(7), delayMs: [10, 10] },
      });
      link.send(sync('r1'));
      connection.send(ok('r1'));
      transport.cut(connection.id);
      clock.advance(100);
      expect(server.frames).toEqual([]);
      expect(device.frames).toEqual([]);
    });

    it('the device hanging up closes both ends', () => {
      const { server, device, link, connection } = connected();
      link.close();
      expect(link.open).toBe(false);
      expect(server.closedIds).toEqual([connection.id]);
      expect(device.closedReasons).toHaveLength(1);
    });

    it('the server closing a connection tells the device why', () => {
      const { server, device, link, connection } = connected();
      connection.close('too slow');
      expect(device.closedReasons).toEqual(['too slow']);
      expect(server.closedIds).toEqual([connection.id]);
      expect(link.open).toBe(false);
    });

    it('closing the transport closes every link and stops accepting new ones', async () => {
      const { transport, server, device, link } = connected();
      const bobDevice = new FakeDevice();
      transport.open(BOB, bobDevice);
      await transport.close();
      expect(server.closedIds).toHaveLength(2);
      expect(device.closedReasons).toHaveLength(1);
      expect(bobDevice.closedReasons).toHaveLength(1);
      expect(link.open).toBe(false);
      expect(transport.openLinks).toBe(0);
      expect(() => transport.open(ALICE, new FakeDevice())).toThrow(TransportError);
    });
  });
});
