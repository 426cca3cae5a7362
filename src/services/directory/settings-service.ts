import type { Clock } from '../../ports';
import type { UserDirectory } from './user-directory';
import type { LastSeenVisibility, SettingsRecord } from '../../domain';
import type { NotificationCenter } from '../notification-center';
import { MAX_THREAD_ID_LENGTH, ValidationError } from '../../domain';

interface UserSettings {
  readReceipts: boolean;
  previews: boolean;
  lastSeen: LastSeenVisibility;
  discoverable: boolean;
  readonly mutedUntil: Map<string, number>;
}

/**
 * One user's settings: read receipts (reciprocal in direct chats), notification previews, last-seen visibility,
 * whether strangers may find them (global search), muted threads, blocks.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.settings('bob').mute(threadId, { until: Date.now() + 8 * 3600_000 })
 * chat.settings('bob').setReadReceipts(false)
 * ```
 */
export interface SettingsController {
  /** Whose settings. */
  readonly userId: string;
  /** Whether this user sends and sees read receipts (in direct chats; groups always show them, as WhatsApp does). */
  readonly readReceipts: boolean;
  /** Whether push notifications show the message text. */
  readonly previews: boolean;
  /** Who may see this user's status and last-seen time. */
  readonly lastSeen: LastSeenVisibility;
  /** Sets who may see this user's status and last-seen time: everyone, contacts or nobody. */
  setLastSeen(visibility: LastSeenVisibility): void;
  /** Whether people who do not have this user as a contact may find them with a global search (default false). */
  readonly discoverable: boolean;
  /** Lets strangers find this user with a global search, or stops it. */
  setDiscoverable(enabled: boolean): void;
  /** Turns read receipts on or off. */
  setReadReceipts(enabled: boolean): void;
  /** Turns message previews in push notifications on or off. */
  setPreviews(enabled: boolean): void;
  /** Mutes a thread: no push notifications for it until `until` (ms), or forever without it. */
  mute(threadId: string, options?: { until?: number }): void;
  /** Lifts a mute. */
  unmute(threadId: string): void;
  /** Whether a thread is muted now. */
  isMuted(threadId: string): boolean;
  /** Blocks a user: they can no longer message this user directly, see them type, or find them globally. */
  block(userId: string): void;
  /** Lifts a block. */
  unblock(userId: string): void;
}

/**
 * Keeps every user's settings and hands out a `SettingsController` per user.
 */
export class SettingsService {
  readonly #clock: Clock;
  readonly #users: UserDirectory;
  readonly #settings = new Map<string, UserSettings>();
  /** The users who chose to be discoverable: what a global search looks through. */
  readonly #discoverable = new Set<string>();
  readonly #events: NotificationCenter | undefined;

  /**
   * Creates the service.
   *
   * @param clock - to tell whether a mute has ended
   * @param users - the registered users (for blocks)
   * @param events - where changes are announced (`record-changed`), for the directory store
   */
  constructor(clock: Clock, users: UserDirectory, events?: NotificationCenter) {
    this.#clock = clock;
    this.#users = users;
    this.#events = events;
  }

  /**
   * The settings of a registered user.
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  controller(userId: string): SettingsController {
    this.#users.get(userId);
    const s = this.#of(userId);
    const clock = this.#clock;
    const users = this.#users;
    const changed = (): void => this.#events?.publish('record-changed', { kind: 'settings', id: userId });
    const discoverable = this.#discoverable;
    return {
      userId,
      get readReceipts() {
        return s.readReceipts;
      },
      get previews() {
        return s.previews;
      },
      get lastSeen() {
        return s.lastSeen;
      },
      get discoverable() {
        return s.discoverable;
      },
      setLastSeen(visibility: LastSeenVisibility): void {
        if (visibility !== 'everyone' && visibility !== 'contacts' && visibility !== 'nobody') {
          throw new ValidationError(`lastSeen must be 'everyone', 'contacts' or 'nobody'`);
        }
        s.lastSeen = visibility;
        changed();
      },
      setDiscoverable(enabled: boolean): void {
        s.discoverable = requireBoolean(enabled, 'enabled');
        if (enabled) discoverable.add(userId);
        else discoverable.delete(userId);
        changed();
      },
      setReadReceipts(enabled: boolean): void {
        s.readReceipts = requireBoolean(enabled, 'enabled');
        changed();
      },
      setPreviews(enabled: boolean): void {
        s.previews = requireBoolean(enabled, 'enabled');
        changed();
      },
      mute(threadId: string, options: { until?: number } = {}): void {
        requireThreadId(threadId);
        const until = options.until ?? Number.POSITIVE_INFINITY;
        if (typeof until !== 'number' || Number.isNaN(until) || until <= clock.now()) {
          throw new ValidationError('mute until must be a time in the future (ms)');
        }
        s.mutedUntil.set(threadId, until);
        changed();
      },
      unmute(threadId: string): void {
        requireThreadId(threadId);
        if (s.mutedUntil.delete(threadId)) changed();
      },
      isMuted(threadId: string): boolean {
        return (s.mutedUntil.get(threadId) ?? 0) > clock.now();
      },
      block(other: string): void {
        users.block(userId, other);
      },
      unblock(other: string): void {
        users.unblock(userId, other);
      },
    };
  }

  /**
   * Whether a user sends and sees read receipts.
   *
   * @param userId - the user
   */
  readReceipts(userId: string): boolean {
    return this.#settings.get(userId)?.readReceipts ?? true;
  }

