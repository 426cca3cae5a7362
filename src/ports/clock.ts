/** An opaque handle for a scheduled callback. */
export type TimerHandle = object;

/**
 * Time, injected: everything that waits asks the clock, so tests and simulations advance time by hand.
 *
 * @example
 * ```ts
 * import { ManualClock } from 'chat-room'
 * const clock = new ManualClock(0)
 * clock.setTimeout(() => console.log('later'), 1000)
 * clock.advance(1000) // prints 'later'
 * ```
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a scheduled callback; cancelling twice or after it ran does nothing. */
  clearTimeout(handle: TimerHandle): void;
}
