import type { Clock, TimerHandle } from '../ports';

/** Options of a `SystemClock`. */
export interface SystemClockOptions {
  /**
   * Whether a pending timer keeps a Node process alive. Default false: timers are unref'd, so a server's
   * heartbeats and leases never hold up its exit. Browsers have no such notion and ignore it.
   */
  readonly keepAlive?: boolean;
}

/**
 * The real clock: `Date.now()` and the platform's timers, in Node and in browsers.
 *
 * @example
 * ```ts
 * import { SystemClock } from 'chat-room'
 * const clock = new SystemClock()
 * const timer = clock.setTimeout(() => console.log('a second later'), 1000)
 * clock.clearTimeout(timer) // changed our mind
 * ```
 */
export class SystemClock implements Clock {
  readonly #keepAlive: boolean;

  /**
   * Creates a clock.
   *
   * @param options - whether timers keep a Node process alive
   */
  constructor(options: SystemClockOptions = {}) {
    this.#keepAlive = options.keepAlive ?? false;
  }

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: unknown = globalThis.setTimeout(callback, ms);
    // Node answers with an object that has `unref`; browsers with a number.
    if (typeof timer === 'object' && timer !== null) {
      if (!this.#keepAlive) (timer as { unref?: () => void }).unref?.();
      return timer;
    }
    return new BrowserTimer(timer as number);
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle instanceof BrowserTimer ? handle.id : handle;
    globalThis.clearTimeout(timer as Parameters<typeof globalThis.clearTimeout>[0]);
  }
}

/** A browser's timer is a number; a `TimerHandle` is an object, so the number goes in a box. */
class BrowserTimer {
  constructor(readonly id: number) {}
}
