import type { Clock, TimerHandle } from '../../ports';
import { ValidationError } from '../../domain';

interface Timer {
  readonly due: number;
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told: timers run in due order as `advance` passes them, so tests and
 * simulations are deterministic and never sleep. Timers sit in a binary heap, so a simulation with a hundred
 * thousand timers stays fast.
 *
 * @example
 * ```ts
 * import { ManualClock } from 'chat-room'
 * const clock = new ManualClock(Date.UTC(2026, 0, 1))
 * clock.setTimeout(() => console.log('one second later'), 1000)
 * clock.advance(1000)
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  #live = 0;
  readonly #heap: Timer[] = [];

  /**
   * Creates a clock showing a start time.
   *
   * @param start - the time it shows (ms since the epoch)
   */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: Timer = {
      due: this.#now + Math.max(0, ms),
      order: this.#order++,
      callback,
      cancelled: false,
    };
    this.#push(timer);
    this.#live++;
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as Timer;
    if (timer.cancelled || !('cancelled' in timer)) return;
    timer.cancelled = true; // removed lazily when it reaches the top
    this.#live--;
  }

  /** How many timers wait. */
  get pending(): number {
    return this.#live;
  }

  /**
   * Moves time forward, running each timer that falls due, in order, at its due time.
   *
   * @param ms - how far to move
   * @throws ValidationError when `ms` is negative or not finite
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new ValidationError('advance() needs a finite, non-negative ms');
    const end = this.#now + ms;
    for (;;) {
      const next = this.#heap[0];
      if (next === undefined || next.due > end) break;
      this.#pop();
      if (next.cancelled) continue;
      next.cancelled = true; // ran: a later clearTimeout does nothing
      this.#live--;
      this.#now = Math.max(this.#now, next.due);
      next.callback();
    }
    this.#now = end;
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent] as Timer)) break;
      heap[i] = heap[parent] as Timer;
      i = parent;
    }
    heap[i] = timer;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as Timer;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const child = r < heap.length && before(heap[r] as Timer, heap[l] as Timer) ? r : l;
      if (!before(heap[child] as Timer, last)) break;
      heap[i] = heap[child] as Timer;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.due < b.due || (a.due === b.due && a.order < b.order);
}
