/**
 * The per-user chat list: threads ordered pinned first, then by latest activity, with exact unread counts.
 *
 * @module
 */
import { MAX_THREAD_ID_LENGTH } from './chat-thread';
import { NotFoundError, ValidationError } from './errors';
import {
  requireBoolean,
  requireKey,
  requireObject,
  requireSeq,
  requireString,
  requireTime,
} from './validate';

const MAX_TITLE_LENGTH = 200;

/**
 * A read-only snapshot of one thread in a {@link ChatFeed}; later changes to the feed do not alter it.
 *
 * @example
 * ```ts
 * import { ChatFeed } from 'chat-room'
 * const feed = new ChatFeed()
 * const entry = feed.recordMessage('t1', { seq: 1, at: 1000, preview: 'hi', incoming: true, title: 'Bob' })
 * console.log(entry.unread, entry.lastSeq, entry.readUpTo) // 1 1 -1
 * ```
 */
export interface FeedEntry {
  /** The thread's id. */
  readonly threadId: string;
  /** The title shown in the list (a contact's or a group's name). */
  readonly title: string;
  /** The latest activity time seen (epoch ms, or any clock ≥ 0); 0 for a thread added without one. */
  readonly lastActivityAt: number;
  /** The highest message seq recorded; -1 until the first message. */
  readonly lastSeq: number;
  /** The text of the message with the highest seq; empty until the first message. */
  readonly preview: string;
  /** How many distinct incoming seqs above the read watermark are recorded. */
  readonly unread: number;
  /** Whether the thread is pinned to the top of the list. */
  readonly pinned: boolean;
  /** The read watermark: every seq at or below it counts as read; -1 until the first `markRead`. */
  readonly readUpTo: number;
}

/** What {@link ChatFeed.upsert} takes to add or rename a thread. */
export interface FeedThreadInit {
  /** The title to show; at most 200 characters. */
  readonly title: string;
  /** The thread's latest activity time, when it is known (default 0); it never moves backwards. */
  readonly lastActivityAt?: number;
}

/** A message that landed in a thread, as {@link ChatFeed.recordMessage} takes it. */
export interface FeedMessage {
  /** The message's sequence number within its thread. */
  readonly seq: number;
  /** When the message was sent (epoch ms, or any clock ≥ 0). */
  readonly at: number;
  /** The text to show under the title when this is the thread's latest message. */
  readonly preview: string;
  /** Whether someone else sent it (it then counts as unread until read). */
  readonly incoming: boolean;
  /** The thread's title: required when the thread is not in the feed yet, a rename otherwise. */
  readonly title?: string;
}

/** The mutable state behind one entry; never handed out. */
interface Slot {
  readonly threadId: string;
  title: string;
  lastActivityAt: number;
  lastSeq: number;
  preview: string;
  pinned: boolean;
  readUpTo: number;
  /** Incoming seqs above `readUpTo` not read yet, ascending and distinct. */
  unreadSeqs: number[];
  /** The feed's tick at the last upsert or message: breaks activity ties, newer first. */
  tick: number;
}

/**
 * The per-user chat list you see when you open the app, kept in order as messages land.
 *
 * Pattern: Priority queue (indexed binary heap) — a heap plus a map from thread id to heap slot, so one
 * thread's update costs O(log n) and the first k threads are read in O(k log k) without sorting everything.
 *
 * Order: pinned threads first, then latest activity first, then the most recently updated first.
 *
 * @example
 * ```ts
 * import { ChatFeed } from 'chat-room'
 * const feed = new ChatFeed()
 * feed.upsert('general', { title: 'General', lastActivityAt: 1000 })
 * feed.recordMessage('bob', { seq: 1, at: 2000, preview: 'lunch?', incoming: true, title: 'Bob' })
 * feed.top(2).map((e) => `${e.title} (${e.unread})`) // ['Bob (1)', 'General (0)']
 * feed.markRead('bob', 1) // 0
 * ```
 */
export class ChatFeed implements Iterable<FeedEntry> {
  readonly #heap: Slot[] = [];
  readonly #index = new Map<string, number>();
  #tick = 0;
  #totalUnread = 0;
  #unreadThreads = 0;

