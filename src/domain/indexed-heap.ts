/**
 * A binary heap whose items know where they sit in it, the engine behind `ChatFeed`.
 *
 * @module
 */

/** What an {@link IndexedHeap} keeps: anything with a slot for its position, which the heap alone writes. */
export interface HeapItem {
  /** The item's index in the heap's array while it is in a heap; -1 otherwise. */
  at: number;
}

/**
 * A binary heap that finds its own items: each item holds its index (`at`), so an item whose key changed is
 * moved up or down in O(log n), any item is removed in O(log n), and the best `k` are read in O(k log k) without
 * draining the heap.
 *
 * Pattern: Priority queue (indexed binary heap) — the position lives in the item, so no search is ever needed.
 *
 * Internal to the domain (`ChatFeed` keeps two of them); the package does not export it.
 *
 * @example
 * ```ts
 * const heap = new IndexedHeap<{ at: number; score: number }>((a, b) => a.score > b.score)
 * const low = { at: -1, score: 1 }
 * heap.push(low)
 * heap.push({ at: -1, score: 5 })
 * low.score = 9
 * heap.update(low)
 * heap.top(1)[0]?.score // 9
 * ```
 */
export class IndexedHeap<T extends HeapItem> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  /**
   * Creates an empty heap.
   *
   * @param before - whether `a` comes before `b`: a strict order (never true both ways)
   */
  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  /** How many items the heap holds. */
  get size(): number {
    return this.#items.length;
  }

  /**
   * Adds an item that is in no heap.
   *
   * @param item - the item; its `at` is set
   */
  push(item: T): void {
    this.#items.push(item);
    this.#siftUp(this.#items.length - 1);
  }

  /**
   * Removes an item this heap holds.
   *
   * @param item - the item; its `at` becomes -1
   */
  remove(item: T): void {
    const i = item.at;
    const last = this.#items.pop()!;
    item.at = -1;
    if (i < this.#items.length) {
      this.#items[i] = last;
      last.at = i;
      this.update(last);
    }
  }

  /**
   * Restores the order after an item's key changed, in either direction.
   *
   * @param item - an item this heap holds
   */
  update(item: T): void {
    if (!this.#siftUp(item.at)) this.#siftDown(item.at);
  }

  /**
   * The first `k` items in order (all of them when `k` exceeds the size), leaving the heap untouched.
   *
   * It walks the heap best-first with a small heap of candidate indices: O(k log k), whatever the size.
   *
   * @param k - how many: a non-negative integer (checked by the caller)
   */
  top(k: number): T[] {
    const items = this.#items;
    const count = Math.min(k, items.length);
    const out: T[] = [];
    if (count === 0) return out;
    const candidates = [0];
    while (out.length < count) {
      const best = this.#popCandidate(candidates);
      out.push(items[best]!);
      const left = 2 * best + 1;
      if (left < items.length) this.#pushCandidate(candidates, left);
      if (left + 1 < items.length) this.#pushCandidate(candidates, left + 1);
    }
    return out;
  }

  /** Moves the item at `i` up while it comes before its parent; returns whether it moved. */
  #siftUp(i: number): boolean {
    const items = this.#items;
    const item = items[i]!;
    let hole = i;
    while (hole > 0) {
      const parentAt = (hole - 1) >> 1;
      const parent = items[parentAt]!;
      if (!this.#before(item, parent)) break;
      items[hole] = parent;
      parent.at = hole;
      hole = parentAt;
    }
    items[hole] = item;
    item.at = hole;
    return hole !== i;
  }

  #siftDown(i: number): void {
    const items = this.#items;
    const item = items[i]!;
    const n = items.length;
    let hole = i;
    for (;;) {
      let childAt = 2 * hole + 1;
      if (childAt >= n) break;
      if (childAt + 1 < n && this.#before(items[childAt + 1]!, items[childAt]!)) childAt += 1;
      const child = items[childAt]!;
      if (!this.#before(child, item)) break;
      items[hole] = child;
      child.at = hole;
      hole = childAt;
    }
    items[hole] = item;
    item.at = hole;
  }

  // The candidate heap of `top`: indices into the heap, ordered by the items they point at.

  #pushCandidate(candidates: number[], at: number): void {
    const items = this.#items;
    let hole = candidates.length;
    candidates.push(at);
    while (hole > 0) {
      const parentAt = (hole - 1) >> 1;
      const parent = candidates[parentAt]!;
      if (!this.#before(items[at]!, items[parent]!)) break;
      candidates[hole] = parent;
      hole = parentAt;
    }
    candidates[hole] = at;
  }

  #popCandidate(candidates: number[]): number {
    const items = this.#items;
    const best = candidates[0]!;
    const last = candidates.pop()!;
    const n = candidates.length;
    if (n === 0) return best;
    let hole = 0;
    for (;;) {
      let childAt = 2 * hole + 1;
      if (childAt >= n) break;
      if (childAt + 1 < n && this.#before(items[candidates[childAt + 1]!]!, items[candidates[childAt]!]!))
        childAt += 1;
      const child = candidates[childAt]!;
      if (!this.#before(items[child]!, items[last]!)) break;
      candidates[hole] = child;
      hole = childAt;
    }
    candidates[hole] = last;
    return best;
  }
}
