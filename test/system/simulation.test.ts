import type { Ack, ChatSession, MessageStatus } from 'chat-room';
import { ChatSystem, InMemoryTransport, ManualClock, compareStatus, seededRandom } from 'chat-room';
import { T0 } from './helpers';

/**
 * Deterministic simulation: random schedules of sends, reads, background/foreground switches and cut
 * connections, over links that duplicate and delay frames. After healing, the delivery contract must hold:
 * every acked message is shown exactly once on every member's device, each thread in seq order, and the ticks
 * a device sees never go backwards.
 */

const USERS = ['u0', 'u1', 'u2', 'u3', 'u4'];

interface Device {
  readonly userId: string;
  readonly deviceId: string;
  session: ChatSession;
  /** The cursor the app keeps on disk across reconnects. */
  shown: Map<string, number>;
  lastSeqByThread: Map<string, number>;
  receipts: Map<string, Map<MessageStatus, number>>;
  violations: string[];
}

async function simulate(seed: number, steps: number): Promise<void> {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const clock = new ManualClock(T0);
  const transport = new InMemoryTransport({ clock });
  let ids = 0;
  const chat = ChatSystem.create({ clock, transport, newId: () => `g${++ids}` });
  for (const id of USERS) chat.registerUser({ id, name: id.toUpperCase() });
  const group = chat.createGroup({ ownerId: 'u0', name: 'All', memberIds: USERS.slice(1) });

  const devices: Device[] = [];
  const attach = (d: Omit<Device, 'session'>, cursor?: number): Device => {
    const session = chat.connect(d.userId, {
      deviceId: d.deviceId,
      foreground: random() < 0.8,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const device = d as Device;
    device.session = session;
    session.on('message', (m) => {
      const n = (device.shown.get(m.id) ?? 0) + 1;
      device.shown.set(m.id, n);
      if (n > 1) device.violations.push(`${device.deviceId} showed ${m.id} ${n} times`);
      const last = device.lastSeqByThread.get(m.threadId) ?? 0;
      if (m.seq <= last)
        device.violations.push(`${device.deviceId} got ${m.threadId} seq ${m.seq} after ${last}`);
      device.lastSeqByThread.set(m.threadId, m.seq);
    });
    session.on('message-sent', (m) => {
      const last = device.lastSeqByThread.get(m.threadId) ?? 0;
      if (m.seq <= last)
        device.violations.push(`${device.deviceId} own ${m.threadId} seq ${m.seq} after ${last}`);
      device.lastSeqByThread.set(m.threadId, m.seq);
    });
    session.on('receipt', (r) => {
      const byStatus = device.receipts.get(r.threadId) ?? new Map<MessageStatus, number>();
      const before = byStatus.get(r.status) ?? 0;
      if (r.upToSeq < before)
        device.violations.push(`${device.deviceId} ${r.status} went back ${before}→${r.upToSeq}`);
      byStatus.set(r.status, Math.max(before, r.upToSeq));
      device.receipts.set(r.threadId, byStatus);
    });
    return device;
  };
  for (const userId of USERS) {
    for (const n of [1, 2]) {
      devices.push(
        attach({
          userId,
          deviceId: `${userId}-d${n}`,
          shown: new Map(),
          lastSeqByThread: new Map(),
          receipts: new Map(),
          violations: [],
        }),
      );
    }
  }

  transport.setFaults({ random, duplicate: 0.1, delayMs: [0, 40] });
  const acked: { ack: Ack; from: string; to: string[] }[] = [];
  const sends: Promise<unknown>[] = [];

  for (let step = 0; step < steps; step++) {
    const d = pick(devices);
    const roll = random();
    if (roll < 0.5 && d.session.connected) {
      const toGroup = random() < 0.3;
      const other = pick(USERS.filter((u) => u !== d.userId));
      const members = toGroup ? USERS : [d.userId, other];
      sends.push(
        d.session
          .send(toGroup ? { groupId: group.id, text: `s${step}` } : { to: other, text: `s${step}` })
          .then((ack) => acked.push({ ack, from: d.userId, to: members.filter((u) => u !== d.userId) }))
          .catch(() => undefined), // unacked: the sender would retry; nothing is promised
      );
    } else if (roll < 0.65 && d.session.connected) {
      const [threadId, seq] = pick([...d.lastSeqByThread, ['none', 0] as const]);
      if (seq > 0) void d.session.markRead(threadId, seq).catch(() => undefined);
    } else if (roll < 0.8 && d.session.connected) {
      void d.session.setForeground(!d.session.foreground).catch(() => undefined);
    } else if (roll < 0.88 && d.session.connected) {
      d.session.disconnect();
    } else if (!d.session.connected) {
      attach(d, d.session.cursor);
    }
    clock.advance(Math.floor(random() * 30));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  // Heal: no more faults, every device back in the foreground, everything settles.
  transport.setFaults(undefined);
  for (const d of devices) {
    if (!d.session.connected) attach(d, d.session.cursor);
  }
  await flush(clock);
  for (const d of devices) if (!d.session.foreground) void d.session.setForeground(true);
  await flush(clock);
  await Promise.allSettled(sends);
  await chat.idle();

  const violations = devices.flatMap((d) => d.violations);
  expect(violations).toEqual([]);
  expect(acked.length).toBeGreaterThan(steps / 5);
  for (const { ack, to } of acked) {
    for (const d of devices.filter((x) => to.includes(x.userId))) {
      expect([d.deviceId, ack.messageId, d.shown.get(ack.messageId)]).toEqual([d.deviceId, ack.messageId, 1]);
    }
  }
  // Every device has every entry, so every message ends at least delivered.
  for (const { ack, from } of acked) {
    const info = await chat.messageInfo(from, ack.messageId);
    expect(compareStatus(info.status, 'delivered')).toBeGreaterThanOrEqual(0);
  }
}

/** Lets delayed frames land: time moves in small steps, and the event loop runs between them. */
async function flush(clock: ManualClock, ms = 200): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

describe('deterministic simulation over a faulty in-memory transport', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'seed %i: every acked message shown once per device, in order',
    async (seed) => {
      await simulate(seed, 300);
    },
  );
});
