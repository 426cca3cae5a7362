import type { Clock } from '../ports';

/**
 * The real clock for Node-side adapters: `Date.now()` and timers that never keep the process alive (`unref`).
 * Adapters do not import each other, so they share this rather than the in-memory adapter's `SystemClock`.
 */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
