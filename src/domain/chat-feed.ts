/**
 * The per-user chat list: threads ordered pinned first, then by latest activity, with exact unread counts, and
 * the archive beside it.
 *
 * @module
 */
import { MAX_THREAD_ID_LENGTH } from './chat-thread';
import { NotFoundError, ValidationError } from './errors';
import { IndexedHeap } from './indexed-heap';
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
  /**
   * How many distinct incoming seqs above the read watermark are recorded; at least 1 while the thread is
   * marked unread (`markedUnread`), so a marked thread shows as unread and counts in the totals.
   */
  readonly unread: number;
  /** Whether the thread is pinned to the top of the main list. */
  readonly pinned: boolean;
  /** Whether the thread is archived: out of the main list, listed by `top(k, { archived: true })`. */
  readonly archived: boolean;
  /** Whether the user marked the thread unread; reading it or `clearUnreadMark` clears the mark. */
  readonly markedUnread: boolean;
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

/** Which list {@link ChatFeed.top} reads. */
export interface FeedTopOptions {
  /** The archive instead of the main list (default false). */
  readonly archived?: boolean;
}

/** The choices a user made on their chat list, as thread ids: what a restart must keep (see `FeedRecord`). */
export interface FeedPreferences {
  readonly pinned: readonly string[];
  readonly archived: readonly string[];
  readonly markedUnread: readonly string[];
}

/** The mutable state behind one entry; never handed out. */
interface Slot {
  readonly threadId: string;
  title: string;
  lastActivityAt: number;
  lastSeq: number;
  preview: string;
  pinned: boolean;
  archived: boolean;
  markedUnread: boolean;
  readUpTo: number;
  /** Incoming seqs above `readUpTo` not read yet, ascending and distinct. */
  unreadSeqs: number[];
  /** The feed's tick at the last upsert or message: breaks activity ties, newer first. */
  tick: number;
  /** The slot's place in its heap (the main list's or the archive's), kept by the heap. */
  at: number;
}

/**
 * The per-user chat list you see when you open the app, kept in order as messages land.
 *
 * Pattern: Priority queue (indexed binary heap) — one heap for the main list and one for the archive, each slot
 * knowing its place, so one thread's update costs O(log n) and the first k threads of either list are read in
 * O(k log k) without sorting everything.
 *
 * Order: pinned threads first, then latest activity first, then the most recently updated first. A thread is
 * never both pinned and archived: archiving unpins it (as WhatsApp does), pinning brings it back from the
 * archive. A new message leaves an archived thread in the archive (WhatsApp's default, "keep chats archived").
 * A thread marked unread shows at least 1 unread until it is read, or the mark is cleared.
 *
 * @example
 * ```ts
 * import { ChatFeed } from 'chat-room'
 * const feed = new ChatFeed()
 * feed.upsert('general', { title: 'General', lastActivityAt: 1000 })
 * feed.recordMessage('bob', { seq: 1, at: 2000, preview: 'lunch?', incoming: true, title: 'Bob' })
 * feed.top(2).map((e) => `${e.title} (${e.unread})`) // ['Bob (1)', 'General (0)']
 * feed.markRead('bob', 1) // 0
 * feed.archive('general')
 * feed.top(2).map((e) => e.title) // ['Bob']
 * feed.top(2, { archived: true }).map((e) => e.title) // ['General']
 * ```
 */
export class ChatFeed implements Iterable<FeedEntry> {
  readonly #slots = new Map<string, Slot>();
  readonly #main = new IndexedHeap<Slot>(outranks);
  readonly #archive = new IndexedHeap<Slot>(outranks);
  #tick = 0;
  #totalUnread = 0;
  #unreadThreads = 0;