  /** The number of threads in the feed. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Adds a thread, or renames it (and raises its activity time) when it is already in the feed.
   *
   * @param threadId - the thread's id: a non-empty string of at most `MAX_THREAD_ID_LENGTH` characters
   * @param init - the title, and optionally the latest activity time
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when an argument is malformed; the feed is then unchanged
   */
  upsert(threadId: string, init: FeedThreadInit): FeedEntry {
    const id = checkThreadId(threadId);
    const bag = requireObject(init, 'init');
    const title = checkTitle(bag.title, 'init.title');
    const at = bag.lastActivityAt === undefined ? 0 : requireTime(bag.lastActivityAt, 'init.lastActivityAt');
    const i = this.#index.get(id);
    if (i === undefined) return snapshot(this.#insert(newSlot(id, title, at, ++this.#tick)));
    const slot = this.#heap[i]!;
    slot.title = title;
    slot.lastActivityAt = Math.max(slot.lastActivityAt, at);
    slot.tick = ++this.#tick;
    this.#fix(i);
    return snapshot(slot);
  }

  /**
   * Records a message that landed in a thread, adding the thread when it is new.
   *
   * Recording the same seq again is harmless: it counts as unread at most once, and never when it is at
   * or below the read watermark.
   *
   * @param threadId - the thread's id: a non-empty string of at most `MAX_THREAD_ID_LENGTH` characters
   * @param m - the message: its seq, time, preview text, direction, and the title for a new thread
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when an argument is malformed, or the thread is new and `m.title` is missing;
   *   the feed is then unchanged
   */
  recordMessage(threadId: string, m: FeedMessage): FeedEntry {
    const id = checkThreadId(threadId);
    const bag = requireObject(m, 'message');
    const seq = requireSeq(bag.seq, 'message.seq');
    const at = requireTime(bag.at, 'message.at');
    const preview = requireString(bag.preview, 'message.preview');
    const incoming = requireBoolean(bag.incoming, 'message.incoming');
    const title = bag.title === undefined ? undefined : checkTitle(bag.title, 'message.title');
    const i = this.#index.get(id);
    if (i === undefined && title === undefined) {
      const problem = `message.title is required: thread ${JSON.stringify(id)} is not in the feed yet`;
      throw new ValidationError(problem, { details: { field: 'message.title' } });
    }

    const slot = i === undefined ? newSlot(id, title!, at, 0) : this.#heap[i]!;
    if (title !== undefined) slot.title = title;
    slot.lastActivityAt = Math.max(slot.lastActivityAt, at);
    // `>=` so a re-delivered (or edited) latest message refreshes the preview.
    if (seq >= slot.lastSeq) {
      slot.lastSeq = seq;
      slot.preview = preview;
    }
    if (incoming && seq > slot.readUpTo && insertSorted(slot.unreadSeqs, seq)) {
      this.#totalUnread += 1;
      if (slot.unreadSeqs.length === 1) this.#unreadThreads += 1;
    }
    slot.tick = ++this.#tick;
    if (i === undefined) this.#insert(slot);
    else this.#fix(i);
    return snapshot(slot);
  }

  /**
   * Moves a thread's read watermark up to `upToSeq`; a lower or equal watermark changes nothing.
   *
   * @param threadId - the thread's id
   * @param upToSeq - the highest seq the user has read
   * @returns how many unread messages remain in the thread
   * @throws ValidationError when an argument is malformed
   * @throws NotFoundError when the thread is not in the feed
   */
  markRead(threadId: string, upToSeq: number): number {
    const id = checkThreadId(threadId);
    const upTo = requireSeq(upToSeq, 'upToSeq');
    const slot = this.#require(id);
    if (upTo <= slot.readUpTo) return slot.unreadSeqs.length;
    slot.readUpTo = upTo;
    const cut = upperBound(slot.unreadSeqs, upTo);
    if (cut > 0) {
      slot.unreadSeqs.splice(0, cut);
      this.#totalUnread -= cut;
      if (slot.unreadSeqs.length === 0) this.#unreadThreads -= 1;
    }
    return slot.unreadSeqs.length;
  }

  /**
   * Pins a thread above every unpinned one.
   *
   * @param threadId - the thread's id
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when the thread is not in the feed
   */
  pin(threadId: string): FeedEntry {
    return this.#setPinned(threadId, true);
  }

  /**
   * Unpins a thread, returning it to its place by activity.
   *
   * @param threadId - the thread's id
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when the thread is not in the feed
   */
  unpin(threadId: string): FeedEntry {
    return this.#setPinned(threadId, false);
  }

  /**
   * Removes a thread from the feed, with its unread messages.
   *
   * @param threadId - the thread's id
   * @returns whether the thread was in the feed
   * @throws ValidationError when the id is malformed
   */
  remove(threadId: string): boolean {
    const id = checkThreadId(threadId);
    const i = this.#index.get(id);
    if (i === undefined) return false;
    const slot = this.#heap[i]!;
    this.#totalUnread -= slot.unreadSeqs.length;
    if (slot.unreadSeqs.length > 0) this.#unreadThreads -= 1;
    this.#index.delete(id);
    const last = this.#heap.pop()!;
    if (i < this.#heap.length) {
      this.#heap[i] = last;
      this.#index.set(last.threadId, i);
      this.#fix(i);
    }
    return true;
  }

  /**
   * Returns a snapshot of one thread's entry.
   *
   * @param threadId - the thread's id
   * @returns the entry, or `undefined` when the thread is not in the feed
   * @throws ValidationError when the id is malformed
   */
  get(threadId: string): FeedEntry | undefined {
    const i = this.#index.get(checkThreadId(threadId));
    return i === undefined ? undefined : snapshot(this.#heap[i]!);
  }

  /**
   * Tells whether a thread is in the feed.
   *
   * @param threadId - the thread's id
   * @throws ValidationError when the id is malformed
   */
  has(threadId: string): boolean {
    return this.#index.has(checkThreadId(threadId));
  }

  /**
   * Counts a thread's unread messages.
   *
   * @param threadId - the thread's id
   * @returns the count, 0 when the thread is not in the feed
   * @throws ValidationError when the id is malformed
   */
  unreadCount(threadId: string): number {
    const i = this.#index.get(checkThreadId(threadId));
    return i === undefined ? 0 : this.#heap[i]!.unreadSeqs.length;
  }

  /** Counts unread messages across every thread, in O(1). */
  totalUnread(): number {
    return this.#totalUnread;
  }

  /** Counts the threads that have at least one unread message, in O(1). */
  unreadThreads(): number {
    return this.#unreadThreads;
  }

  /**
   * Returns the first `k` entries in feed order (all of them when `k` exceeds the size), leaving the feed
   * untouched.
   *
   * It walks the heap best-first with a small heap of candidate slots: O(k log k), whatever the size.
   *
   * @param k - how many entries to return: a non-negative integer
   * @throws ValidationError when `k` is not a non-negative integer
   */
  top(k: number): FeedEntry[] {
    const heap = this.#heap;
    const count = Math.min(requireSeq(k, 'k'), heap.length);
    const out: FeedEntry[] = [];
    if (count === 0) return out;
    const candidates = [0];
    while (out.length < count) {
      const best = popCandidate(candidates, heap);
      out.push(snapshot(heap[best]!));
      const left = 2 * best + 1;
      if (left < heap.length) pushCandidate(candidates, heap, left);
      if (left + 1 < heap.length) pushCandidate(candidates, heap, left + 1);
    }
    return out;
  }

  /** Iterates over snapshots of every entry in feed order, as they were when called. */
  entries(): IterableIterator<FeedEntry> {
    return this.top(this.#heap.length)[Symbol.iterator]();
  }

  /** Iterates over snapshots of every entry in feed order, like {@link ChatFeed.entries}. */
  [Symbol.iterator](): IterableIterator<FeedEntry> {
    return this.entries();
  }

  #require(id: string): Slot {
    const i = this.#index.get(id);
    if (i === undefined) {
      throw new NotFoundError(`thread ${JSON.stringify(id)} is not in the feed`, {
        details: { threadId: id },
      });
    }
    return this.#heap[i]!;
  }

  #setPinned(threadId: string, pinned: boolean): FeedEntry {
    const id = checkThreadId(threadId);
    const slot = this.#require(id);
    if (slot.pinned !== pinned) {
      slot.pinned = pinned;
      this.#fix(this.#index.get(id)!);
    }
    return snapshot(slot);
  }

  #insert(slot: Slot): Slot {
    this.#heap.push(slot);
    this.#siftUp(this.#heap.length - 1);
    return slot;
  }