  /**
   * Whether a user's push notifications show message text.
   *
   * @param userId - the user
   */
  previews(userId: string): boolean {
    return this.#settings.get(userId)?.previews ?? true;
  }

  /**
   * Who may see a user's status and last-seen time.
   *
   * @param userId - the user
   */
  lastSeen(userId: string): LastSeenVisibility {
    return this.#settings.get(userId)?.lastSeen ?? 'everyone';
  }

  /**
   * Whether strangers may find a user with a global search.
   *
   * @param userId - the user
   */
  discoverable(userId: string): boolean {
    return this.#discoverable.has(userId);
  }

  /** The users who chose to be discoverable, live (read it, never change it): what a global search looks through. */
  discoverableUsers(): ReadonlySet<string> {
    return this.#discoverable;
  }

  /**
   * Whether a block stands between two users, either way: then neither reaches the other (direct messages,
   * typing).
   *
   * @param a - one user
   * @param b - the other
   */
  blockedBetween(a: string, b: string): boolean {
    return this.#blocks(a, b) || this.#blocks(b, a);
  }

  #blocks(userId: string, otherId: string): boolean {
    return this.#users.has(userId) && this.#users.get(userId).hasBlocked(otherId);
  }

  /**
   * A user's settings as they stand now (mutes that ended are left out).
   *
   * @param userId - the user
   * @throws NotFoundError when the user is unknown
   */
  snapshot(userId: string): {
    readReceipts: boolean;
    previews: boolean;
    lastSeen: LastSeenVisibility;
    discoverable: boolean;
    muted: { threadId: string; until?: number }[];
    blocked: string[];
  } {
    const user = this.#users.get(userId);
    const muted = this.record(userId).mutes.map((m) => ({ ...m }));
    return {
      readReceipts: this.readReceipts(userId),
      previews: this.previews(userId),
      lastSeen: this.lastSeen(userId),
      discoverable: this.discoverable(userId),
      muted,
      blocked: [...user.blocked],
    };
  }

  /**
   * Whether a user muted a thread, now.
   *
   * @param userId - the user
   * @param threadId - the thread
   */
  isMuted(userId: string, threadId: string): boolean {
    return (this.#settings.get(userId)?.mutedUntil.get(threadId) ?? 0) > this.#clock.now();
  }

  /**
   * A user's settings as the directory store keeps them (mutes that have ended are left out; `discoverable` only
   * when true, so a record reads the same as one written before the setting existed).
   *
   * @param userId - the user
   */
  record(userId: string): SettingsRecord {
    const now = this.#clock.now();
    return {
      userId,
      readReceipts: this.readReceipts(userId),
      previews: this.previews(userId),
      lastSeen: this.lastSeen(userId),
      ...(this.discoverable(userId) ? { discoverable: true } : {}),
      mutes: [...(this.#settings.get(userId)?.mutedUntil ?? [])]
        .filter(([, until]) => until > now)
        .map(([threadId, until]) => (Number.isFinite(until) ? { threadId, until } : { threadId })),
    };
  }

  /**
   * Puts back settings loaded from the directory store; announces nothing.
   *
   * @param record - the stored settings
   */
  restore(record: SettingsRecord): void {
    if (record.discoverable === true) this.#discoverable.add(record.userId);
    else this.#discoverable.delete(record.userId);
    this.#settings.set(record.userId, {
      readReceipts: record.readReceipts,
      previews: record.previews,
      lastSeen: record.lastSeen,
      discoverable: record.discoverable === true,
      mutedUntil: new Map(record.mutes.map((m) => [m.threadId, m.until ?? Number.POSITIVE_INFINITY])),
    });
  }

  #of(userId: string): UserSettings {
    let s = this.#settings.get(userId);
    if (s === undefined) {
      s = {
        readReceipts: true,
        previews: true,
        lastSeen: 'everyone',
        discoverable: false,
        mutedUntil: new Map(),
      };
      this.#settings.set(userId, s);
    }
    return s;
  }
}

function requireBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(`${field} must be true or false`);
  return value;
}

function requireThreadId(value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_THREAD_ID_LENGTH) {
    throw new ValidationError('threadId must be a non-empty string');
  }
}
