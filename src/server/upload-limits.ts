import { PayloadTooLargeError, RateLimitError, ValidationError } from '../domain';
import type { Clock } from '../ports';
import { SystemClock } from '../util/system-clock';

/** The limits `POST /media` holds each user to (`createChatServer({ uploadLimits })`). */
export interface UploadLimits {
  /**
   * Uploads one user may have in flight at once, counted from the moment the request is authenticated until the
   * image pipeline has finished (or failed); the next is refused at once with 429 and `Retry-After`. Default 2.
   */
  readonly maxInFlightPerUser?: number;
  /**
   * Bytes one user may upload per minute, refilled continuously (a token bucket holding at most one minute's
   * worth). An upload whose `Content-Length` is over what is left is refused at once with 429 and a `Retry-After`
   * that says when it fits; one over a whole minute's worth can never fit and gets 413. Default 64 MiB.
   */
  readonly maxBytesPerMinutePerUser?: number;
}

/** The defaults of {@link UploadLimits}. */
export const DEFAULT_UPLOAD_LIMITS: Readonly<Required<UploadLimits>> = Object.freeze({
  maxInFlightPerUser: 2,
  maxBytesPerMinutePerUser: 64 * 1024 * 1024,
});

/** An admitted upload: its place in flight and the bytes set aside for its body. */
export interface UploadTicket {
  /** The most bytes the body may have: its `Content-Length`, or for a body of unknown length what was set aside. */
  readonly maxBodyBytes: number;
  /** Charges the bytes read and gives back the rest of what was set aside. Only the first call counts. */
  bodyRead(bytes: number): void;
  /** Frees the place in flight (and gives back all that was set aside if `bodyRead` was not called). Once. */
  release(): void;
}

/** What is kept per user: uploads in flight and the byte bucket. */
interface UserEntry {
  inFlight: number;
  /** Bytes left; never below 0, because only what is there is set aside. */
  tokens: number;
  /** When `tokens` was last refilled (ms). */
  at: number;
}

/** The budget is per minute. */
const PERIOD_MS = 60_000;
/** What a refused upload over the in-flight limit is told to wait: one in flight usually ends within a second. */
const IN_FLIGHT_RETRY_MS = 1_000;

/**
 * Holds each user to `UploadLimits`: a count of uploads in flight and a byte bucket per user, in one `Map`. A
 * user's entry is dropped once nothing of theirs is in flight and a full period has passed since it was last
 * touched (the bucket is full again, so a fresh one is the same): memory follows the users uploading in the last
 * minute. An upload refused here has read nothing and is charged nothing.
 *
 * The bytes of an admitted upload are set aside at once (its `Content-Length`; for a body of unknown length, as
 * much as the largest upload it may be), so uploads running side by side cannot together overspend the budget;
 * once the body is read, what it really had is charged and the rest given back. Bytes read are charged even when
 * the image is then refused: reading and decoding them was the cost.
 *
 * @example
 * ```ts
 * // inside chat-room/server, for POST /media
 * import { ManualClock } from 'chat-room'
 * const limiter = new UploadLimiter({ maxInFlightPerUser: 2 }, new ManualClock())
 * const ticket = limiter.admit('alice', 1_000, 16 * 1024 * 1024) // throws RateLimitError when over a limit
 * ticket.bodyRead(1_000)
 * ticket.release()
 * ```
 */
export class UploadLimiter {
  /** The limits in force. */
  readonly limits: Readonly<Required<UploadLimits>>;
  readonly #clock: Clock;
  /** Least recently touched first: each touch moves a user to the end. */
  readonly #users = new Map<string, UserEntry>();

  /**
   * @param limits - the limits (defaults fill the rest)
   * @param clock - the time, for the byte budget (default the system clock)
   * @throws ValidationError naming the field (`uploadLimits.<field>`) that is not a positive integer
   */
  constructor(limits: UploadLimits | undefined, clock: Clock = new SystemClock()) {
    const given = limits ?? {};
    if (typeof given !== 'object' || given === null) {
      throw new ValidationError('uploadLimits must be an object', { details: { field: 'uploadLimits' } });
    }
    this.limits = Object.freeze({
      maxInFlightPerUser: positive(
        given.maxInFlightPerUser ?? DEFAULT_UPLOAD_LIMITS.maxInFlightPerUser,
        'maxInFlightPerUser',
      ),
      maxBytesPerMinutePerUser: positive(
        given.maxBytesPerMinutePerUser ?? DEFAULT_UPLOAD_LIMITS.maxBytesPerMinutePerUser,
        'maxBytesPerMinutePerUser',
      ),
    });
    this.#clock = clock;
  }

