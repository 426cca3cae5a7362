import type { AggregateMove, ReceiptKind } from 'chat-room';
import { isDeepStrictEqual } from 'node:util';
import { ReceiptLedger, seededRandom, ValidationError } from 'chat-room';

const marks = (ledger: ReceiptLedger, userId: string) => {
  const w = ledger.watermark(userId);
  return w === undefined ? undefined : { delivered: w.delivered, read: w.read };
};

describe('ReceiptLedger', () => {
  it('starts with every member at 0: nothing delivered, nothing read', () => {
    const ledger = new ReceiptLedger(['alice', 'bob']);
    expect(ledger.size).toBe(2);
    expect(ledger.aggregate('delivered')).toBe(0);
    expect(ledger.aggregate('read')).toBe(0);
    expect(ledger.statusOf(1)).toBe('sent');
    expect(ledger.watermark('bob')).toEqual({
      userId: 'bob',
      since: 0,
      delivered: 0,
      read: 0,
      deliveredAt: 0,
      readAt: 0,
    });
  });

  describe('advance', () => {
    it('moves a watermark forward and records when', () => {
      const ledger = new ReceiptLedger(['bob']);
      ledger.advance('bob', 'delivered', 3, 100);
      expect(ledger.watermark('bob')).toMatchObject({ delivered: 3, deliveredAt: 100, read: 0, readAt: 0 });
    });

    it('never moves a watermark back: a late, lower receipt changes nothing', () => {
      const ledger = new ReceiptLedger(['bob']);
      ledger.advance('bob', 'delivered', 5, 100);
      expect(ledger.advance('bob', 'delivered', 3, 200)).toEqual([]);
      expect(ledger.watermark('bob')).toMatchObject({ delivered: 5, deliveredAt: 100 });
      expect(ledger.aggregate('delivered')).toBe(5);
    });

    it('is idempotent: the same receipt twice moves nothing the second time', () => {
      const ledger = new ReceiptLedger(['bob']);
      expect(ledger.advance('bob', 'read', 4, 100)).not.toEqual([]);
      const after = ledger.watermarks();
      expect(ledger.advance('bob', 'read', 4, 999)).toEqual([]);
      expect(ledger.watermarks()).toEqual(after);
    });

    it('read implies delivered', () => {
      const ledger = new ReceiptLedger(['bob']);
      const moves = ledger.advance('bob', 'read', 4, 100);
      expect(ledger.watermark('bob')).toEqual({
        userId: 'bob',
        since: 0,
        delivered: 4,
        read: 4,
        deliveredAt: 100,
        readAt: 100,
      });
      expect(moves).toEqual([
        { kind: 'delivered', from: 0, to: 4 },
        { kind: 'read', from: 0, to: 4 },
      ]);
      expect(ledger.statusOf(4)).toBe('read');
    });

    it('a read below what was delivered leaves delivered where it was', () => {
      const ledger = new ReceiptLedger(['bob']);
      ledger.advance('bob', 'delivered', 6, 100);
      expect(ledger.advance('bob', 'read', 3, 200)).toEqual([{ kind: 'read', from: 0, to: 3 }]);
      expect(ledger.watermark('bob')).toMatchObject({ delivered: 6, deliveredAt: 100, read: 3, readAt: 200 });
    });

    it('ignores someone who is not followed', () => {
      const ledger = new ReceiptLedger(['bob']);
      expect(ledger.advance('mallory', 'read', 9, 100)).toBeUndefined();
      expect(ledger.has('mallory')).toBe(false);
      expect(ledger.aggregate('read')).toBe(0);
    });
  });

  describe('aggregate', () => {
    it('is the slowest member’s watermark, and reports a move only when the slowest catches up', () => {
      const ledger = new ReceiptLedger(['alice', 'bob', 'carol']);
      expect(ledger.advance('alice', 'delivered', 5, 1)).toEqual([]);
      expect(ledger.advance('bob', 'delivered', 3, 2)).toEqual([]);
      expect(ledger.aggregate('delivered')).toBe(0);
      expect(ledger.advance('carol', 'delivered', 7, 3)).toEqual([{ kind: 'delivered', from: 0, to: 3 }]);
      expect(ledger.aggregate('delivered')).toBe(3);
      expect(ledger.advance('bob', 'delivered', 9, 4)).toEqual([{ kind: 'delivered', from: 3, to: 5 }]);
      expect(ledger.aggregate('delivered')).toBe(5);
    });

    it('waits for every member sitting at the minimum', () => {
      const ledger = new ReceiptLedger(['alice', 'bob', 'carol']);
      ledger.advance('alice', 'delivered', 2, 1);
      ledger.advance('bob', 'delivered', 2, 1);
      ledger.advance('carol', 'delivered', 2, 1);
      expect(ledger.advance('alice', 'delivered', 4, 2)).toEqual([]);
      expect(ledger.advance('bob', 'delivered', 4, 2)).toEqual([]);
      expect(ledger.aggregate('delivered')).toBe(2);
      expect(ledger.advance('carol', 'delivered', 4, 2)).toEqual([{ kind: 'delivered', from: 2, to: 4 }]);
    });

    it('is Infinity with no members', () => {
      expect(new ReceiptLedger([]).aggregate('delivered')).toBe(Number.POSITIVE_INFINITY);
    });
  });

  describe('statusOf', () => {
    it('is read, delivered or sent depending on how far every member got', () => {
      const ledger = new ReceiptLedger(['bob', 'carol']);
      ledger.advance('bob', 'read', 6, 1);
      ledger.advance('carol', 'delivered', 4, 1);
      ledger.advance('carol', 'read', 2, 1);
      expect(ledger.statusOf(1)).toBe('read');
      expect(ledger.statusOf(2)).toBe('read');
      expect(ledger.statusOf(3)).toBe('delivered');
      expect(ledger.statusOf(4)).toBe('delivered');
      expect(ledger.statusOf(5)).toBe('sent');
      expect(ledger.statusOf(7)).toBe('sent');
    });
  });

  describe('joining', () => {
    it('a joiner starts at the baseline (they never got the history)', () => {
      const ledger = new ReceiptLedger(['alice', 'bob']);
      ledger.advance('alice', 'read', 2, 1);
      ledger.advance('bob', 'read', 2, 1);
      expect(ledger.addMember('carol', 10, 50)).toBe(true);
      expect(ledger.watermark('carol')).toEqual({
        userId: 'carol',
        since: 10,
        delivered: 10,
        read: 10,
        deliveredAt: 50,
        readAt: 50,
      });
      expect(ledger.aggregate('read')).toBe(2);
      ledger.advance('alice', 'read', 12, 2);
      ledger.advance('bob', 'read', 12, 2);
      expect(ledger.aggregate('read')).toBe(10); // carol now holds the thread back
      expect(ledger.statusOf(11)).toBe('sent');
    });

    it('a join never pulls the aggregate back, even with an old baseline', () => {
      const ledger = new ReceiptLedger(['alice', 'bob']);
      ledger.advance('alice', 'read', 5, 1);
      ledger.advance('bob', 'read', 5, 1);
      expect(ledger.statusOf(5)).toBe('read');
      ledger.addMember('carol', 2, 10);
      expect(ledger.aggregate('delivered')).toBe(5);
      expect(ledger.aggregate('read')).toBe(5);
      expect(ledger.statusOf(5)).toBe('read');
      expect(marks(ledger, 'carol')).toEqual({ delivered: 5, read: 5 });
    });

    it('adding a member twice changes nothing', () => {
      const ledger = new ReceiptLedger(['alice']);
      ledger.advance('alice', 'read', 3, 1);
      const before = ledger.watermarks();
      expect(ledger.addMember('alice', 9, 2)).toBe(false);
      expect(ledger.watermarks()).toEqual(before);
    });

    it('the first member of an empty ledger starts at the baseline', () => {
      const ledger = new ReceiptLedger([]);
      ledger.addMember('alice', 4, 1);
      expect(ledger.aggregate('delivered')).toBe(4);
    });
  });

  describe('leaving', () => {
    it('a slowest member who leaves releases the aggregate, and the moves are reported', () => {
      const ledger = new ReceiptLedger(['alice', 'bob', 'carol']);
      ledger.advance('alice', 'read', 8, 1);
      ledger.advance('bob', 'read', 6, 1);
      ledger.advance('carol', 'delivered', 2, 1);
      expect(ledger.statusOf(6)).toBe('sent');
      expect(ledger.removeMember('carol')).toEqual([
        { kind: 'delivered', from: 2, to: 6 },
        { kind: 'read', from: 0, to: 6 },
      ]);
      expect(ledger.statusOf(6)).toBe('read');
      expect(ledger.has('carol')).toBe(false);
    });

    it('a member ahead of the others leaves without moving anything', () => {
      const ledger = new ReceiptLedger(['alice', 'bob']);
      ledger.advance('alice', 'read', 8, 1);
      ledger.advance('bob', 'read', 6, 1);
      expect(ledger.removeMember('alice')).toEqual([]);
      expect(ledger.aggregate('read')).toBe(6);
    });

    it('leaving twice, or never having been a member, moves nothing', () => {
      const ledger = new ReceiptLedger(['alice', 'bob']);
      ledger.removeMember('bob');
      expect(ledger.removeMember('bob')).toEqual([]);
      expect(ledger.removeMember('mallory')).toEqual([]);
      expect(ledger.size).toBe(1);
    });

    it('the last member leaving reports no move to infinity', () => {
      const ledger = new ReceiptLedger(['alice']);
      expect(ledger.removeMember('alice')).toEqual([]);
      expect(ledger.size).toBe(0);
    });
  });

  describe('detail', () => {
    it('tells per member whether and when a message was delivered and read, leaving out the sender', () => {
      const ledger = new ReceiptLedger(['alice', 'bob', 'carol', 'dave']);
      ledger.advance('bob', 'read', 5, 300);
      ledger.advance('carol', 'delivered', 5, 200);
      ledger.advance('dave', 'delivered', 4, 100);
      expect(ledger.detail(5, 'alice')).toEqual([
        { userId: 'bob', delivered: true, read: true, deliveredAt: 300, readAt: 300 },
        { userId: 'carol', delivered: true, read: false, deliveredAt: 200, readAt: undefined },
        { userId: 'dave', delivered: false, read: false, deliveredAt: undefined, readAt: undefined },
      ]);
      expect(ledger.detail(4).map((d) => d.userId)).toEqual(['alice', 'bob', 'carol', 'dave']);
    });

    it('dates at least the last 256 moves of a long conversation exactly, and never invents a date', () => {
      const ledger = new ReceiptLedger(['alice', 'bob']);
      for (let seq = 1; seq <= 2_000; seq++) ledger.advance('bob', 'delivered', seq, 10 * seq);
      for (const seq of [2_000, 1_900, 1_745]) {
        expect(ledger.detail(seq, 'alice')).toEqual([
          { userId: 'bob', delivered: true, read: false, deliveredAt: 10 * seq, readAt: undefined },
        ]);
      }
      // The first message is older than the ledger remembers: delivered, with no time rather than a wrong one.
      expect(ledger.detail(1, 'alice')).toEqual([
        { userId: 'bob', delivered: true, read: false, deliveredAt: undefined, readAt: undefined },
      ]);
    });
  });

  it('restores from saved watermarks', () => {
    const ledger = new ReceiptLedger([
      { userId: 'bob', delivered: 7, read: 5, deliveredAt: 70, readAt: 50 },
      { userId: 'carol', delivered: 6, read: 6, deliveredAt: 60, readAt: 60 },
    ]);
    expect(ledger.aggregate('delivered')).toBe(6);
    expect(ledger.aggregate('read')).toBe(5);
    expect(ledger.advance('bob', 'read', 9, 90)).toEqual([{ kind: 'read', from: 5, to: 6 }]);
  });

  describe('randomized against a naive model', () => {
    type Model = Map<string, { delivered: number; read: number }>;
    const KINDS: readonly ReceiptKind[] = ['delivered', 'read'];
    const naiveMin = (model: Model, kind: ReceiptKind): number =>
      model.size === 0 ? Number.POSITIVE_INFINITY : Math.min(...[...model.values()].map((m) => m[kind]));
    const expectedMoves = (before: Record<ReceiptKind, number>, model: Model): AggregateMove[] =>
      KINDS.filter((k) => naiveMin(model, k) > before[k] && Number.isFinite(naiveMin(model, k))).map((k) => ({
        kind: k,
        from: before[k],
        to: naiveMin(model, k),
      }));

    /** Fails with the step's context only when values differ (expect() on every step would be slow). */
    const check = (context: string, actual: unknown, expected: unknown): void => {
      if (!isDeepStrictEqual(actual, expected))
        expect({ context, actual }).toEqual({ context, actual: expected });
    };

    it.each([1, 2, 3, 42, 2026])(
      'seed %i: aggregate() is the minimum over members after 5000 operations',
      (seed) => {
        const random = seededRandom(seed);
        const pick = (n: number) => Math.floor(random() * n);
        const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
        const initial = users.slice(0, 4);
        const ledger = new ReceiptLedger(initial);
        const model: Model = new Map(initial.map((u) => [u, { delivered: 0, read: 0 }]));
        let head = 0; // the thread's newest seq; receipts trail it closely, so members often tie
        let time = 0;
        let moved = 0;
        for (let step = 0; step < 5000; step++) {
          if (random() < 0.3) head++;
          const before = { delivered: naiveMin(model, 'delivered'), read: naiveMin(model, 'read') };
          const user = users[pick(users.length)] as string;
          const op = random();
          const context = `seed ${seed}, step ${step}`;
          if (op < 0.8) {
            const kind: ReceiptKind = random() < 0.5 ? 'delivered' : 'read';
            const seq = Math.max(0, head - pick(6));
            const moves = ledger.advance(user, kind, seq, ++time);
            const m = model.get(user);
            if (m === undefined) {
              check(context, moves, undefined);
            } else {
              m.delivered = Math.max(m.delivered, seq);
              if (kind === 'read') m.read = Math.max(m.read, seq);
              check(context, moves, expectedMoves(before, model));
            }
          } else if (op < 0.9) {
            const baseline = Math.max(0, head - pick(10));
            const added = ledger.addMember(user, baseline, ++time);
            check(context, added, !model.has(user));
            if (added) {
              // A joiner starts at the baseline but never below the aggregate; an empty ledger starts anew.
              const empty = model.size === 0;
              model.set(user, {
                delivered: empty ? baseline : Math.max(baseline, before.delivered),
                read: empty ? baseline : Math.max(baseline, before.read),
              });
              if (!empty) check(`${context} (join)`, ledger.aggregate('read'), before.read);
            }
          } else {
            const moves = ledger.removeMember(user);
            model.delete(user);
            check(context, moves, expectedMoves(before, model));
          }
          for (const k of KINDS) check(`${context} ${k}`, ledger.aggregate(k), naiveMin(model, k));
          check(context, ledger.size, model.size);
          for (const w of ledger.watermarks()) {
            check(`${context} ${w.userId}`, { delivered: w.delivered, read: w.read }, model.get(w.userId));
            check(`${context} ${w.userId} read implies delivered`, w.read <= w.delivered, true);
          }
          if (model.size > 0 && ledger.aggregate('read') > before.read) moved++;
        }
        expect(moved).toBeGreaterThan(100); // the run really exercised aggregate moves
      },
    );
  });
});

