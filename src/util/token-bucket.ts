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
    const { frames, perMs } = this.#rate;
    this.#tokens = Math.min(frames, this.#tokens + ((now - this.#refilledAt) * frames) / perMs);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.#tokens) * perMs) / frames));
  }
}