  /** The number of threads in the feed, archived ones included. */
  get size(): number {
    return this.#slots.size;
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
    const known = this.#slots.get(id);
    if (known === undefined) return snapshot(this.#insert(newSlot(id, title, at, ++this.#tick)));
    known.title = title;
    known.lastActivityAt = Math.max(known.lastActivityAt, at);
    known.tick = ++this.#tick;
    this.#heapOf(known).update(known);
    return snapshot(known);
  }

  /**
   * Records a message that landed in a thread, adding the thread when it is new. An archived thread stays in
   * the archive.
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
    const known = this.#slots.get(id);
    if (known === undefined && title === undefined) {
      const problem = `message.title is required: thread ${JSON.stringify(id)} is not in the feed yet`;
      throw new ValidationError(problem, { details: { field: 'message.title' } });
    }

    const slot = known ?? newSlot(id, title!, at, 0);
    const before = shownUnread(slot);
    if (title !== undefined) slot.title = title;
    slot.lastActivityAt = Math.max(slot.lastActivityAt, at);
    // `>=` so a re-delivered (or edited) latest message refreshes the preview.
    if (seq >= slot.lastSeq) {
      slot.lastSeq = seq;
      slot.preview = preview;
    }
    if (incoming && seq > slot.readUpTo) insertSorted(slot.unreadSeqs, seq);
    slot.tick = ++this.#tick;
    if (known === undefined) this.#insert(slot);
    else this.#heapOf(slot).update(slot);
    this.#count(before, shownUnread(slot));
    return snapshot(slot);
  }

  /**
   * Shows a changed message (edited, or deleted for everyone) when it is the thread's latest: its preview
   * follows. A change is not new activity: the order and the unread counts stay as they are.
   *
   * @param threadId - the thread's id
   * @param seq - the changed message's seq
   * @param preview - the text to show for it now
   * @returns a snapshot of the thread's entry, or `undefined` when the thread is not in the feed
   * @throws ValidationError when an argument is malformed; the feed is then unchanged
   */
  updatePreview(threadId: string, seq: number, preview: string): FeedEntry | undefined {
    const id = checkThreadId(threadId);
    const at = requireSeq(seq, 'seq');
    const text = requireString(preview, 'preview');
    const slot = this.#slots.get(id);
    if (slot === undefined) return undefined;
    if (at === slot.lastSeq) slot.preview = text;
    return snapshot(slot);
  }

  /**
   * Moves a thread's read watermark up to `upToSeq` (a lower or equal watermark leaves it), and clears the
   * thread's unread mark: the user has read it again.
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
    const before = shownUnread(slot);
    slot.markedUnread = false;
    if (upTo > slot.readUpTo) {
      slot.readUpTo = upTo;
      slot.unreadSeqs.splice(0, upperBound(slot.unreadSeqs, upTo));
    }
    this.#count(before, shownUnread(slot));
    return slot.unreadSeqs.length;
  }

  /**
   * Pins a thread above every unpinned one; an archived thread comes back to the main list.
   *
   * @param threadId - the thread's id
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when the thread is not in the feed
   */
  pin(threadId: string): FeedEntry {
    const slot = this.#require(checkThreadId(threadId));
    this.#move(slot, { pinned: true, archived: false });
    return snapshot(slot);
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
    const slot = this.#require(checkThreadId(threadId));
    this.#move(slot, { pinned: false, archived: slot.archived });
    return snapshot(slot);
  }

  /**
   * Moves a thread out of the main list into the archive, unpinning it. New messages leave it there.
   *
   * @param threadId - the thread's id
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when the thread is not in the feed
   */
  archive(threadId: string): FeedEntry {
    const slot = this.#require(checkThreadId(threadId));
    this.#move(slot, { pinned: false, archived: true });
    return snapshot(slot);
  }

  /**
   * Brings an archived thread back to the main list, at its place by activity.
   *
   * @param threadId - the thread's id
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when the thread is not in the feed
   */
  unarchive(threadId: string): FeedEntry {
    const slot = this.#require(checkThreadId(threadId));
    this.#move(slot, { pinned: slot.pinned, archived: false });
    return snapshot(slot);
  }

  /**
   * Marks a thread unread: it shows at least 1 unread until the user reads it again (`markRead`) or the mark is
   * cleared (`clearUnreadMark`). Its messages and read watermark are untouched.
   *
   * @param threadId - the thread's id
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when the thread is not in the feed
   */
  markUnread(threadId: string): FeedEntry {
    return this.#setMark(checkThreadId(threadId), true);
  }

  /**
   * Clears a thread's unread mark without reading anything: it shows its unread messages again, if any.
   *
   * @param threadId - the thread's id
   * @returns a snapshot of the thread's entry
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when the thread is not in the feed
   */
  clearUnreadMark(threadId: string): FeedEntry {
    return this.#setMark(checkThreadId(threadId), false);
  }

  /**
   * Removes a thread from the feed, with its unread messages and its mark.
   *
   * @param threadId - the thread's id
   * @returns whether the thread was in the feed
   * @throws ValidationError when the id is malformed
   */
  remove(threadId: string): boolean {
    const slot = this.#slots.get(checkThreadId(threadId));
    if (slot === undefined) return false;
    this.#count(shownUnread(slot), 0);
    this.#heapOf(slot).remove(slot);
    this.#slots.delete(slot.threadId);
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
    const slot = this.#slots.get(checkThreadId(threadId));
    return slot === undefined ? undefined : snapshot(slot);
  }

  /**
   * Tells whether a thread is in the feed (in the main list or the archive).
   *
   * @param threadId - the thread's id
   * @throws ValidationError when the id is malformed
   */
  has(threadId: string): boolean {
    return this.#slots.has(checkThreadId(threadId));
  }

  /**
   * Counts a thread's unread messages, as its entry's `unread` shows them (at least 1 while it is marked unread).
   *
   * @param threadId - the thread's id
   * @returns the count, 0 when the thread is not in the feed
   * @throws ValidationError when the id is malformed
   */
  unreadCount(threadId: string): number {
    const slot = this.#slots.get(checkThreadId(threadId));
    return slot === undefined ? 0 : shownUnread(slot);
  }

  /** Counts unread messages across every thread, archived ones included (a marked thread counts 1), in O(1). */
  totalUnread(): number {
    return this.#totalUnread;
  }

  /** Counts the threads that show as unread (unread messages, or the mark), archived ones included, in O(1). */
  unreadThreads(): number {
    return this.#unreadThreads;
  }

  /**
   * Returns the first `k` entries of the main list in feed order (all of them when `k` exceeds its size), or of
   * the archive with `{ archived: true }`, leaving the feed untouched. O(k log k), whatever the size.
   *
   * @param k - how many entries to return: a non-negative integer
   * @param options - `archived: true` to read the archive
   * @throws ValidationError when `k` is not a non-negative integer, or the options are malformed
   */
  top(k: number, options: FeedTopOptions = {}): FeedEntry[] {
    const count = requireSeq(k, 'k');
    const bag = requireObject(options, 'options');
    const archived = bag.archived === undefined ? false : requireBoolean(bag.archived, 'options.archived');
    return (archived ? this.#archive : this.#main).top(count).map(snapshot);
  }

  /**
   * The threads the user pinned, archived and marked unread: what a restart must put back.
   *
   * @returns the thread ids of each kind, in the order the threads entered the feed
   */
  preferences(): FeedPreferences {
    const pinned: string[] = [];
    const archived: string[] = [];
    const markedUnread: string[] = [];
    for (const slot of this.#slots.values()) {
      if (slot.pinned) pinned.push(slot.threadId);
      if (slot.archived) archived.push(slot.threadId);
      if (slot.markedUnread) markedUnread.push(slot.threadId);
    }
    return { pinned, archived, markedUnread };
  }

  /** Iterates over snapshots of every entry as they were when called: the main list, then the archive. */
  entries(): IterableIterator<FeedEntry> {
    const all = [...this.#main.top(this.#main.size), ...this.#archive.top(this.#archive.size)];
    return all.map(snapshot)[Symbol.iterator]();
  }

  /** Iterates over snapshots of every entry like {@link ChatFeed.entries}. */
  [Symbol.iterator](): IterableIterator<FeedEntry> {
    return this.entries();
  }

  #require(id: string): Slot {
    const slot = this.#slots.get(id);
    if (slot === undefined) {
      throw new NotFoundError(`thread ${JSON.stringify(id)} is not in the feed`, {
        details: { threadId: id },
      });
    }
    return slot;
  }

  #heapOf(slot: Slot): IndexedHeap<Slot> {
    return slot.archived ? this.#archive : this.#main;
  }

  #insert(slot: Slot): Slot {
    this.#slots.set(slot.threadId, slot);
    this.#heapOf(slot).push(slot);
    return slot;
  }