  /** Restores heap order after the slot at `i` changed its key in either direction. */
  #fix(i: number): void {
    if (!this.#siftUp(i)) this.#siftDown(i);
  }

  /** Moves the slot at `i` up while it outranks its parent; returns whether it moved. */
  #siftUp(i: number): boolean {
    const heap = this.#heap;
    const slot = heap[i]!;
    let hole = i;
    while (hole > 0) {
      const parentAt = (hole - 1) >> 1;
      const parent = heap[parentAt]!;
      if (!outranks(slot, parent)) break;
      heap[hole] = parent;
      this.#index.set(parent.threadId, hole);
      hole = parentAt;
    }
    heap[hole] = slot;
    this.#index.set(slot.threadId, hole);
    return hole !== i;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const slot = heap[i]!;
    const n = heap.length;
    let hole = i;
    for (;;) {
      let childAt = 2 * hole + 1;
      if (childAt >= n) break;
      if (childAt + 1 < n && outranks(heap[childAt + 1]!, heap[childAt]!)) childAt += 1;
      const child = heap[childAt]!;
      if (!outranks(child, slot)) break;
      heap[hole] = child;
      this.#index.set(child.threadId, hole);
      hole = childAt;
    }
    heap[hole] = slot;
    this.#index.set(slot.threadId, hole);
  }
}

