import type { Rate } from './token-bucket';
import { TokenBucket } from './token-bucket';

/** How long a connection waits at most for a refused frame to come back before it lets others through (ms). */
const MAX_AWAIT_MS = 5_000;

/**
 * Decides which frames of one connection pass its rate: a token bucket, plus an order rule. Once a frame with a
 * `ref` was refused, every other frame is refused until that one comes back (or `MAX_AWAIT_MS` passed): a client
 * that sends refused frames again in their order (`ChatSession` does) then never has a later frame stored before
 * an earlier one, even when frames were already on their way when the refusal left.
 *
 * @example
 * ```ts
 * const pacer = new FramePacer({ frames: 50, perMs: 1_000 }, Date.now())
 * pacer.admit('r1', Date.now(), () => 0) // 0: let it through; otherwise retry after that many ms
 * ```
 */
export class FramePacer {
  readonly #bucket: TokenBucket;
  /** The first refused frame still to come back, and until when it is waited for. */
  #awaiting: { ref: string; until: number; retryAt: number } | undefined;

  /**
   * @param rate - the frames allowed per period
   * @param now - the time now (ms)
   */
  constructor(rate: Rate, now: number) {
    this.#bucket = new TokenBucket(rate, now);
  }

  /**
   * Whether a frame may pass now.
   *
   * @param ref - the frame's `ref`, if it has one
   * @param now - the time now (ms)
   * @param shared - a budget shared with other connections (the user's), charged once the connection's passed
   * @returns 0 when it passes; otherwise how long to wait before sending it again (ms, at least 1)
   */
  admit(ref: string | undefined, now: number, shared: () => number): number {
    const awaiting = this.#awaiting;
    if (awaiting !== undefined && now >= awaiting.until) this.#awaiting = undefined;
    if (this.#awaiting !== undefined && ref !== this.#awaiting.ref) {
      return Math.max(1, this.#awaiting.retryAt - now);
    }
    const wait = this.#bucket.take(now) || shared();
    if (wait === 0) {
      if (ref !== undefined && ref === this.#awaiting?.ref) this.#awaiting = undefined;
      return 0;
    }
    if (ref !== undefined && this.#awaiting === undefined) {
      this.#awaiting = { ref, until: now + Math.max(MAX_AWAIT_MS, wait * 4), retryAt: now + wait };
    } else if (this.#awaiting !== undefined) {
      this.#awaiting.retryAt = now + wait;
    }
    return wait;
  }
}
