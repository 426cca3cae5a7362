/**
 * Contact search: a case- and accent-insensitive prefix index over names and handles.
 *
 * @module
 */
import type { UserProfile } from '../domain';
import {
  ConflictError,
  MAX_NAME_LENGTH,
  NotFoundError,
  ValidationError,
  normalizeForSearch,
  requireId,
  requireObject,
  requirePositiveInt,
  requireText,
  searchTokens,
} from '../domain';

/** How many matches {@link ContactDirectory.search} returns when no limit is given. */
export const DEFAULT_CONTACT_SEARCH_LIMIT = 20;
/** The largest limit {@link ContactDirectory.search} accepts. */
export const MAX_CONTACT_SEARCH_LIMIT = 100;
/** The longest query {@link ContactDirectory.search} accepts, in UTF-16 units after trimming. */
export const MAX_CONTACT_QUERY_LENGTH = 100;

/** How a user matched a query: every query word is a whole token (`exact`), or some word only begins one. */
export type ContactMatchRank = 'exact' | 'prefix';

/**
 * One search result.
 *
 * @example
 * ```ts
 * import { ContactDirectory } from 'chat-room'
 * const directory = new ContactDirectory()
 * directory.add({ id: 'jo', name: 'Jo' })
 * directory.search('jo') // [{ id: 'jo', name: 'Jo', rank: 'exact' }]
 * ```
 */
export interface ContactMatch {
  /** The user's id (handle). */
  readonly id: string;
  /** The display name, as added (trimmed). */
  readonly name: string;
  /** Whether every query word equals a whole token of the user, or some word only begins one. */
  readonly rank: ContactMatchRank;
}

/** What {@link ContactDirectory.search} takes besides the query. */
export interface ContactSearchOptions {
  /** How many matches at most: an integer from 1 to 100 (default 20). */
  readonly limit?: number;
  /** Only these ids may match (a user's contacts); ids not in the directory are ignored. */
  readonly within?: ReadonlySet<string>;
}

const EXACT = 0;
const PREFIX = 1;
const NO_MATCH = -1;
/** The tail is merged into the main run once it holds more than this many entries, or 1/64 of the run. */
const MIN_TAIL_TO_MERGE = 1024;
/** A run range this short is walked entry by entry; a longer one is visited best user first. */
const MAX_LINEAR_WALK = 512;

/**
 * The users people can find by typing: a prefix of any word of a name or of a handle, in any case, with or without
 * accents ("jo" finds "José Álvarez" and "Mary Jones"; "maryj" and "99" find `maryj_99`).
 *
 * Pattern: sorted index with binary search, log-structured — a large sorted run of `(token, user)` entries plus a
 * small unsorted tail merged in lazily, so a prefix is two binary searches away while adds stay O(1); a
 * min-segment tree over the run, ordered by result rank, hands out a long range best user first, so a one-letter
 * query over a million users stops after the few it returns instead of walking every match.
 *
 * Results rank exact matches (every query word equals a whole word of the name, the handle or a part of the
 * handle) before prefix matches; within a rank, shorter names first, then by folded name, then by id. Each user
 * appears at most once. A rename or removal leaves the old entries in place, skipped on read and dropped at the
 * next merge.
 *
 * @example
 * ```ts
 * import { ContactDirectory } from 'chat-room'
 * const directory = new ContactDirectory()
 * directory.add({ id: 'jose', name: 'José Álvarez' })
 * directory.add({ id: 'maryj_99', name: 'Mary Jones' })
 * directory.add({ id: 'ajoke', name: 'Ajoke Bello' })
 * directory.search('jo').map((m) => m.name) // ['Mary Jones', 'José Álvarez']
 * directory.search('jo', { within: new Set(['jose']) }).map((m) => m.id) // ['jose']
 * ```
 */
export class ContactDirectory {
  readonly #slotOf = new Map<string, number>();
  // One slot per user version: a rename takes a new slot, so the order of a slot never changes while entries
  // point at it. A dead slot (no tokens) keeps its id, key and score until the next merge frees it.
  readonly #ids: string[] = [];
  readonly #names: string[] = [];
  /** The folded name: the sort key within a rank. */
  readonly #keys: string[] = [];
  readonly #tokens: (readonly string[] | undefined)[] = [];
  /** (key length, first two key units) as one number: settles most comparisons without reading strings. */
  #scores = new Float64Array(64);
  #free: number[] = [];
  #dead: number[] = [];