/** Feed order: pinned first, then later activity, then the later tick (ticks are unique, so order is total). */
function outranks(a: Slot, b: Slot): boolean {
  if (a.pinned !== b.pinned) return a.pinned;
  if (a.lastActivityAt !== b.lastActivityAt) return a.lastActivityAt > b.lastActivityAt;
  return a.tick > b.tick;
}

function newSlot(threadId: string, title: string, lastActivityAt: number, tick: number): Slot {
  return {
    threadId,
    title,
    lastActivityAt,
    lastSeq: -1,
    preview: '',
    pinned: false,
    readUpTo: -1,
    unreadSeqs: [],
    tick,
  };
}

function snapshot(s: Slot): FeedEntry {
  return Object.freeze({
    threadId: s.threadId,
    title: s.title,
    lastActivityAt: s.lastActivityAt,
    lastSeq: s.lastSeq,
    preview: s.preview,
    unread: s.unreadSeqs.length,
    pinned: s.pinned,
    readUpTo: s.readUpTo,
  });
}

// The candidate heap of `top`: heap indices, ordered by the slots they point at.

function pushCandidate(candidates: number[], heap: readonly Slot[], at: number): void {
  let hole = candidates.length;
  candidates.push(at);
  while (hole > 0) {
    const parentAt = (hole - 1) >> 1;
    const parent = candidates[parentAt]!;
    if (!outranks(heap[at]!, heap[parent]!)) break;
    candidates[hole] = parent;
    hole = parentAt;
  }
  candidates[hole] = at;
}

function popCandidate(candidates: number[], heap: readonly Slot[]): number {
  const best = candidates[0]!;
  const last = candidates.pop()!;
  const n = candidates.length;
  if (n === 0) return best;
  let hole = 0;
  for (;;) {
    let childAt = 2 * hole + 1;
    if (childAt >= n) break;
    if (childAt + 1 < n && outranks(heap[candidates[childAt + 1]!]!, heap[candidates[childAt]!]!))
      childAt += 1;
    const child = candidates[childAt]!;
    if (!outranks(heap[child]!, heap[last]!)) break;
    candidates[hole] = child;
    hole = childAt;
  }
  candidates[hole] = last;
  return best;
}

/** Inserts `value` into an ascending array of distinct numbers; returns false when it was already there. */
function insertSorted(sorted: number[], value: number): boolean {
  const n = sorted.length;
  if (n === 0 || value > sorted[n - 1]!) {
    sorted.push(value);
    return true;
  }
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  if (sorted[lo] === value) return false;
  sorted.splice(lo, 0, value);
  return true;
}

/** Counts the elements of an ascending array that are ≤ `value`. */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Input checks run before any change, so a refused call leaves the feed as it was.

function checkThreadId(value: unknown): string {
  return requireKey(value, 'threadId', MAX_THREAD_ID_LENGTH);
}

function checkTitle(value: unknown, field: string): string {
  return requireString(value, field, MAX_TITLE_LENGTH);
}