describe('ReceiptLedger message info', () => {
  it('dates each message by the move that reached it, not by the latest move', () => {
    const ledger = new ReceiptLedger(['alice', 'bob']);
    ledger.advance('bob', 'read', 1, 1_000);
    ledger.advance('bob', 'delivered', 2, 2_000);
    expect(ledger.detail(1, 'alice')).toEqual([
      { userId: 'bob', delivered: true, read: true, deliveredAt: 1_000, readAt: 1_000 },
    ]);
    expect(ledger.detail(2, 'alice')).toEqual([
      { userId: 'bob', delivered: true, read: false, deliveredAt: 2_000, readAt: undefined },
    ]);
  });

  it('leaves out members who joined after the message', () => {
    const ledger = new ReceiptLedger(['alice', 'bob']);
    ledger.addMember('carol', 1, 5_000);
    expect(ledger.detail(1, 'alice').map((d) => d.userId)).toEqual(['bob']);
    expect(ledger.detail(2, 'alice').map((d) => d.userId)).toEqual(['bob', 'carol']);
  });

  it('refuses a seq that is not a non-negative integer and changes nothing', () => {
    const ledger = new ReceiptLedger(['alice', 'bob']);
    expect(() => ledger.advance('bob', 'read', Number.NaN, 1)).toThrow(ValidationError);
    expect(() => ledger.advance('bob', 'read', -1, 1)).toThrow(ValidationError);
    expect(ledger.statusOf(1)).toBe('sent');
  });
});
