import type { Clock, TimerHandle } from '../../ports';

/**
 * The real clock: `Date.now()` and Node timers. Timers are unref'd so they never keep a process alive.
 *
 * @example
 * ```ts
 * import { SystemClock } from 'chat-room'
 * const clock = new SystemClock()
 * clock.now()
 * ```
 */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const t = setTimeout(callback, ms);
    t.unref();
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}
