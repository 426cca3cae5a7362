/**
 * Contact search: a case- and accent-insensitive prefix index over names and handles.
 *
 * @module
 */
import type { UserProfile } from '../../domain';
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
} from '../../domain';
import {
  EXACT,
  NO_MATCH,
  NodeHeap,
  PREFIX,
  TopMatches,
  gallop,
  prefixRange,
  rangeSize,
  scoreOf,
  sortByHead,
  sortByToken,
  upperBound,
} from './contact-index';

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
  /** Only ids this admits may match (say, not someone who blocked the searcher); asked only of candidates. */
  readonly where?: (id: string) => boolean;
}

/** The query words as searched for in a haystack. */
interface Needles {
  readonly prefixes: readonly string[];
  readonly tokens: readonly string[];
}

/** The tail is merged into the run once it holds more than this many entries, or 1/64 of the run. */
const MIN_TAIL_TO_MERGE = 1024;
/** A run range this short is walked entry by entry; a longer one is visited best user first. */
const MAX_LINEAR_WALK = 512;

/**
 * The users people can find by typing: a prefix of any word of a name or of a handle, in any case, with or without
 * accents ("jo" finds "José Álvarez" and "Mary Jones"; "maryj" and "99" find `maryj_99`).
 *
 * Pattern: sorted index with binary search, log-structured — prefix lookups in O(log n) with adds kept O(1).
 *
 * The index holds one `(token, user)` entry per token, in three parts: new entries in an unsorted inbox, sorted
 * into a small tail on the next search, which joins a large sorted run once it outgrows 1/64 of it (each merge
 * binary-searches the places of the few among the many and copies the rest). A prefix is a range of each, found
 * by binary search. Over the run a min-segment tree keeps, for every span of entries, the best-ranked user in it,
 * so a long range is handed out best user first and a one-letter query over a million users stops after the few
 * it returns. A rename or removal leaves its old entries behind; they are skipped on read and dropped by merges.
 *
 * Results rank exact matches (every query word equals a whole word of the name, the handle or a part of the
 * handle) before prefix matches; within a rank, shorter names first, then by folded name, then by id. Each user
 * appears at most once.
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
  // One slot per version of a user: a rename takes a new slot, so a slot's place in the result order never
  // changes while entries point at it. A dead slot keeps its id, key and score until a run merge frees it.
  readonly #ids: string[] = [];
  readonly #names: string[] = [];
  /** The folded name: the sort key within a rank. */
  readonly #keys: string[] = [];
  /** The slot's tokens, each after a newline and the last before one (`\njose\nalvarez\n`); none when dead. */
  readonly #haystacks: (string | undefined)[] = [];
  /** 1 for a live slot: a compact copy of `#haystacks[slot] !== undefined` for merges. */
  #alive = new Uint8Array(64);
  /** {@link scoreOf} the key: settles most comparisons without reading strings. */
  #scores = new Float64Array(64);
  /** Each run slot's place in `#ordered`. */
  #rank = new Int32Array(64);
  #free: number[] = [];
  #dead: number[] = [];
  /** The slots placed since the last run merge (their entries are in the tail or the inbox). */
  #pending: number[] = [];

  // The run: entries by token, as parallel arrays; its live slots in result order; and a min-segment tree over
  // the entries holding, for each node, the lowest rank below it.
  #runTokens: string[] = [];
  #runSlots: Int32Array = new Int32Array(0);
  #ordered: Int32Array = new Int32Array(0);
  #tree: Int32Array = new Int32Array(0);
  // The tail (entries by token) and the inbox (entries as added).
  #tailTokens: string[] = [];
  #tailSlots: Int32Array = new Int32Array(0);
  #inboxTokens: string[] = [];
  #inboxSlots: number[] = [];
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
    if (x.length !== y.length) return x.length - y.length; // past 2 046 units the score holds no length
    if (x !== y) return x < y ? -1 : 1;
    const i = this.#ids[a]!;
    const j = this.#ids[b]!;
    return i < j ? -1 : i > j ? 1 : 0;
  };

  /**
   * Adds a user to the directory.
   *
   * @param profile - the id (handle) and display name; a `User` will do
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
   * Sorts the changes made since the last search into the index now, so that the next search does not pay for
   * them: call it after a bulk load, or from an idle moment. Searches do this on their own when needed.
   *
   * @example
   * ```ts
   * import { ContactDirectory } from 'chat-room'
   * const directory = new ContactDirectory()
   * for (const user of [{ id: 'ann', name: 'Ann' }, { id: 'bob', name: 'Bob' }]) directory.add(user)
   * directory.flush()
   * ```
   */
  flush(): void {
    this.#prepare();
  }

  /**
   * Finds the users whose tokens begin with every word of the query, best first.
   *
   * A query that folds to nothing (only accents or invisible characters) matches no one. A search first sorts
   * the changes made since the last one into the index (see {@link ContactDirectory.flush}).
   *
   * @param query - what the user typed: 1–100 characters once trimmed; several words must all match
   * @param options - `limit` (1–100, default 20), `within` (restrict to these ids) and `where` (a filter)
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
    const words = parseContactQuery(query);
    const { limit, within, where } = parseOptions(options);
    if (words.length === 0) return [];
    this.#prepare();

    // Drive the search with the most selective word; a candidate is then checked against all the words.
    let word = '';
    let candidates = Infinity;
    for (const w of words) {
      const count = rangeSize(this.#runTokens, w) + rangeSize(this.#tailTokens, w);
      if (count < candidates) [word, candidates] = [w, count];
    }

    // Tokens hold no newline: "\nword" finds a token that begins with the word, "\nword\n" one that equals it.
    const needles: Needles = { prefixes: words.map((w) => `\n${w}`), tokens: words.map((w) => `\n${w}\n`) };
    const best = new TopMatches(limit, this.#order);
    if (within !== undefined && within.size <= candidates) {
      // Fewer contacts than index entries to visit: check the contacts' tokens directly.
      for (const id of within) {
        const slot = this.#slotOf.get(id);
        if (slot !== undefined && (where === undefined || where(id)))
          best.offer(slot, this.#match(slot, needles));
      }
    } else {
      const epoch = this.#nextEpoch();
      // A pass offers the users that rank `pass` or lower; the exact pass leaves prefix matches for the next one.
      const visit = (slot: number, pass: number): void => {
        if (this.#seen[slot] === epoch || this.#alive[slot] === 0) return;
        let rank = words.length === 1 ? pass : this.#match(slot, needles);
        if (within !== undefined && !within.has(this.#ids[slot]!)) rank = NO_MATCH;
        else if (where !== undefined && rank !== NO_MATCH && !where(this.#ids[slot]!)) rank = NO_MATCH;
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
  #match(slot: number, needles: Needles): number {
    const haystack = this.#haystacks[slot];
    if (haystack === undefined) return NO_MATCH;
    let rank = EXACT;
    for (let i = 0; i < needles.prefixes.length; i++) {
      if (!haystack.includes(needles.prefixes[i]!)) return NO_MATCH;
      if (rank === EXACT && !haystack.includes(needles.tokens[i]!)) rank = PREFIX;
    }
    return rank;
  }

  /**
   * Visits the run's entries in [lo, hi) best user first, stopping once no further user could make the list: the
   * range is split into segment-tree nodes, kept in a heap by the best rank below each, and the best node opened.
   * When few of the users visited match (words that are common apart but rare together), it finishes with a plain
   * walk, so a range never costs much more than walking it.
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
    let budget = (hi - lo) >> 3;
    const tree = this.#tree;
    const n = slots.length;
    const heap = new NodeHeap(tree);
    for (let l = lo + n, r = hi + n; l < r; l >>= 1, r >>= 1) {
      if (l & 1) heap.push(l++);
      if (r & 1) heap.push(--r);
    }
    while (heap.size > 0) {
      const node = heap.top();
      const slot = this.#ordered[tree[node]!]!;
      if (best.full && best.compare(slot, pass) <= 0) return;
      heap.pop();
      if (node < n) {
        heap.push(2 * node);
        heap.push(2 * node + 1);
      } else if (--budget > 0) {
        visit(slot, pass);
      } else {
        for (let i = lo; i < hi; i++) visit(slots[i]!, pass);
        return;
      }
    }
  }

  #place(id: string, name: string): void {
    const slot = this.#free.pop() ?? this.#ids.length;
    if (slot >= this.#scores.length) this.#grow();
    const key = normalizeForSearch(name);
    // The key is already folded, and folding twice changes nothing: this saves folding the name again.
    const tokens = searchTokens(key, id).filter((token) => !token.includes(' '));
    this.#ids[slot] = id;
    this.#names[slot] = name;
    this.#keys[slot] = key;
    this.#haystacks[slot] = `\n${tokens.join('\n')}\n`;
    this.#alive[slot] = 1;
    this.#scores[slot] = scoreOf(key);
    this.#pending.push(slot);
    this.#slotOf.set(id, slot);
    for (const token of tokens) {
      this.#inboxTokens.push(token);
      this.#inboxSlots.push(slot);
    }
  }

  #kill(slot: number): void {
    this.#stale += (this.#haystacks[slot]?.split('\n').length ?? 2) - 2;
    this.#haystacks[slot] = undefined;
    this.#alive[slot] = 0;
    this.#names[slot] = '';
    this.#dead.push(slot);
  }

  #grow(): void {
    const size = this.#scores.length * 2;
    const alive = new Uint8Array(size);
    alive.set(this.#alive);
    this.#alive = alive;
    const scores = new Float64Array(size);
    scores.set(this.#scores);
    this.#scores = scores;
    const rank = new Int32Array(size);
    rank.set(this.#rank);
    this.#rank = rank;
    const seen = new Uint32Array(size);
    seen.set(this.#seen);
    this.#seen = seen;
  }

  /** Before a search: sort the inbox into the tail, and the tail into the run once it is large or stale. */
  #prepare(): void {
    if (this.#inboxTokens.length > 0) {
      const [tokens, slots] = sortByToken(this.#inboxTokens, this.#inboxSlots);
      this.#inboxTokens = [];
      this.#inboxSlots = [];
      [this.#tailTokens, this.#tailSlots] = this.#mergeRuns(this.#tailTokens, this.#tailSlots, tokens, slots);
    }
    const tail = this.#tailTokens.length;
    const run = this.#runTokens.length;
    if (tail > Math.max(MIN_TAIL_TO_MERGE, run >> 6) || (this.#stale * 2 > tail + run && this.#stale > 0)) {
      [this.#runTokens, this.#runSlots] = this.#mergeRuns(
        this.#runTokens,
        this.#runSlots,
        this.#tailTokens,
        this.#tailSlots,
      );
      this.#tailTokens = [];
      this.#tailSlots = new Int32Array(0);
      // Nothing points at a dead slot any more: it may be reused.
      this.#stale = 0;
      this.#free = this.#free.concat(this.#dead);
      this.#dead = [];
      this.#rankSlots();
      this.#buildTree();
    }
  }

  /**
   * Merges a short sorted run `b` into a long one `a`, dropping the entries of dead slots: each entry of `b` finds
   * its place by galloping from the previous one, and the entries of `a` between places are copied uncompared.
   */
  #mergeRuns(
    aTokens: readonly string[],
    aSlots: Int32Array,
    bTokens: string[],
    bSlots: Int32Array,
  ): [string[], Int32Array] {
    if (aTokens.length === 0 && this.#dead.length === 0) return [bTokens, bSlots]; // a bulk load
    const alive = this.#alive;
    const outTokens: string[] = [];
    const outSlots = new Int32Array(aTokens.length + bTokens.length);
    let n = 0;
    let i = 0;
    for (let j = 0; j <= bTokens.length; j++) {
      const end = j < bTokens.length ? gallop(aTokens, bTokens[j]!, i) : aTokens.length;
      for (; i < end; i++) {
        const slot = aSlots[i]!;
        if (alive[slot] === 0) continue;
        outTokens.push(aTokens[i]!);
        outSlots[n++] = slot;
      }
      if (j < bTokens.length && alive[bSlots[j]!] === 1) {
        // Share one string among equal tokens (a new one lands right after its equals): less memory.
        const token = bTokens[j]!;
        outTokens.push(n > 0 && outTokens[n - 1] === token ? outTokens[n - 1]! : token);
        outSlots[n++] = bSlots[j]!;
      }
    }
    this.#stale -= aTokens.length + bTokens.length - n;
    return [outTokens, n === outSlots.length ? outSlots : outSlots.slice(0, n)];
  }

  /** Puts the live run slots in result order (the new ones sorted, then galloped in) and numbers them. */
  #rankSlots(): void {
    const alive = this.#alive;
    const fresh = this.#pending.filter((slot) => alive[slot] === 1);
    this.#pending = [];
    const scores = this.#scores;
    // Sort by the top 28 bits of the score (length and first units), then settle ties in full.
    const sorted = sortByHead(
      fresh.length,
      (i) => Math.floor(scores[fresh[i]!]! / 2 ** 25),
      (a, b) => this.#order(fresh[a]!, fresh[b]!),
    ).map((i) => fresh[i]!);
    const old = this.#ordered;
    const ordered = new Int32Array(this.#slotOf.size);
    let n = 0;
    let i = 0;
    for (let j = 0; j <= sorted.length; j++) {
      let end = old.length;
      if (j < sorted.length) {
        // Gallop: the first old slot at or after i that comes after this new one.
        const slot = sorted[j]!;
        let step = 1;
        let lo = i;
        while (lo + step - 1 < old.length && this.#order(old[lo + step - 1]!, slot) < 0) {
          lo += step;
          step *= 2;
        }
        let hi = Math.min(lo + step - 1, old.length);
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (this.#order(old[mid]!, slot) < 0) lo = mid + 1;
          else hi = mid;
        }
        end = lo;
      }
      for (; i < end; i++) if (alive[old[i]!] === 1) ordered[n++] = old[i]!;
      if (j < sorted.length) ordered[n++] = sorted[j]!;
    }
    for (let k = 0; k < n; k++) this.#rank[ordered[k]!] = k;
    this.#ordered = ordered;
  }

  /** A bottom-up min-segment tree: leaf `n + i` holds the rank of entry i's slot, node k the lower of 2k and 2k+1. */
  #buildTree(): void {
    const slots = this.#runSlots;
    const n = slots.length;
    const tree = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) tree[n + i] = this.#rank[slots[i]!]!;
    for (let k = n - 1; k >= 1; k--) tree[k] = Math.min(tree[2 * k]!, tree[2 * k + 1]!);
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
 * Checks a contact search query and returns its distinct folded words (none when it folds to nothing), as
 * {@link ContactDirectory.search} reads it.
 *
 * @param query - what the user typed
 * @throws ValidationError (`details.field` is `query`) when it is not a string, is blank or too long
 * @example
 * ```ts
 * import { parseContactQuery } from 'chat-room'
 * parseContactQuery('  MARY  Jó ') // ['mary', 'jo']
 * ```
 */
export function parseContactQuery(query: unknown): string[] {
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

interface ParsedOptions {
  limit: number;
  within: ReadonlySet<string> | undefined;
  where: ((id: string) => boolean) | undefined;
}

function parseOptions(options: unknown): ParsedOptions {
  if (options === undefined)
    return { limit: DEFAULT_CONTACT_SEARCH_LIMIT, within: undefined, where: undefined };
  const o = requireObject(options, 'search options');
  const limit =
    o.limit === undefined
      ? DEFAULT_CONTACT_SEARCH_LIMIT
      : requirePositiveInt(o.limit, 'limit', MAX_CONTACT_SEARCH_LIMIT);
  const where = o.where;
  if (where !== undefined && typeof where !== 'function') {
    throw new ValidationError('where must be a function of a user id', { details: { field: 'where' } });
  }
  const filter = where as ((id: string) => boolean) | undefined;
  const within = o.within;
  if (within === undefined) return { limit, within: undefined, where: filter };
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
  return { limit, within: set as ReadonlySet<string>, where: filter };
}
