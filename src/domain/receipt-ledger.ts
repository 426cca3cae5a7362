import type { MessageStatus } from './message';

/** The two receipts a recipient sends: the message reached a device, the user saw it. */
export type ReceiptKind = 'delivered' | 'read';

/** How far one member of a thread has received and read it. */
export interface Watermark {
  readonly userId: string;
  /** Every message with seq ≤ this reached one of the member's devices. */
  readonly delivered: number;
  /** Every message with seq ≤ this was seen; never below `delivered`'s meaning: read implies delivered. */
  readonly read: number;
  /** When `delivered` last moved (ms), or 0. */
  readonly deliveredAt: number;
  /** When `read` last moved (ms), or 0. */
  readonly readAt: number;
}

/** How a thread-wide watermark moved: every message with seq in `(from, to]` reached the new status. */
export interface AggregateMove {
  readonly kind: ReceiptKind;
  readonly from: number;
  readonly to: number;
}

/** Per-member receipt detail for one message. */
export interface ReceiptDetail {
  readonly userId: string;
  readonly delivered: boolean;
  readonly read: boolean;
  readonly deliveredAt: number | undefined;
  readonly readAt: number | undefined;
}

interface Mark {
  delivered: number;
  read: number;
  deliveredAt: number;
  readAt: number;
}

/**
 * The receipt watermarks of one thread: per member, the highest seq delivered and read, and the thread-wide
 * aggregate (the lowest member's), which is how far every member has got. Watermarks only move forward and
 * read implies delivered, so receipts are idempotent and can arrive in any order. A member who joins starts
 * at the thread's current seq (they never received the history), so joining never pulls the aggregate back;
 * a member who leaves no longer holds it up.
 *
 * Keeping the minimum costs O(1) per receipt amortised: the ledger counts the members sitting at the minimum
 * and rescans only when the last of them moves.
 *
 * @example
 * ```ts
 * import { ReceiptLedger } from 'chat-room'
 * const ledger = new ReceiptLedger(['alice', 'bob'])
 * ledger.advance('alice', 'read', 3, Date.now())
 * ledger.advance('bob', 'delivered', 3, Date.now())
 * ledger.statusOf(3) // 'delivered'
 * ```
 */
