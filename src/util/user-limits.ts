import { ValidationError } from '../domain';
import { HttpError } from './http-error';
import type { Rate } from './token-bucket';
import { TokenBucket } from './token-bucket';

/** The limits a server holds each user (and, optionally, each client address) to, across all connections. */
export interface UserLimitsOptions {
  /** Connections (WebSockets and long-poll links) one user may have open at once. Default 16. */
  readonly maxConnectionsPerUser?: number;
  /** Frames one user may send across all of their connections. Default 100 per second. */
  readonly rate?: Rate;
  /** Connections one client address may have open at once; off (`undefined`) by default. */
  readonly maxConnectionsPerAddress?: number;
}

/** A place taken by an admitted connection; `release` gives it back (once; later calls do nothing). */
export interface ConnectionSlot {
  release(): void;
}

/** How long a refused connection is told to wait before trying again (s). */
const CONNECTION_RETRY_AFTER_S = 5;

/** What is kept per user while they have a connection: the count, and their shared frame budget. */
interface UserEntry {
  connections: number;
  readonly bucket: TokenBucket;
}

/**
 * Counts connections per user (and per address) and holds each user's frame budget, shared by every transport of
 * a server. A user's entry lives while they have a connection, so memory follows the connections open.
 *
 * @example
 * ```ts
 * const limits = new UserLimits({ maxConnectionsPerUser: 16 })
 * const slot = limits.admit('alice', '127.0.0.1') // a ConnectionSlot, or the 429 to answer when full
 * limits.takeFrame('alice', Date.now()) // 0, or how long to wait (ms)
 * ```
 */
export class UserLimits {
  readonly maxConnectionsPerUser: number;
  readonly rate: Rate;
  readonly maxConnectionsPerAddress: number | undefined;
  readonly #users = new Map<string, UserEntry>();
  readonly #addresses = new Map<string, number>();
  readonly #now: () => number;

  /**
   * @param options - the limits (defaults fill the rest)
   * @param now - the time now (ms), for the frame budget
   * @throws ValidationError when a limit is not a positive integer
   */
  constructor(options: UserLimitsOptions = {}, now: () => number = Date.now) {
    this.maxConnectionsPerUser = positive(options.maxConnectionsPerUser ?? 16, 'maxConnectionsPerUser');
    const rate = options.rate ?? { frames: 100, perMs: 1_000 };
    this.rate = {
      frames: positive(rate?.frames, 'rate.frames'),
      perMs: positive(rate?.perMs, 'rate.perMs'),
    };
    this.maxConnectionsPerAddress =
      options.maxConnectionsPerAddress === undefined
        ? undefined
        : positive(options.maxConnectionsPerAddress, 'maxConnectionsPerAddress');
    this.#now = now;
  }

  /** How many connections a user has open. */
  connectionsOf(userId: string): number {
    return this.#users.get(userId)?.connections ?? 0;
  }

  /**
   * Takes a place for a new connection of `userId` from `address`, or answers the 429 (with `Retry-After`) that
   * refuses it when a limit is full, taking nothing. Both transports answer with it.
   *
   * @param userId - the authenticated user
   * @param address - the client's address, when known
   */
  admit(userId: string, address: string | undefined): ConnectionSlot | HttpError {
    const entry = this.#users.get(userId);
    if ((entry?.connections ?? 0) >= this.maxConnectionsPerUser) return tooManyConnections('this user');
    const cap = this.maxConnectionsPerAddress;
    const counted = cap !== undefined && address !== undefined;
    if (counted && (this.#addresses.get(address) ?? 0) >= cap) return tooManyConnections('this address');

    if (entry === undefined) {
      this.#users.set(userId, { connections: 1, bucket: new TokenBucket(this.rate, this.#now()) });
    } else {
      entry.connections += 1;
    }
    if (counted) this.#addresses.set(address, (this.#addresses.get(address) ?? 0) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#leave(userId, counted ? address : undefined);
      },
    };
  }

  /**
   * Charges one frame to a user's budget.
   *
   * @returns 0 when it may pass; otherwise how long until it could (ms)
   */
  takeFrame(userId: string): number {
    // A user without an admitted connection (a transport used on its own) has no shared budget to charge.
    return this.#users.get(userId)?.bucket.take(this.#now()) ?? 0;
  }

  #leave(userId: string, address: string | undefined): void {
    const entry = this.#users.get(userId);
    if (entry !== undefined) {
      entry.connections -= 1;
      if (entry.connections === 0) this.#users.delete(userId);
    }
    if (address === undefined) return;
    const left = (this.#addresses.get(address) ?? 1) - 1;
    if (left === 0) this.#addresses.delete(address);
    else this.#addresses.set(address, left);
  }
}

function tooManyConnections(whose: string): HttpError {
  return new HttpError(429, 'RATE_LIMITED', `too many connections for ${whose}: close one first`, {
    'Retry-After': String(CONNECTION_RETRY_AFTER_S),
  });
}

function positive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a positive integer`, { details: { field } });
  }
  return value;
}
