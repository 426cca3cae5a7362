/**
 * How long a `ChatClient` waits before each reconnect attempt: jittered exponential backoff.
 *
 * @module
 */

/** How long to wait before each reconnect attempt. */
export interface BackoffOptions {
  /** The delay before the first attempt (ms). Default 250. */
  readonly initialMs: number;
  /** The largest delay (ms). Default 30 000. */
  readonly maxMs: number;
  /** Each attempt waits this many times longer than the one before. Default 2. */
  readonly factor: number;
  /** The share of the delay taken off at random, in [0, 1]: 0.5 waits between half and all of it. Default 0.5. */
  readonly jitter: number;
}

/** The default backoff: 250 ms, doubling up to 30 s, with up to half taken off at random. */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({
  initialMs: 250,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
});

/**
 * The delay before a reconnect attempt: `min(maxMs, initialMs · factor^(attempt-1))`, less a random share of up
 * to `jitter` of it, so that clients dropped together do not all come back together.
 *
 * @param attempt - the attempt, from 1
 * @param backoff - the backoff settings
 * @param random - a source of numbers in [0, 1)
 * @returns the delay in ms, within `[base · (1 - jitter), base]`
 *
 * @example
 * ```ts
 * import { DEFAULT_BACKOFF, backoffDelay } from 'chat-room/client'
 * backoffDelay(3, DEFAULT_BACKOFF, () => 0) // 1000: the third attempt, no jitter taken off
 * ```
 */
export function backoffDelay(attempt: number, backoff: BackoffOptions, random: () => number): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, attempt - 1));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (1 - backoff.jitter * r));
}