  /** Sets where a thread sits: pinned or not, and in which list; moves it between the heaps when that changes. */
  #move(slot: Slot, to: { pinned: boolean; archived: boolean }): void {
    if (slot.pinned === to.pinned && slot.archived === to.archived) return;
    if (slot.archived !== to.archived) {
      this.#heapOf(slot).remove(slot);
      slot.pinned = to.pinned;
      slot.archived = to.archived;
      this.#heapOf(slot).push(slot);
    } else {
      slot.pinned = to.pinned;
      this.#heapOf(slot).update(slot);
    }
  }

  #setMark(id: string, marked: boolean): FeedEntry {
    const slot = this.#require(id);
    const before = shownUnread(slot);
    slot.markedUnread = marked;
    this.#count(before, shownUnread(slot));
    return snapshot(slot);
  }

  /** Keeps the running totals as one thread's shown unread count goes from `before` to `after`. */
  #count(before: number, after: number): void {
    this.#totalUnread += after - before;
    this.#unreadThreads += Number(after > 0) - Number(before > 0);
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
    archived: false,
    markedUnread: false,
    readUpTo: -1,
    unreadSeqs: [],
    tick,
    at: -1,
  };
}

/** The unread count a thread shows: its unread messages, and at least 1 while it is marked unread. */
function shownUnread(s: Slot): number {
  return s.markedUnread ? Math.max(1, s.unreadSeqs.length) : s.unreadSeqs.length;
}

function snapshot(s: Slot): FeedEntry {
  return Object.freeze({
    threadId: s.threadId,
    title: s.title,
    lastActivityAt: s.lastActivityAt,
    lastSeq: s.lastSeq,
    preview: s.preview,
    unread: shownUnread(s),
    pinned: s.pinned,
    archived: s.archived,
    markedUnread: s.markedUnread,
    readUpTo: s.readUpTo,
  });
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
