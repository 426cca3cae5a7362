import { RateLimitError, ValidationError } from '../../domain';

/** Options of a decode queue. */
export interface DecodeQueueOptions {
  /** Jobs run at once. */
  readonly maxConcurrent: number;
  /** Jobs that may wait for a turn; one more is refused. */
  readonly maxQueued: number;
}

/**
 * Runs jobs at most `maxConcurrent` at a time; the others wait their turn in arrival order, at most `maxQueued`
 * of them, and one more is refused at once with a `RateLimitError` whose `retryAfterMs` is the wait the queue
 * expects (its length times the recent mean job time, shared among the running places).
 *
 * Pattern: Semaphore — a counted lock with a FIFO queue, bounded so waiting cannot grow without end.
 *
 * @example
 * ```ts
 * const queue = new DecodeQueue({ maxConcurrent: 2, maxQueued: 64 })
 * const image = await queue.run(() => sharp(bytes).toBuffer())
 * ```
 */
export class DecodeQueue {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** A moving mean of how long a job takes (ms), for the refusal's `retryAfterMs`. */
  #meanMs = 1_000;

  /**
   * @param options - how many run, and how many may wait
   * @throws ValidationError when either is not a positive integer
   */
  constructor(options: DecodeQueueOptions) {
    this.maxConcurrent = positive(options.maxConcurrent, 'maxConcurrent');
    this.maxQueued = positive(options.maxQueued, 'maxQueued');
  }

  /** How many jobs run now. */
  get running(): number {
    return this.#running;
  }

  /** How many jobs wait for a turn. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Runs a job when a place is free.
   *
   * @param job - the work; its place is freed when it settles
   * @throws RateLimitError (`details.retryAfterMs`) at once when `maxQueued` jobs already wait
   */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.maxConcurrent) {
      if (this.#waiting.length >= this.maxQueued) {
        const turns = Math.ceil((this.#waiting.length + 1) / this.maxConcurrent);
        throw new RateLimitError(
          `${this.#waiting.length} images already wait to be decoded; try again later`,
          Math.max(1_000, Math.round(turns * this.#meanMs)),
        );
      }
      // The place is handed over by the job that frees it, so nobody can overtake the queue.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    const started = performance.now();
    try {
      return await job();
    } finally {
      this.#meanMs = 0.8 * this.#meanMs + 0.2 * (performance.now() - started);
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else next();
    }
  }
}

function positive(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a positive integer`, { details: { field } });
  }
  return value;
}