  /** How many users have an entry (for tests of the memory bound). */
  get size(): number {
    return this.#users.size;
  }

  /**
   * Admits an upload of a user, or refuses it without taking anything.
   *
   * @param userId - the authenticated user
   * @param declaredBytes - the body's `Content-Length`, when it has one
   * @param maxUploadBytes - the largest body any upload may have
   * @returns the ticket: report the body's bytes once read, and release it once the pipeline is done
   * @throws RateLimitError (`details.retryAfterMs`) when the user has `maxInFlightPerUser` uploads in flight, or
   *   not enough bytes left for this one yet
   * @throws PayloadTooLargeError when the body is over a whole minute's budget, so it can never fit
   */
  admit(userId: string, declaredBytes: number | undefined, maxUploadBytes: number): UploadTicket {
    const { maxInFlightPerUser, maxBytesPerMinutePerUser: perMinute } = this.limits;
    const reserved = declaredBytes ?? Math.min(perMinute, maxUploadBytes);
    if (reserved > perMinute) {
      throw new PayloadTooLargeError(`the upload is over the ${perMinute} bytes you may upload per minute`, {
        details: { limit: 'maxBytesPerMinutePerUser', bytes: reserved, maxBytesPerMinute: perMinute },
      });
    }
    const now = this.#clock.now();
    this.#prune(now);
    // Refilling is a function of time alone: touching a user changes nothing a refusal could be charged for.
    const entry = this.#touch(userId, now);
    if (entry.inFlight >= maxInFlightPerUser) {
      throw new RateLimitError(
        `${maxInFlightPerUser} of your uploads are still in progress; wait for one to finish`,
        IN_FLIGHT_RETRY_MS,
        { details: { limit: 'maxInFlightPerUser' } },
      );
    }
    if (entry.tokens < reserved) {
      const waitMs = Math.ceil(((reserved - entry.tokens) * PERIOD_MS) / perMinute);
      throw new RateLimitError(`you may upload ${perMinute} bytes per minute; this one fits later`, waitMs, {
        details: { limit: 'maxBytesPerMinutePerUser' },
      });
    }
    entry.tokens -= reserved;
    entry.inFlight++;
    let settled = false;
    let released = false;
    const bodyRead = (bytes: number): void => {
      if (settled) return;
      settled = true;
      const charged = Math.min(reserved, Math.max(0, bytes));
      const back = this.#touch(userId, this.#clock.now());
      back.tokens = Math.min(perMinute, back.tokens + reserved - charged);
    };
    return {
      maxBodyBytes: reserved,
      bodyRead,
      release: () => {
        if (released) return;
        bodyRead(0);
        released = true;
        this.#touch(userId, this.#clock.now()).inFlight--;
      },
    };
  }

  /** The user's entry, refilled to `now` and moved to the end of the map; a new, full one when there is none. */
  #touch(userId: string, now: number): UserEntry {
    const perMinute = this.limits.maxBytesPerMinutePerUser;
    const entry = this.#users.get(userId) ?? { inFlight: 0, tokens: perMinute, at: now };
    const elapsed = Math.max(0, now - entry.at);
    entry.tokens = Math.min(perMinute, entry.tokens + (elapsed * perMinute) / PERIOD_MS);
    entry.at = Math.max(entry.at, now);
    this.#users.delete(userId);
    this.#users.set(userId, entry);
    return entry;
  }

  /**
   * Drops a few idle entries from the front (least recently touched): each admit looks at no more than four, so
   * the cost stays constant while the map keeps up with the users who come and go.
   */
  #prune(now: number): void {
    for (let i = 0; i < 4; i++) {
      const first = this.#users.entries().next();
      if (first.done === true) return;
      const [userId, entry] = first.value;
      // Idle, but touched within the period: it, and everything after it, may still be short of bytes.
      if (entry.inFlight === 0 && now - entry.at < PERIOD_MS) return;
      this.#users.delete(userId);
      // In flight: kept, moved to the end; it is touched again when released.
      if (entry.inFlight > 0) this.#users.set(userId, entry);
    }
  }
}

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    const field = `uploadLimits.${name}`;
    throw new ValidationError(`${field} must be a positive integer`, { details: { field } });
  }
  return value;
}