export class ReceiptLedger {
  readonly #marks = new Map<string, Mark>();
  readonly #min: Record<ReceiptKind, { value: number; count: number }> = {
    delivered: { value: 0, count: 0 },
    read: { value: 0, count: 0 },
  };

  /**
   * Creates a ledger for the thread's current members.
   *
   * @param members - member ids, or saved watermarks to restore
   */
  constructor(members: Iterable<string | Watermark>) {
    for (const m of members) {
      const w = typeof m === 'string' ? { delivered: 0, read: 0, deliveredAt: 0, readAt: 0 } : { ...m };
      const userId = typeof m === 'string' ? m : m.userId;
      this.#marks.set(userId, {
        delivered: w.delivered,
        read: w.read,
        deliveredAt: w.deliveredAt,
        readAt: w.readAt,
      });
    }
    this.#rescan('delivered');
    this.#rescan('read');
  }

  /** How many members the ledger follows. */
  get size(): number {
    return this.#marks.size;
  }

  /**
   * Tells whether the ledger follows a member.
   *
   * @param userId - the member's id
   */
  has(userId: string): boolean {
    return this.#marks.has(userId);
  }

  /**
   * The thread-wide watermark: every message with seq ≤ this has the status for every member.
   * With no members left it is `Infinity`.
   *
   * @param kind - delivered or read
   */
  aggregate(kind: ReceiptKind): number {
    return this.#marks.size === 0 ? Number.POSITIVE_INFINITY : this.#min[kind].value;
  }

  /**
   * One member's watermark.
   *
   * @param userId - the member's id
   */
  watermark(userId: string): Watermark | undefined {
    const m = this.#marks.get(userId);
    return m === undefined ? undefined : { userId, ...m };
  }

  /** Every member's watermark. */
  watermarks(): Watermark[] {
    return [...this.#marks].map(([userId, m]) => ({ userId, ...m }));
  }

  /**
   * Moves a member's watermark forward; a lower or equal seq changes nothing (receipts are idempotent).
   * `read` moves `delivered` along with it.
   *
   * @param userId - the member
   * @param kind - what they acknowledge
   * @param seq - the highest seq acknowledged
   * @param at - when (ms)
   * @returns how the thread-wide aggregates moved (empty when they did not), or `undefined` if the user is not
   *   followed
   */
  advance(userId: string, kind: ReceiptKind, seq: number, at: number): AggregateMove[] | undefined {
    const mark = this.#marks.get(userId);
    if (mark === undefined) return undefined;
    const moves: AggregateMove[] = [];
    const kinds: ReceiptKind[] = kind === 'read' ? ['delivered', 'read'] : ['delivered'];
    for (const k of kinds) {
      const old = mark[k];
      if (seq <= old) continue;
      const before = this.aggregate(k);
      mark[k] = seq;
      mark[k === 'read' ? 'readAt' : 'deliveredAt'] = at;
      if (old === this.#min[k].value && --this.#min[k].count === 0) this.#rescan(k);
      const after = this.aggregate(k);
      if (after > before) moves.push({ kind: k, from: before, to: after });
    }
    return moves;
  }

  /**
   * Starts following a member who joined; they start at `baseline` (the thread's current seq), never below the
   * aggregate, so a join never pulls the aggregate back.
   *
   * @param userId - the new member
   * @param baseline - the seq they start at
   * @param at - when (ms)
   * @returns whether the member is new to the ledger
   */
  addMember(userId: string, baseline: number, at: number): boolean {
    if (this.#marks.has(userId)) return false;
    const empty = this.#marks.size === 0;
    const d = empty ? baseline : Math.max(baseline, this.#min.delivered.value);
    const r = empty ? baseline : Math.max(baseline, this.#min.read.value);
    this.#marks.set(userId, { delivered: d, read: r, deliveredAt: at, readAt: at });
    this.#rescan('delivered');
    this.#rescan('read');
    return true;
  }

  /**
   * Stops following a member who left; the aggregates may move forward as a result.
   *
   * @param userId - the member who left
   * @returns how the thread-wide aggregates moved
   */
  removeMember(userId: string): AggregateMove[] {
    if (!this.#marks.has(userId)) return [];
    const before = { delivered: this.aggregate('delivered'), read: this.aggregate('read') };
    this.#marks.delete(userId);
    const moves: AggregateMove[] = [];
    for (const k of ['delivered', 'read'] as const) {
      this.#rescan(k);
      const after = this.aggregate(k);
      if (after > before[k] && Number.isFinite(after)) moves.push({ kind: k, from: before[k], to: after });
    }
    return moves;
  }

  /**
   * The status of the message with this seq, as its sender sees it.
   *
   * @param seq - the message's seq
   */
  statusOf(seq: number): MessageStatus {
    if (this.aggregate('read') >= seq) return 'read';
    if (this.aggregate('delivered') >= seq) return 'delivered';
    return 'sent';
  }

  /**
   * Per-member detail for one message (WhatsApp's "message info").
   *
   * @param seq - the message's seq
   * @param exclude - a member to leave out (the sender)
   */
  detail(seq: number, exclude?: string): ReceiptDetail[] {
    const out: ReceiptDetail[] = [];
    for (const [userId, m] of this.#marks) {
      if (userId === exclude) continue;
      const delivered = m.delivered >= seq;
      const read = m.read >= seq;
      out.push({
        userId,
        delivered,
        read,
        deliveredAt: delivered ? m.deliveredAt : undefined,
        readAt: read ? m.readAt : undefined,
      });
    }
    return out;
  }

  #rescan(kind: ReceiptKind): void {
    let value = Number.POSITIVE_INFINITY;
    let count = 0;
    for (const m of this.#marks.values()) {
      if (m[kind] < value) {
        value = m[kind];
        count = 1;
      } else if (m[kind] === value) count++;
    }
    this.#min[kind] = { value: count === 0 ? 0 : value, count };
  }
}
