/** A rate: at most `frames` per `perMs` milliseconds, with bursts up to `frames`. */
export interface Rate {
  readonly frames: number;
  readonly perMs: number;
}

/**
 * A token bucket: it holds up to `rate.frames` tokens and refills at `rate.frames` per `rate.perMs`; each frame
 * takes one. Both transports hold each connection to one.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket({ frames: 50, perMs: 1_000 }, Date.now())
 * const wait = bucket.take(Date.now()) // 0: let it through; otherwise retry after `wait` ms
 * ```
 */
export class TokenBucket {
  readonly #rate: Rate;
  #tokens: number;
  #refilledAt: number;

  /**
   * Creates a full bucket.
   *
   * @param rate - the frames allowed per period
   * @param now - the time now (ms)
   */
  constructor(rate: Rate, now: number) {
    this.#rate = rate;
    this.#tokens = rate.frames;
    this.#refilledAt = now;
  }

  /**
   * Takes a token.
   *
   * @param now - the time now (ms)
   * @returns 0 when there was one; otherwise how long until there will be (ms, at least 1)
   */
  take(now: number): number {
    this.#tokens = tokensAt(this.#rate, this.#tokens, this.#refilledAt, now);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return waitForToken(this.#rate, this.#tokens);
  }
}

/**
 * The tokens in a bucket at `now`, given what it held when last refilled: the arithmetic of `TokenBucket`, for
 * holders that keep the two numbers themselves instead of a bucket object (one per WebSocket connection).
 *
 * @param rate - the bucket's rate
 * @param tokens - what it held at `refilledAt`
 * @param refilledAt - when it was last refilled (ms)
 * @param now - the time now (ms)
 */
export function tokensAt(rate: Rate, tokens: number, refilledAt: number, now: number): number {
  const { frames, perMs } = rate;
  return Math.min(frames, tokens + ((now - refilledAt) * frames) / perMs);
}

/**
 * How long until a bucket holding `tokens` (fewer than one) has one.
 *
 * @param rate - the bucket's rate
 * @param tokens - what it holds now
 * @returns the wait (ms, at least 1)
 */
export function waitForToken(rate: Rate, tokens: number): number {
  const { frames, perMs } = rate;
  return Math.max(1, Math.ceil(((1 - tokens) * perMs) / frames));
}
