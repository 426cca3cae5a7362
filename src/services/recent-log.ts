import type { InboxEntry } from '../domain';

/** A position's value: not noted (yet), or noted with no id (an entry that is not a message from someone else). */
const OPEN = -1;
const NONE = 0;

/**
 * A run of positions from `first`: per position an id (a thread id, a sender id) as its index in the log's names
 * plus one, `NONE` or `OPEN`, and, for inboxes only, the message's seq. Both are typed arrays, outside the
 * JavaScript heap: a window fills with every message, and what the collector need not copy or mark costs the
 * server's pauses nothing.
 */
interface Run {
  first: number;
  length: number;
  values: Int32Array;
  seqs: Float64Array | undefined;
  /**
   * The oldest position still to be asked about, kept over the capacity: for an inbox, past the user's `delivered`
   * cursor; for a thread, past the lower of the two watermarks (delivered, read) announced so far.
   */
  wanted: number;
  /** A thread's announced watermarks, once any is. */
  announced?: { delivered: number; read: number };
}

/** Once the log has named this many ids per window it may keep, it forgets them all and starts afresh. */
const NAMES_PER_KEY = 4;

/** How far past its capacity a window grows to keep positions still wanted: a user whose acks trail far behind. */
const WANTED_FACTOR = 8;

/**
 * What this node appended lately, in compact form: for the newest entries of each user's inbox, which ones are
 * messages from someone else (thread and seq), and for the newest messages of each thread, their senders. A
 * `delivered` ack and the receipts it completes are then worked out without reading the store back.
 *
 * Only immutable facts are kept — what the entry at an `inboxSeq` is, who sent a thread's seq — so a window is
 * right whichever node wrote the rest. A question about a range a window does not hold in full gets `undefined`,
 * and the caller asks the store. Each window is a run of positions: one noted ahead of the run's end leaves the
 * positions in between open (another node wrote them, or this node's appends finished out of order, as a batch
 * of a durable store can), and a later note fills them; a range with an open position gets no answer. A jump of
 * more than `capacity` starts a new run. Windows are small (`capacity` to twice that; an inbox window also keeps
 * what its user has not acknowledged yet, up to eight times `capacity`), and the log keeps at most `maxKeys` of
 * each kind, dropping the oldest. Windows hold ids as indexes into the log's list of names; once that list reaches
 * four times `maxKeys`, the log forgets every window and name and starts afresh.
 *
 * @example
 * ```ts
 * const recent = new RecentLog()
 * recent.noteEntries(result.entries)
 * recent.highestReceived('bob', 10, 12) // per thread, the newest message from others at inboxSeq 11–12, or undefined
 * ```
 */
export class RecentLog {
  readonly #capacity: number;
  readonly #maxKeys: number;
  readonly #inboxes = new Map<string, Run>();
  readonly #threads = new Map<string, Run>();
  /** The ids the windows hold, by index; a window holds an index plus one. */
  readonly #names: string[] = [];
  readonly #nameIndex = new Map<string, number>();

  /**
   * Creates an empty log.
   *
   * @param capacity - how many of the newest positions each window keeps at least (it holds up to twice as many)
   * @param maxKeys - how many inboxes, and how many threads, it keeps windows for
   */
  constructor(capacity = 128, maxKeys = 10_000) {
    this.#capacity = capacity;
    this.#maxKeys = maxKeys;
  }

  /**
   * Records inbox entries this node appended.
   *
   * @param entries - the entries, each in its user's inbox
   */
  noteEntries(entries: readonly InboxEntry[]): void {
    for (const e of entries) this.noteEntry(e);
  }

