import type { Clock, TimerHandle } from '../../ports';
import { ValidationError } from '../../domain';

interface Timer {
  readonly due: number;
  readonly order: number;
  readonly callback: () => void;
}

/**
 * A clock that moves only when told: timers run in due order as `advance` passes them, so tests and
 * simulations are deterministic and never sleep.
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
  readonly #timers = new Set<Timer>();

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
    const timer: Timer = { due: this.#now + Math.max(0, ms), order: this.#order++, callback };
    this.#timers.add(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as Timer);
  }

  /** How many timers wait. */
  get pending(): number {
    return this.#timers.size;
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
      let next: Timer | undefined;
      for (const t of this.#timers) {
        if (
          t.due <= end &&
          (next === undefined || t.due < next.due || (t.due === next.due && t.order < next.order))
        ) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.due);
      next.callback();
    }
    this.#now = end;
  }
}
