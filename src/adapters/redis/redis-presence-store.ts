import type { Redis } from 'ioredis';
import type { PresenceRecord } from '../../domain';
import { StorageError } from '../../domain';
import type { Clock, PresenceStore } from '../../ports';
import { SystemClock } from '../../util/system-clock';

/** Options of `RedisPresenceStore`. */
export interface RedisPresenceStoreOptions {
  /** A connected (or connecting) ioredis client; the store never closes it. */
  readonly client: Redis;
  /** Prepended to every key (default `chat-room:presence:`), so several systems or tests can share one Redis. */
  readonly keyPrefix?: string;
  /** The clock expiry is measured on: every node's clock, so keep them in sync (NTP). */
  readonly clock?: Clock;
  /**
   * How long Redis keeps a record after it went stale (ms, default 30 days): past that, the user reads as never
   * seen and the memory is freed. A record written with a TTL of 0 is kept until overwritten.
   */
  readonly retainMs?: number;
}

const NEVER = 'never';

// KEYS[1] the record's key; ARGV: now, the new expiry (ms or 'never'), the key's Redis TTL (ms, 0: keep).
// Atomic, so a heartbeat racing an expiry or a `set` on another node never revives a stale record.
const HEARTBEAT = `
local expiresAt = redis.call('HGET', KEYS[1], 'expiresAt')
if not expiresAt then return 0 end
if expiresAt ~= '${NEVER}' and tonumber(expiresAt) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'expiresAt', ARGV[2], 'touchedAt', ARGV[1])
if ARGV[3] == '0' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

/** The connection states in which ioredis would hold a command until Redis returns: fail fast instead. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

/**
 * A `PresenceStore` on Redis, shared by every node: one hash per user holding the record, its expiry and its
 * last write or heartbeat. Expiry is decided on the injected clock when read (so a stale record reads as offline,
 * last seen at its last heartbeat); Redis `PEXPIRE` only frees the key `retainMs` after it went stale. A node that
 * crashes stops heartbeating, so its users read as offline within one TTL.
 *
 * While Redis is unreachable every call rejects with a `StorageError` (`cause`: the driver's error) and nothing
 * throws outside the returned promise: a caller treats presence as unknown and tries again. Calls fail at once
 * once the connection is known lost; for a call caught in flight, give the client a `commandTimeout` or a small
 * `maxRetriesPerRequest` to bound the wait.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * import { RedisPresenceStore } from 'chat-room/redis'
 * const store = new RedisPresenceStore({ client: new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 }) })
 * await store.set({ userId: 'bob', status: 'online', lastActiveAt: Date.now(), lastSeenAt: Date.now() }, 90_000)
 * ```
 */
export class RedisPresenceStore implements PresenceStore {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #retainMs: number;

  /**
   * Wraps a client; sends nothing until called.
   *
   * @param options - the client, key prefix, clock and retention
   */
  constructor(options: RedisPresenceStoreOptions) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix ?? 'chat-room:presence:';
    this.#clock = options.clock ?? new SystemClock();
    this.#retainMs = options.retainMs ?? 30 * 24 * 3_600_000;
  }

  async set(record: PresenceRecord, ttlMs: number): Promise<void> {
    const now = this.#clock.now();
    const key = this.#prefix + record.userId;
    await this.#run('save a presence record', () => {
      const tx = this.#client
        .multi()
        .hset(key, 'record', JSON.stringify(record), 'expiresAt', this.#expiry(now, ttlMs), 'touchedAt', now);
      if (ttlMs > 0) tx.pexpire(key, ttlMs + this.#retainMs);
      else tx.persist(key);
      return tx.exec().then(throwFirst);
    });
  }

  async heartbeat(userId: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock.now();
    const keyTtl = ttlMs > 0 ? ttlMs + this.#retainMs : 0;
    const extended = await this.#run('extend a presence record', () =>
      this.#client.eval(HEARTBEAT, 1, this.#prefix + userId, now, this.#expiry(now, ttlMs), keyTtl),
    );
    return extended === 1;
  }

  async get(userId: string): Promise<PresenceRecord | undefined> {
    return (await this.getMany([userId])).get(userId);
  }

  async getMany(userIds: readonly string[]): Promise<Map<string, PresenceRecord>> {
    const out = new Map<string, PresenceRecord>();
    if (userIds.length === 0) return out;
    const pipeline = this.#client.pipeline();
    for (const id of userIds) pipeline.hmget(this.#prefix + id, 'record', 'expiresAt', 'touchedAt');
    const rows = (await this.#run('read presence records', () => pipeline.exec().then(throwFirst))) as (
      string | null
    )[][];
    const now = this.#clock.now();
    userIds.forEach((id, i) => {
      const record = this.#decode(id, rows[i], now);
      if (record !== undefined) out.set(id, record);
    });
    return out;
  }

  #expiry(now: number, ttlMs: number): string {
    return ttlMs > 0 ? String(now + ttlMs) : NEVER;
  }

  #decode(userId: string, row: (string | null)[] | undefined, now: number): PresenceRecord | undefined {
    const [json, expiresAt, touchedAt] = row ?? [];
    if (json === null || json === undefined) return undefined;
    let record: PresenceRecord;
    try {
      record = JSON.parse(json) as PresenceRecord;
    } catch (cause) {
      throw new StorageError(`unreadable presence record for ${userId}`, { cause, details: { userId } });
    }
    if (record.status === 'offline' || expiresAt === NEVER || Number(expiresAt) > now)
      return Object.freeze(record);
    return Object.freeze({
      userId,
      status: 'offline',
      lastActiveAt: record.lastActiveAt,
      lastSeenAt: Number(touchedAt),
    });
  }

  async #run<T>(what: string, call: () => Promise<T>): Promise<T> {
    if (DOWN.has(this.#client.status)) {
      throw new StorageError(`Redis is unreachable: could not ${what}`, {
        details: { status: this.#client.status },
      });
    }
    try {
      return await call();
    } catch (cause) {
      if (cause instanceof StorageError) throw cause;
      throw new StorageError(`Redis failed: could not ${what}`, { cause });
    }
  }
}

/** A pipeline's or transaction's replies, or the first error among them. */
function throwFirst(replies: [Error | null, unknown][] | null): unknown[] {
  if (replies === null) throw new Error('transaction aborted');
  return replies.map(([error, reply]) => {
    if (error !== null) throw error;
    return reply;
  });
}