  // The run: entries by token, as parallel arrays, and a min-segment tree of entry indices over it.
  #runTokens: string[] = [];
  #runSlots = new Int32Array(0);
  #tree = new Int32Array(0);
  // The tail: entries added since the last merge, sorted only when a search needs it.
  #tailTokens: string[] = [];
  #tailSlots: number[] = [];
  #tailSorted = true;
  /** How many entries point at dead slots. */
  #stale = 0;

  // Per-search dedupe without allocating: a slot is seen in this search when its stamp equals the epoch.
  #seen = new Uint32Array(64);
  #epoch = 0;

  /** The order within a rank: shorter folded name, then folded name, then id. */
  readonly #order = (a: number, b: number): number => {
    const d = this.#scores[a]! - this.#scores[b]!;
    if (d !== 0) return d;
    const x = this.#keys[a]!;
    const y = this.#keys[b]!;
    if (x !== y) return x < y ? -1 : 1;
    const i = this.#ids[a]!;
    const j = this.#ids[b]!;
    return i < j ? -1 : i > j ? 1 : 0;
  };

  /**
   * Adds a user to the directory.
   *
   * @param profile - the id (handle) and display name; a {@link User} will do
   * @throws ValidationError when the id or the name is malformed
   * @throws ConflictError when the id is already in the directory
   */
  add(profile: UserProfile): void {
    const p = requireObject(profile, 'contact');
    const id = requireId(p.id, 'contact id');
    const name = requireText(p.name, 'contact name', MAX_NAME_LENGTH).trim();
    if (this.#slotOf.has(id)) {
      throw new ConflictError(`${id} is already in the contact directory`, { details: { userId: id } });
    }
    this.#place(id, name);
  }

  /**
   * Changes a user's display name; searches find the new name and no longer the old one.
   *
   * @param id - the user's id
   * @param name - the new display name
   * @throws ValidationError when the id or the name is malformed
   * @throws NotFoundError when the id is not in the directory
   */
  rename(id: string, name: string): void {
    requireId(id, 'contact id');
    const trimmed = requireText(name, 'contact name', MAX_NAME_LENGTH).trim();
    const slot = this.#slotOf.get(id);
    if (slot === undefined) {
      throw new NotFoundError(`${id} is not in the contact directory`, { details: { userId: id } });
    }
    if (this.#names[slot] === trimmed) return;
    this.#kill(slot);
    this.#place(id, trimmed);
  }

  /**
   * Removes a user from the directory.
   *
   * @param id - the user's id
   * @returns whether the user was in it
   * @throws ValidationError when the id is malformed
   */
  remove(id: string): boolean {
    requireId(id, 'contact id');
    const slot = this.#slotOf.get(id);
    if (slot === undefined) return false;
    this.#kill(slot);
    this.#slotOf.delete(id);
    return true;
  }

  /**
   * Tells whether a user is in the directory.
   *
   * @param id - the user's id
   */
  has(id: string): boolean {
    return this.#slotOf.has(id);
  }

  /** How many users are in the directory. */
  get size(): number {
    return this.#slotOf.size;
  }

  /**
   * Finds the users whose tokens begin with every word of the query, best first.
   *
   * A query that folds to nothing (only accents or invisible characters) matches no one.
   *
   * @param query - what the user typed: 1–100 characters once trimmed; several words must all match
   * @param options - `limit` (1–100, default 20) and `within` (restrict to these ids)
   * @throws ValidationError when the query is not a string, is blank or too long, or an option is malformed
   * @example
   * ```ts
   * import { ContactDirectory } from 'chat-room'
   * const directory = new ContactDirectory()
   * directory.add({ id: 'maryj_99', name: 'Mary Jones' })
   * directory.search('MARY jo', { limit: 5 }) // [{ id: 'maryj_99', name: 'Mary Jones', rank: 'prefix' }]
   * ```
   */
  search(query: string, options?: ContactSearchOptions): ContactMatch[] {
    const words = parseQuery(query);
    const { limit, within } = parseOptions(options);
    if (words.length === 0) return [];
    this.#prepare();

    // Drive the search with the most selective word; a candidate is then checked against all the words.
    let word = '';
    let candidates = Infinity;
    for (const w of words) {
      const count = rangeSize(this.#runTokens, w) + rangeSize(this.#tailTokens, w);
      if (count < candidates) [word, candidates] = [w, count];
    }

    const best = new TopMatches(limit, this.#order);
    if (within !== undefined && within.size <= candidates) {
      // Fewer contacts than index entries to visit: check the contacts' tokens directly.
      for (const id of within) {
        const slot = this.#slotOf.get(id);
        if (slot !== undefined) best.offer(slot, this.#match(slot, words));
      }
    } else {
      const epoch = this.#nextEpoch();
      // A pass offers the users that rank `pass` or lower; the exact pass leaves prefix matches for the next one.
      const visit = (slot: number, pass: number): void => {
        if (this.#seen[slot] === epoch || this.#tokens[slot] === undefined) return;
        let rank = words.length === 1 ? pass : this.#match(slot, words);
        if (within !== undefined && !within.has(this.#ids[slot]!)) rank = NO_MATCH;
        if (rank === PREFIX && pass === EXACT) return;
        this.#seen[slot] = epoch;
        best.offer(slot, rank);
      };
      // Entries whose token is the word itself come first in its range: the only ones an exact match can have.
      const [lo, hi] = prefixRange(this.#runTokens, word);
      const mid = upperBound(this.#runTokens, word, lo, hi);
      const [tailLo, tailHi] = prefixRange(this.#tailTokens, word);
      const tailMid = upperBound(this.#tailTokens, word, tailLo, tailHi);
      for (const pass of [EXACT, PREFIX]) {
        const end = pass === EXACT ? tailMid : tailHi;
        for (let i = tailLo; i < end; i++) visit(this.#tailSlots[i]!, pass);
        this.#visitInOrder(lo, pass === EXACT ? mid : hi, pass, best, visit);
      }
    }
    return best.slots.map((slot, i) => ({
      id: this.#ids[slot]!,
      name: this.#names[slot]!,
      rank: best.ranks[i] === EXACT ? 'exact' : 'prefix',
    }));
  }

  /** Whether a user matches: every word begins one of its tokens; exact when every word equals one. */
  #match(slot: number, words: readonly string[]): number {
    const tokens = this.#tokens[slot];
    if (tokens === undefined) return NO_MATCH;
    let rank = EXACT;
    for (const word of words) {
      let found = NO_MATCH;
      for (const token of tokens) {
        if (token.startsWith(word)) {
          found = PREFIX;
          if (token.length === word.length) {
            found = EXACT;
            break;
          }
        }
      }
      if (found === NO_MATCH) return NO_MATCH;
      if (found === PREFIX) rank = PREFIX;
    }
    return rank;
  }

  /**
   * Visits the run's entries in [lo, hi) best user first, stopping once no further user could make the list: the
   * range is split into segment-tree nodes, kept in a heap by the best user below each, and the best node opened.
   */
  #visitInOrder(
    lo: number,
    hi: number,
    pass: number,
    best: TopMatches,
    visit: (slot: number, pass: number) => void,
  ): void {
    const slots = this.#runSlots;
    if (hi - lo <= MAX_LINEAR_WALK) {
      for (let i = lo; i < hi; i++) visit(slots[i]!, pass);
      return;
    }
    const tree = this.#tree;
    const n = slots.length;
    const slotOf = (node: number): number => slots[tree[node]!]!;
    const heap = new NodeHeap((a, b) => this.#order(slotOf(a), slotOf(b)));
    for (let l = lo + n, r = hi + n; l < r; l >>= 1, r >>= 1) {
      if (l & 1) heap.push(l++);
      if (r & 1) heap.push(--r);
    }
    while (heap.size > 0) {
      const node = heap.top();
      if (best.full && best.compare(slotOf(node), pass) <= 0) return;
      heap.pop();
      if (node >= n) {
        visit(slotOf(node), pass);
      } else {
        heap.push(2 * node);
        heap.push(2 * node + 1);
      }
    }
  }

  #place(id: string, name: string): void {
    const slot = this.#free.pop() ?? this.#ids.length;
    const key = normalizeForSearch(name);
    // The key is already folded, and folding twice changes nothing: this saves folding the name again.
    const tokens = searchTokens(key, id).filter((token) => !token.includes(' '));
    this.#ids[slot] = id;
    this.#names[slot] = name;
    this.#keys[slot] = key;
    this.#tokens[slot] = tokens;
    if (slot >= this.#scores.length) {
      const scores = new Float64Array(this.#scores.length * 2);
      scores.set(this.#scores);
      this.#scores = scores;
    }
    this.#scores[slot] = scoreOf(key);
    this.#slotOf.set(id, slot);
    for (const token of tokens) {
      this.#tailTokens.push(token);
      this.#tailSlots.push(slot);
    }
    this.#tailSorted = false;
  }

  #kill(slot: number): void {
    this.#stale += this.#tokens[slot]?.length ?? 0;
    this.#tokens[slot] = undefined;
    this.#names[slot] = '';
    this.#dead.push(slot);
  }

  /** Before a search: merge a large tail or a stale run, else sort the tail if needed. */
  #prepare(): void {
    const tail = this.#tailTokens.length;
    if (
      tail > Math.max(MIN_TAIL_TO_MERGE, this.#runTokens.length >> 6) ||
      this.#stale * 2 > tail + this.#runTokens.length
    ) {
      this.#merge();
    } else if (!this.#tailSorted) {
      [this.#tailTokens, this.#tailSlots] = sortByToken(this.#tailTokens, this.#tailSlots);
      this.#tailSorted = true;
    }
    if (this.#seen.length < this.#ids.length) {
      const seen = new Uint32Array(this.#ids.length * 2);
      seen.set(this.#seen);
      this.#seen = seen;
    }
  }

  /** Merges the tail into the run in one linear pass, drops entries of dead slots and rebuilds the tree. */
  #merge(): void {
    const [bTokens, bSlots] = this.#tailSorted
      ? [this.#tailTokens, this.#tailSlots]
      : sortByToken(this.#tailTokens, this.#tailSlots);
    const aTokens = this.#runTokens;
    const aSlots = this.#runSlots;
    const live = this.#tokens;
    const outTokens: string[] = [];
    const outSlots = new Int32Array(aTokens.length + bTokens.length);
    let n = 0;
    let i = 0;
    let j = 0;
    while (i < aTokens.length || j < bTokens.length) {
      let token: string;
      let slot: number;
      if (j >= bTokens.length || (i < aTokens.length && aTokens[i]! <= bTokens[j]!)) {
        token = aTokens[i]!;
        slot = aSlots[i++]!;
      } else {
        token = bTokens[j]!;
        slot = bSlots[j++]!;
      }
      if (live[slot] === undefined) continue;
      outTokens.push(token);
      outSlots[n++] = slot;
    }
    this.#runTokens = outTokens;
    this.#runSlots = outSlots.slice(0, n);
    this.#tailTokens = [];
    this.#tailSlots = [];
    this.#tailSorted = true;
    this.#stale = 0;
    // No entry points at a dead slot any more: they may be reused.
    this.#free = this.#free.concat(this.#dead);
    this.#dead = [];
    this.#buildTree();
  }

  /** A bottom-up min-segment tree: leaf `n + i` is entry i; node k holds the best entry of nodes 2k and 2k+1. */
  #buildTree(): void {
    const slots = this.#runSlots;
    const n = slots.length;
    const tree = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) tree[n + i] = i;
    for (let k = n - 1; k >= 1; k--) {
      const a = tree[2 * k]!;
      const b = tree[2 * k + 1]!;
      tree[k] = this.#order(slots[a]!, slots[b]!) <= 0 ? a : b;
    }
    this.#tree = tree;
  }

  #nextEpoch(): number {
    if (this.#epoch === 0xffffffff) {
      this.#seen.fill(0);
      this.#epoch = 0;
    }
    return ++this.#epoch;
  }
}

/**
 * The best `limit` matches offered so far, best first: exact before prefix, then the directory's order. An
 * insertion into a short sorted array beats a heap at these sizes (at most 100).
 */
class TopMatches {
  readonly slots: number[] = [];
  readonly ranks: number[] = [];
  readonly #limit: number;
  readonly #order: (a: number, b: number) => number;

  constructor(limit: number, order: (a: number, b: number) => number) {
    this.#limit = limit;
    this.#order = order;
  }

  get full(): boolean {
    return this.slots.length === this.#limit;
  }

  /** Orders the worst kept match against a candidate: negative when the candidate would come after it. */
  compare(slot: number, rank: number): number {
    return this.#compareAt(this.slots.length - 1, slot, rank);
  }

  offer(slot: number, rank: number): void {
    if (rank === NO_MATCH) return;
    if (this.full && this.compare(slot, rank) <= 0) return;
    let lo = 0;
    let hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compareAt(mid, slot, rank) > 0) hi = mid;
      else lo = mid + 1;
    }
    this.slots.splice(lo, 0, slot);
    this.ranks.splice(lo, 0, rank);
    if (this.slots.length > this.#limit) {
      this.slots.pop();
      this.ranks.pop();
    }
  }

  /** Orders the kept match at `at` against a candidate. */
  #compareAt(at: number, slot: number, rank: number): number {
    const kept = this.ranks[at]!;
    return kept !== rank ? kept - rank : this.#order(this.slots[at]!, slot);
  }
}

/** A binary min-heap of segment-tree nodes. */
class NodeHeap {
  readonly #items: number[] = [];
  readonly #before: (a: number, b: number) => number;

  constructor(before: (a: number, b: number) => number) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  top(): number {
    return this.#items[0]!;
  }

  push(node: number): void {
    const items = this.#items;
    let i = items.length;
    items.push(node);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#before(items[parent]!, node) <= 0) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = node;
  }

  pop(): void {
    const items = this.#items;
    const last = items.pop()!;
    if (items.length === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= items.length) break;
      if (child + 1 < items.length && this.#before(items[child + 1]!, items[child]!) < 0) child++;
      if (this.#before(last, items[child]!) <= 0) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
  }
}

/** (length, first unit, second unit) of a key packed into one exact float, in the same order as the key. */
function scoreOf(key: string): number {
  const first = key.length > 0 ? key.charCodeAt(0) + 1 : 0;
  const second = key.length > 1 ? key.charCodeAt(1) + 1 : 0;
  return Math.min(key.length, 0x7ffff) * 2 ** 34 + first * 2 ** 17 + second;
}

/** Sorts parallel arrays by token: the distinct tokens are sorted once, then the entries counting-sorted by them. */
function sortByToken(tokens: readonly string[], slots: readonly number[]): [string[], number[]] {
  const groupOf = new Map<string, number>();
  const distinct: string[] = [];
  const groups = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    let group = groupOf.get(token);
    if (group === undefined) {
      group = distinct.length;
      groupOf.set(token, group);
      distinct.push(token);
    }
    groups[i] = group;
  }
  const sizes = new Int32Array(distinct.length);
  for (let i = 0; i < tokens.length; i++) sizes[groups[i]!]!++;
  // Each group's first position: the groups laid out in token order (the default sort compares UTF-16 code
  // units, the same order as `<`).
  const offsets = new Int32Array(distinct.length);
  let next = 0;
  for (const token of [...distinct].sort()) {
    const group = groupOf.get(token)!;
    offsets[group] = next;
    next += sizes[group]!;
  }
  const outTokens = new Array<string>(tokens.length);
  const outSlots = new Array<number>(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const at = offsets[groups[i]!]!++;
    outTokens[at] = tokens[i]!;
    outSlots[at] = slots[i]!;
  }
  return [outTokens, outSlots];
}

/** The first index of a sorted array whose token is not below `prefix`. */
function lowerBound(tokens: readonly string[], prefix: string): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index in [lo, hi) whose token is above `token` (or hi). */
function upperBound(tokens: readonly string[], token: string, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid]! <= token) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The half-open range of a sorted array whose tokens begin with `prefix`: two binary searches. */
function prefixRange(tokens: readonly string[], prefix: string): [number, number] {
  const start = lowerBound(tokens, prefix);
  // Sorted order puts every token that begins with the prefix right after the ones below it.
  let lo = start;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid]!.startsWith(prefix)) lo = mid + 1;
    else hi = mid;
  }
  return [start, lo];
}

function rangeSize(tokens: readonly string[], prefix: string): number {
  const [lo, hi] = prefixRange(tokens, prefix);
  return hi - lo;
}

/** The distinct folded words of a query, after checking it. */
function parseQuery(query: unknown): string[] {
  if (typeof query !== 'string') {
    throw new ValidationError(`query must be a string (got ${typeof query})`, {
      details: { field: 'query' },
    });
  }
  const trimmed = query.trim();
  if (trimmed.length === 0) {
    throw new ValidationError('query must not be empty', { details: { field: 'query' } });
  }
  if (trimmed.length > MAX_CONTACT_QUERY_LENGTH) {
    throw new ValidationError(
      `query is ${trimmed.length} characters long; the limit is ${MAX_CONTACT_QUERY_LENGTH}`,
      { details: { field: 'query', max: MAX_CONTACT_QUERY_LENGTH, length: trimmed.length } },
    );
  }
  const folded = normalizeForSearch(trimmed);
  return folded === '' ? [] : [...new Set(folded.split(' '))];
}

function parseOptions(options: unknown): { limit: number; within: ReadonlySet<string> | undefined } {
  if (options === undefined) return { limit: DEFAULT_CONTACT_SEARCH_LIMIT, within: undefined };
  const o = requireObject(options, 'search options');
  const limit =
    o.limit === undefined
      ? DEFAULT_CONTACT_SEARCH_LIMIT
      : requirePositiveInt(o.limit, 'limit', MAX_CONTACT_SEARCH_LIMIT);
  const within = o.within;
  if (within === undefined) return { limit, within: undefined };
  const set = within as Partial<ReadonlySet<string>> | null;
  if (
    typeof set !== 'object' ||
    set === null ||
    typeof set.has !== 'function' ||
    typeof set.size !== 'number' ||
    typeof set[Symbol.iterator] !== 'function'
  ) {
    throw new ValidationError('within must be a set of user ids', { details: { field: 'within' } });
  }
  return { limit, within: set as ReadonlySet<string> };
}