  /**
   * Records one inbox entry this node appended.
   *
   * @param e - the entry, in its user's inbox
   */
  noteEntry(e: InboxEntry): void {
    const fromOther = e.type === 'message' && e.message.senderId !== e.userId;
    this.#note(
      this.#inboxes,
      e.userId,
      e.inboxSeq,
      fromOther ? e.message.threadId : null,
      fromOther ? e.message.seq : 0,
    );
  }

  /**
   * The user's `delivered` cursor reached `upTo`: no question will be asked about the positions up to it, so their
   * window may let them go. Until then it keeps the positions after the cursor (up to eight times its capacity),
   * however far the acks trail behind the appends.
   *
   * @param userId - the user
   * @param upTo - the cursor
   */
  acknowledged(userId: string, upTo: number): void {
    const run = this.#inboxes.get(userId);
    if (run !== undefined && (run.wanted === Number.POSITIVE_INFINITY || upTo + 1 > run.wanted)) {
      run.wanted = upTo + 1;
    }
  }

  /**
   * Receipts up to `upTo` of a thread were announced for one kind: no question will be asked about the positions
   * below both kinds' announced watermarks, so the window may let them go.
   *
   * @param threadId - the thread
   * @param kind - delivered or read
   * @param upTo - the watermark announced
   */
  announced(threadId: string, kind: 'delivered' | 'read', upTo: number): void {
    const run = this.#threads.get(threadId);
    if (run === undefined) return;
    const marks = (run.announced ??= { delivered: 0, read: 0 });
    if (upTo > marks[kind]) marks[kind] = upTo;
    run.wanted = Math.min(marks.delivered, marks.read) + 1;
  }

  /**
   * Records who sent a thread's message.
   *
   * @param threadId - the thread
   * @param seq - the message's seq
   * @param senderId - its sender
   */
  noteMessage(threadId: string, seq: number, senderId: string): void {
    this.#note(this.#threads, threadId, seq, senderId, undefined);
  }

  /**
   * Whether the user's inbox is known to hold an entry at `inboxSeq` (or a later one).
   *
   * @param userId - the user
   * @param inboxSeq - the position
   */
  reaches(userId: string, inboxSeq: number): boolean {
    const run = this.#inboxes.get(userId);
    return run !== undefined && inboxSeq < run.first + run.length;
  }

  /**
   * Per thread, the highest seq of the messages from someone else among the entries in (after, upTo] of a user's
   * inbox (what a `delivered` ack up to `upTo` confirms), if the window holds all of those entries.
   *
   * @param userId - the user
   * @param after - the exclusive lower bound
   * @param upTo - the inclusive upper bound
   */
  highestReceived(userId: string, after: number, upTo: number): Map<string, number> | undefined {
    const out = new Map<string, number>();
    if (upTo <= after) return out;
    const run = this.#inboxes.get(userId);
    if (!covers(run, after, upTo)) return undefined;
    for (let p = after + 1; p <= upTo; p++) {
      const value = run.values[p - run.first] as number;
      if (value === OPEN) return undefined; // not noted: the store knows
      if (value === NONE) continue;
      const threadId = this.#names[value - 1] as string;
      const seq = run.seqs?.[p - run.first] as number;
      if (seq > (out.get(threadId) ?? 0)) out.set(threadId, seq);
    }
    return out;
  }

  /**
   * The senders of a thread's messages in (after, upTo], if the window holds all of them.
   *
   * @param threadId - the thread
   * @param after - the exclusive lower bound
   * @param upTo - the inclusive upper bound
   */
  senders(threadId: string, after: number, upTo: number): Set<string> | undefined {
    if (upTo <= after) return new Set();
    const run = this.#threads.get(threadId);
    if (!covers(run, after, upTo)) return undefined;
    const out = new Set<string>();
    for (let p = after + 1; p <= upTo; p++) {
      const value = run.values[p - run.first] as number;
      if (value <= NONE) return undefined; // not noted: the store knows
      out.add(this.#names[value - 1] as string);
    }
    return out;
  }

  #note(
    runs: Map<string, Run>,
    key: string,
    position: number,
    id: string | null,
    seq: number | undefined,
  ): void {
    const value = id === null ? NONE : this.#name(id);
    let run = runs.get(key);
    const next = run === undefined ? -1 : run.first + run.length;
    if (run === undefined || position > next + this.#capacity) {
      if (run === undefined && runs.size >= this.#maxKeys) {
        runs.delete(runs.keys().next().value as string); // the oldest window
      }
      run = {
        first: position,
        length: 0,
        values: new Int32Array(16),
        seqs: seq === undefined ? undefined : new Float64Array(16),
        wanted: Number.POSITIVE_INFINITY,
      };
      runs.set(key, run);
    } else if (position < next) {
      // Fills a position left open, if it is one; what is known already, or older than the run, stays.
      const at = position - run.first;
      if (at >= 0 && run.values[at] === OPEN) {
        run.values[at] = value;
        if (seq !== undefined && run.seqs !== undefined) run.seqs[at] = seq;
      }
      return;
    }
    // Positions skipped on the way are left open.
    const length = position - run.first + 1;
    if (length > run.values.length) grow(run, length);
    run.values.fill(OPEN, run.length, length - 1);
    run.values[length - 1] = value;
    if (seq !== undefined && run.seqs !== undefined) run.seqs[length - 1] = seq;
    run.length = length;
    // Trimmed in batches (back to the capacity once it holds twice as many), so a note stays O(1) amortised. What
    // is still wanted stays, up to WANTED_FACTOR times the capacity.
    if (length < 2 * this.#capacity) return;
    const over = length - this.#capacity;
    const drop = length >= WANTED_FACTOR * this.#capacity ? over : Math.min(over, run.wanted - run.first);
    if (drop < this.#capacity / 2) return;
    run.values.copyWithin(0, drop, length);
    run.seqs?.copyWithin(0, drop, length);
    run.length -= drop;
    run.first += drop;
  }

  /** An id's index in `#names` plus one, added if new; past the limit, every window and name is forgotten first. */
  #name(id: string): number {
    const known = this.#nameIndex.get(id);
    if (known !== undefined) return known + 1;
    if (this.#names.length >= NAMES_PER_KEY * this.#maxKeys) {
      // The windows are a cache: a range they no longer hold is read from the store.
      this.#inboxes.clear();
      this.#threads.clear();
      this.#names.length = 0;
      this.#nameIndex.clear();
    }
    this.#nameIndex.set(id, this.#names.length);
    this.#names.push(id);
    return this.#names.length;
  }
}

/** Makes room in a run for `length` positions: its arrays double (or more), keeping what they hold. */
function grow(run: Run, length: number): void {
  let size = run.values.length;
  while (size < length) size *= 2;
  const values = new Int32Array(size);
  values.set(run.values.subarray(0, run.length));
  run.values = values;
  if (run.seqs !== undefined) {
    const seqs = new Float64Array(size);
    seqs.set(run.seqs.subarray(0, run.length));
    run.seqs = seqs;
  }
}

/** Whether a run holds every position in (after, upTo], a range that is not empty. */
function covers(run: Run | undefined, after: number, upTo: number): run is Run {
  return run !== undefined && after + 1 >= run.first && upTo < run.first + run.length;
}
