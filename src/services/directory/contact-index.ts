/**
 * The sorted-array machinery under `ContactDirectory`: binary searches for a prefix's range, sorting by packed
 * numeric heads, and the small heaps that pick the best matches without walking every one.
 *
 * @module
 */

/** Match ranks: an exact token, a token's prefix, or no match (a user outside the searched set). */
export const EXACT = 0;
export const PREFIX = 1;
export const NO_MATCH = -1;
/**
 * The best `limit` matches offered so far, best first: exact before prefix, then the directory's order. An
 * insertion into a short sorted array beats a heap at these sizes (at most 100).
 */
export class TopMatches {
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

/** A binary min-heap of segment-tree nodes, by the rank each holds. */
export class NodeHeap {
  readonly #items: number[] = [];
  readonly #tree: Int32Array;

  constructor(tree: Int32Array) {
    this.#tree = tree;
  }

  get size(): number {
    return this.#items.length;
  }

  top(): number {
    return this.#items[0]!;
  }

  push(node: number): void {
    const items = this.#items;
    const tree = this.#tree;
    const key = tree[node]!;
    let i = items.length;
    items.push(node);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (tree[items[parent]!]! <= key) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = node;
  }

  pop(): void {
    const items = this.#items;
    const tree = this.#tree;
    const last = items.pop()!;
    if (items.length === 0) return;
    const key = tree[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= items.length) break;
      if (child + 1 < items.length && tree[items[child + 1]!]! < tree[items[child]!]!) child++;
      if (key <= tree[items[child]!]!) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
  }
}

/**
 * A number that orders keys as the directory does (length, then code units) wherever it differs: the exact length
 * and the first six code units, those above 125 all counted alike (and nothing after one of those). Keys it cannot
 * tell apart are compared in full.
 */
export function scoreOf(key: string): number {
  const length = key.length;
  if (length >= 0x7ff) return 0x7ff * 2 ** 42; // 11 bits of length and 6 × 7 bits of units fit a double exactly
  let score = length;
  let alike = false;
  for (let i = 0; i < 6; i++) {
    // After a unit counted alike with others, the units that follow must not decide: they count as nothing.
    const value: number = alike || i >= length ? 0 : Math.min(key.charCodeAt(i) + 1, 127);
    alike ||= value === 127;
    score = score * 128 + value;
  }
  return score;
}

/** How many items {@link sortByHead} packs: 2^25 indices beside a 28-bit head fill a double's 53 bits. */
export const INDEX_SPAN = 2 ** 25;

/**
 * Sorts the indices 0..count-1: a native numeric sort on (head, index) packed into exact doubles does most of the
 * work, and only runs of equal heads are then sorted with `compare`. `head(i)` must be an integer below 2^28 that
 * never contradicts `compare`.
 */
export function sortByHead(
  count: number,
  head: (i: number) => number,
  compare: (a: number, b: number) => number,
): Int32Array {
  const order = new Int32Array(count);
  if (count >= INDEX_SPAN) {
    order.set(Array.from({ length: count }, (_, i) => i).sort(compare));
    return order;
  }
  const packed = new Float64Array(count);
  for (let i = 0; i < count; i++) packed[i] = head(i) * INDEX_SPAN + i;
  packed.sort();
  for (let i = 0; i < count; i++) order[i] = packed[i]! % INDEX_SPAN;
  for (let start = 0, end = 1; start < count; start = end++) {
    const h = Math.floor(packed[start]! / INDEX_SPAN);
    while (end < count && Math.floor(packed[end]! / INDEX_SPAN) === h) end++;
    if (end - start > 1) order.set(Array.from(order.subarray(start, end)).sort(compare), start);
  }
  return order;
}

/** Sorts parallel arrays by token (UTF-16 code units, the order of `<`); equal tokens end up sharing one string. */
export function sortByToken(tokens: readonly string[], slots: readonly number[]): [string[], Int32Array] {
  const order = new Int32Array(tokens.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  sortTokenRange(tokens, order, 0, order.length, 0);
  const outTokens: string[] = [];
  const outSlots = new Int32Array(tokens.length);
  for (let i = 0; i < order.length; i++) {
    const token = tokens[order[i]!]!;
    outTokens.push(i > 0 && outTokens[i - 1] === token ? outTokens[i - 1]! : token);
    outSlots[i] = slots[order[i]!]!;
  }
  return [outTokens, outSlots];
}

/**
 * Sorts `order[start..end)` (indices of tokens that agree on their first `depth` units) by token: a radix step on
 * the next four units (4 × 7 bits, units above 125 counted alike) packed with the position into exact doubles for
 * a native numeric sort, then the same on each group that agrees on those four as well.
 */
export function sortTokenRange(
  tokens: readonly string[],
  order: Int32Array,
  start: number,
  end: number,
  depth: number,
): void {
  const count = end - start;
  const compare = (a: number, b: number): number => {
    const x = tokens[a]!;
    const y = tokens[b]!;
    return x === y ? a - b : x < y ? -1 : 1;
  };
  if (count <= 32 || count >= INDEX_SPAN) {
    if (count > 1) order.set(Array.from(order.subarray(start, end)).sort(compare), start);
    return;
  }
  const packed = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const token = tokens[order[start + k]!]!;
    let head = 0;
    let alike = false;
    for (let u = depth; u < depth + 4; u++) {
      // As in scoreOf: nothing after a unit counted alike with others.
      const value: number = alike || u >= token.length ? 0 : Math.min(token.charCodeAt(u) + 1, 127);
      alike ||= value === 127;
      head = head * 128 + value;
    }
    packed[k] = head * INDEX_SPAN + k;
  }
  packed.sort();
  const before = order.slice(start, end);
  for (let k = 0; k < count; k++) order[start + k] = before[packed[k]! % INDEX_SPAN]!;
  for (let from = 0, to = 1; from < count; from = to++) {
    const head = Math.floor(packed[from]! / INDEX_SPAN);
    while (to < count && Math.floor(packed[to]! / INDEX_SPAN) === head) to++;
    if (to - from < 2) continue;
    if (hasFoldedUnit(head)) {
      // Units above 125 look alike here: only a full comparison tells these apart.
      order.set(Array.from(order.subarray(start + from, start + to)).sort(compare), start + from);
    } else if (head % 128 !== 0) {
      sortTokenRange(tokens, order, start + from, start + to, depth + 4); // equal so far, and all go on
    }
    // Otherwise all end within these four units and agree on each: equal tokens, left in insertion order.
  }
}

/** Whether a packed head of four units holds a unit above 125 (so equal heads may hide differences). */
export function hasFoldedUnit(head: number): boolean {
  for (let u = 0; u < 4; u++, head = Math.floor(head / 128)) if (head % 128 === 127) return true;
  return false;
}

/** The first index at or after `from` whose token is above `token`, found by galloping then binary search. */
export function gallop(tokens: readonly string[], token: string, from: number): number {
  let lo = from;
  let step = 1;
  while (lo + step - 1 < tokens.length && tokens[lo + step - 1]! <= token) {
    lo += step;
    step *= 2;
  }
  return upperBound(tokens, token, lo, Math.min(lo + step - 1, tokens.length));
}

/** The first index of a sorted array whose token is not below `prefix`. */
export function lowerBound(tokens: readonly string[], prefix: string): number {
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
export function upperBound(tokens: readonly string[], token: string, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (tokens[mid]! <= token) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The half-open range of a sorted array whose tokens begin with `prefix`: two binary searches. */
export function prefixRange(tokens: readonly string[], prefix: string): [number, number] {
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

export function rangeSize(tokens: readonly string[], prefix: string): number {
  const [lo, hi] = prefixRange(tokens, prefix);
  return hi - lo;
}
