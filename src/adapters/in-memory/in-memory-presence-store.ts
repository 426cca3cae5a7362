import type { PresenceRecord } from '../../domain';
import type { Clock, PresenceStore } from '../../ports';
import { SystemClock } from '../../util/system-clock';

interface Entry {
  record: PresenceRecord;
  /** When the record stops being fresh (ms), or Infinity. */
  expiresAt: number;
  /** The last write or heartbeat (ms). */
  touchedAt: number;
}

/** Options of the in-memory presence store. */
export interface InMemoryPresenceStoreOptions {
  /** The clock expiry is measured on. */
  readonly clock?: Clock;
}

/**
 * The reference `PresenceStore`: a map with expiry on the injected clock, checked when read.
 *
 * @example
 * ```ts
 * import { ChatSystem, InMemoryPresenceStore } from 'chat-room'
 * const chat = ChatSystem.create({ presenceStore: new InMemoryPresenceStore() })
 * ```
 */
export class InMemoryPresenceStore implements PresenceStore {
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();

  /**
   * Creates an empty store.
   *
   * @param options - the clock
   */
  constructor(options: InMemoryPresenceStoreOptions = {}) {
    this.#clock = options.clock ?? new SystemClock();
  }

  async set(record: PresenceRecord, ttlMs: number): Promise<void> {
    const now = this.#clock.now();
    this.#entries.set(record.userId, {
      record: Object.freeze(Object.assign({}, record)),
      expiresAt: ttlMs > 0 ? now + ttlMs : Number.POSITIVE_INFINITY,
      touchedAt: now,
    });
  }

  async heartbeat(userId: string, ttlMs: number): Promise<boolean> {
    const entry = this.#entries.get(userId);
    const now = this.#clock.now();
    if (entry === undefined || entry.expiresAt <= now) return false;
    entry.expiresAt = ttlMs > 0 ? now + ttlMs : Number.POSITIVE_INFINITY;
    entry.touchedAt = now;
    return true;
  }

  async get(userId: string): Promise<PresenceRecord | undefined> {
    return this.#read(userId);
  }

  async getMany(userIds: readonly string[]): Promise<Map<string, PresenceRecord>> {
    const out = new Map<string, PresenceRecord>();
    for (const id of userIds) {
      const record = this.#read(id);
      if (record !== undefined) out.set(id, record);
    }
    return out;
  }

  #read(userId: string): PresenceRecord | undefined {
    const entry = this.#entries.get(userId);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.#clock.now() || entry.record.status === 'offline') return entry.record;
    const { lastActiveAt } = entry.record;
    return Object.freeze({ userId, status: 'offline', lastActiveAt, lastSeenAt: entry.touchedAt });
  }
}
