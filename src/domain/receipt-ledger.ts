import type { MessageStatus } from './message';
import { requireSeq } from './validate';

/** How many watermark moves per member and kind the ledger remembers, to date receipts of older messages. */
const HISTORY = 256;

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
  /** The thread's seq when the member joined (0 for founders): they never received messages up to it. */
  readonly since?: number;
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

/** One move of a member's watermark: the seq it reached, and when (ms). */
interface Move {
  readonly seq: number;
  readonly at: number;
}

/**
 * A member's recent moves of one kind, oldest first: at least the last `HISTORY`, so the history stays bounded.
 * A message's receipt time is the first move reaching it.
 */
class Moves {
  readonly #moves: Move[] = [];

  constructor(seq: number, at: number) {
    this.push(seq, at);
  }

  push(seq: number, at: number): void {
    // Trimmed in batches (back to HISTORY moves once it holds twice as many), so a move stays O(1) amortised.
    if (this.#moves.length >= 2 * HISTORY) this.#moves.splice(0, this.#moves.length - HISTORY);
    this.#moves.push({ seq, at });
  }

  /** The time of the first remembered move that reached `seq` (binary search), if the history goes back that far. */
  reachedAt(seq: number): number | undefined {
    const moves = this.#moves;
    let lo = 0;
    let hi = moves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((moves[mid] as Move).seq >= seq) hi = mid;
      else lo = mid + 1;
    }
    // The oldest remembered move may stand for many older ones (a restored or trimmed history): no exact time.
    return lo === 0 && moves.length >= HISTORY ? undefined : moves[lo]?.at;
  }
}

interface Mark {
  delivered: number;
  read: number;
  deliveredAt: number;
  readAt: number;
  readonly since: number;
  readonly history: Record<ReceiptKind, Moves>;
}

function mark(delivered: number, read: number, deliveredAt: number, readAt: number, since: number): Mark {
  return {
    delivered,
    read,
    deliveredAt,
    readAt,
    since,
    history: { delivered: new Moves(delivered, deliveredAt), read: new Moves(read, readAt) },
  };
}

/** What a receipt of each kind moves: read implies delivered. */
const MOVED: Record<ReceiptKind, readonly ReceiptKind[]> = {
  delivered: Object.freeze(['delivered'] as const),
  read: Object.freeze(['delivered', 'read'] as const),
};

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
      if (typeof m === 'string') this.#marks.set(m, mark(0, 0, 0, 0, 0));
      else this.#marks.set(m.userId, mark(m.delivered, m.read, m.deliveredAt, m.readAt, m.since ?? 0));
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
    return m === undefined ? undefined : toWatermark(userId, m);
  }

  /** Every member's watermark. */
  watermarks(): Watermark[] {
    return [...this.#marks].map(([userId, m]) => toWatermark(userId, m));
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
   * @throws ValidationError when `seq` is not a non-negative integer
   */
  advance(userId: string, kind: ReceiptKind, seq: number, at: number): AggregateMove[] | undefined {
    requireSeq(seq, 'seq');
    const mark = this.#marks.get(userId);
    if (mark === undefined) return undefined;
    const moves: AggregateMove[] = [];
    for (const k of MOVED[kind]) {
      const old = mark[k];
      if (seq <= old) continue;
      const before = this.aggregate(k);
      mark[k] = seq;
      mark[k === 'read' ? 'readAt' : 'deliveredAt'] = at;
      mark.history[k].push(seq, at);
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
    requireSeq(baseline, 'baseline');
    if (this.#marks.has(userId)) return false;
    const empty = this.#marks.size === 0;
    const d = empty ? baseline : Math.max(baseline, this.#min.delivered.value);
    const r = empty ? baseline : Math.max(baseline, this.#min.read.value);
    this.#marks.set(userId, mark(d, r, at, at, baseline));
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
   * Per-member detail for one message (WhatsApp's "message info"): the members who were there when it was
   * sent, with when it reached each of them (`undefined` when that is older than the ledger remembers).
   *
   * @param seq - the message's seq
   * @param exclude - a member to leave out (the sender)
   */
  detail(seq: number, exclude?: string): ReceiptDetail[] {
    const out: ReceiptDetail[] = [];
    for (const [userId, m] of this.#marks) {
      if (userId === exclude || m.since >= seq) continue; // a later joiner never received it
      const delivered = m.delivered >= seq;
      const read = m.read >= seq;
      out.push({
        userId,
        delivered,
        read,
        deliveredAt: delivered ? m.history.delivered.reachedAt(seq) : undefined,
        readAt: read ? m.history.read.reachedAt(seq) : undefined,
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

function toWatermark(userId: string, m: Mark): Watermark {
  const { delivered, read, deliveredAt, readAt, since } = m;
  return { userId, delivered, read, deliveredAt, readAt, since };
}
