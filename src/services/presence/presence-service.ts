import type { PresenceRecord, PresenceStatus } from '../../domain';
import { ValidationError, deriveStatus, requireId } from '../../domain';
import type { Clock, PresenceStore, TimerHandle } from '../../ports';
import type { TaskTracker } from '../../util/task-tracker';
import type { DeviceOutbox } from '../device-outbox';
import type { NotificationCenter } from '../notification-center';
import type { PresenceAudience, PresencePolicy, RecipientKey } from './presence-policies';
import { InterestPolicy } from './presence-policies';
import type { SessionRegistry } from './session-registry';

/** The seed's idle ladder: a change at 1, 2, 5 and 10 minutes without activity. */
export const IDLE_LADDER_MINUTES: readonly number[] = [1, 2, 5, 10];

/** What it costs to keep everyone informed, counted by the service. */
export interface PresenceCounters {
  /** The policy counted. */
  readonly policy: string;
  /** Status changes delivered to a recipient (one per recipient per change). */
  readonly pushes: number;
  /** Frames carrying live changes (a batch is one frame). */
  readonly frames: number;
  /** Bytes of those frames on the wire (as the outbox encodes them). */
  readonly bytes: number;
  /** Snapshot frames (on coming to the foreground, or on subscribing). */
  readonly snapshotFrames: number;
  /** Statuses carried by snapshots. */
  readonly snapshotEntries: number;
  /** Bytes of snapshot frames. */
  readonly snapshotBytes: number;
}

/** Where the users' relations come from: friends and privacy. */
export interface PresenceRelations {
  /** The users who would see this user's status (those who keep them as a contact). */
  friendsOf(userId: string): readonly string[];
  /** Whether a viewer may see the subject's status (the subject's last-seen visibility). */
  maySee(viewerId: string, subjectId: string): boolean;
}

/** What the presence service composes. */
export interface PresenceServiceOptions {
  readonly clock: Clock;
  readonly store: PresenceStore;
  /** The fanout policy (default: interest). */
  readonly policy?: PresencePolicy;
  readonly relations: PresenceRelations;
  /** Who is connected: presence reads it, and follows its session events. */
  readonly sessions: SessionRegistry;
  /** Where the registry's session events are published. */
  readonly events: NotificationCenter;
  /** Where status changes and snapshots go. */
  readonly outbox: DeviceOutbox;
  /** How long without activity makes an online user idle (ms). Default 5 minutes. */
  readonly idleAfterMs?: number;
  /** How long a stored record stays fresh without a heartbeat (ms). Default 90 s; 0 turns expiry off. */
  readonly storeTtlMs?: number;
  /** The most users one session may subscribe to. Default 100. */
  readonly maxSubscriptions?: number;
  /** Follows store writes, so a caller can wait for them. */
  readonly tasks?: TaskTracker;
}

/** Whom one session shows, as presence keeps it (who is connected is the registry's). */
interface Interest {
  readonly sessionId: string;
  readonly userId: string;
  /** Whether the session is among the subscribers now: in the foreground. */
  following: boolean;
  users: ReadonlySet<string>;
}

/** The keys of the changes without an idle rung (see `#target`). */
const STATUS_KEYS: Readonly<Record<PresenceStatus, string>> = {
  online: 'online/',
  idle: 'idle/',
  away: 'away/',
  offline: 'offline/',
};

/** How stale the stored `lastActiveAt` of an active user may get (ms): one store write per second at most. */
const ACTIVITY_SAVE_MS = 1_000;

/** What the service keeps per user besides the registry's sessions: activity, announcements, timers. */
interface Subject {
  lastActiveAt: number;
  /** The `lastActiveAt` the store was last given. */
  savedActiveAt: number;
  /** What others were last told: the status... */
  announcedStatus: PresenceStatus;
  /** ...and the idle rung with the ladder. */
  announcedIdle: number | undefined;
  /** The key (see `#target`) of a change waiting out its grace period, and its timer. */
  pendingKey: string | undefined;
  pendingTimer: TimerHandle | undefined;
  /** The idle check, re-armed lazily (activity does not touch it). */
  idleTimer: TimerHandle | undefined;
}

/**
 * Presence that stays cheap at scale. It derives each user's status from their sessions (read from the
 * `SessionRegistry`) and activity, and tells others about changes as its `PresencePolicy` says: to whom, batched
 * or not, after which grace, with idleness pushed or left to readers. The public view of every user — what was
 * announced, plus `lastActiveAt` — sits in the `PresenceStore`, where snapshots are read, so a snapshot never
 * shows a change that was suppressed. Changes leave through the `DeviceOutbox`; presence builds no frames.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * const bob = chat.connect('bob')
 * await bob.subscribePresence(['alice'])
 * bob.on('presence', updates => console.log(updates))
 * ```
 */
export class PresenceService {
  readonly policy: PresencePolicy;
  readonly #clock: Clock;
  readonly #store: PresenceStore;
  readonly #relations: PresenceRelations;
  readonly #registry: SessionRegistry;
  readonly #outbox: DeviceOutbox;
  readonly #idleAfterMs: number;
  readonly #ttlMs: number;
  readonly #maxSubscriptions: number;
  readonly #tasks: TaskTracker | undefined;
  readonly #audience: PresenceAudience;
  /** Per open session, the users it shows. */
  readonly #interests = new Map<string, Interest>();
  readonly #subjects = new Map<string, Subject>();
  /** Foreground sessions subscribed to each user. */
  readonly #subscribers = new Map<string, Set<Interest>>();
  /** Per recipient, the latest record of each subject waiting for the batch to go out. */
  readonly #batches = new Map<RecipientKey, Map<string, PresenceRecord>>();
  #refreshTimer: TimerHandle | undefined;
  #counters = { pushes: 0, frames: 0, bytes: 0, snapshotFrames: 0, snapshotEntries: 0, snapshotBytes: 0 };

  /**
   * Creates the service.
   *
   * @param options - clock, store, policy, relations, the frame sink and the timing settings
   * @throws ValidationError when a setting is out of range
   */
  constructor(options: PresenceServiceOptions) {
    this.policy = options.policy ?? new InterestPolicy();
    this.#clock = options.clock;
    this.#store = options.store;
    this.#relations = options.relations;
    this.#registry = options.sessions;
    this.#outbox = options.outbox;
    this.#idleAfterMs = positive(options.idleAfterMs ?? 5 * 60_000, 'idleAfterMs');
    this.#ttlMs = options.storeTtlMs ?? 90_000;
    if (!Number.isFinite(this.#ttlMs) || this.#ttlMs < 0) throw new ValidationError('storeTtlMs must be ≥ 0');
    this.#maxSubscriptions = positive(options.maxSubscriptions ?? 100, 'maxSubscriptions');
    this.#tasks = options.tasks;
    this.#audience = {
      friendsOf: (id) => this.#relations.friendsOf(id),
      maySee: (viewer, subject) => this.#relations.maySee(viewer, subject),
      isOnline: (id) => this.#registry.sessionsOf(id).some((s) => s.foreground),
      subscribersOf: (id) => this.#subscribers.get(id) ?? [],
    };
    const { events } = options;
    events.on('session-opened', (e) => this.#opened(e.connectionId, e.userId, e.foreground));
    events.on('session-closed', (e) => this.#closed(e.connectionId, e.userId));
    events.on('session-foreground', (e) => this.#foregroundChanged(e.connectionId, e.userId, e.foreground));
  }

  /** What the service has sent so far. */
  get counters(): PresenceCounters {
    return { policy: this.policy.name, ...this.#counters };
  }

  /** Starts counting from zero (after a warm-up). */
  resetCounters(): void {
    this.#counters = {
      pushes: 0,
      frames: 0,
      bytes: 0,
      snapshotFrames: 0,
      snapshotEntries: 0,
      snapshotBytes: 0,
    };
  }

  #opened(sessionId: string, userId: string, foreground: boolean): void {
    const interest: Interest = { sessionId, userId, following: false, users: new Set() };
    this.#interests.set(sessionId, interest);
    const subject = this.#subject(userId);
    this.#ensureRefresh();
    if (foreground) this.#toForeground(interest, subject);
    else this.#reconsider(userId, subject);
  }

  #closed(sessionId: string, userId: string): void {
    const interest = this.#interests.get(sessionId);
    if (interest !== undefined) this.#unfollow(interest);
    this.#interests.delete(sessionId);
    this.#batches.delete(`s:${sessionId}`);
    this.#reconsider(userId, this.#subject(userId));
  }

  #foregroundChanged(sessionId: string, userId: string, foreground: boolean): void {
    const interest = this.#interests.get(sessionId);
    if (interest === undefined) return;
    const subject = this.#subject(userId);
    if (foreground) return this.#toForeground(interest, subject);
    this.#unfollow(interest); // a background session keeps its interest but hears nothing until it returns
    this.#reconsider(userId, subject);
  }

  /**
   * The user did something (sent, read, or said they are active): they are not idle.
   *
   * @param userId - the user
   */
  activity(userId: string): void {
    const subject = this.#subjects.get(userId);
    if (subject === undefined || this.#registry.sessionsOf(userId).length === 0) return;
    subject.lastActiveAt = this.#clock.now();
    // Readers see the timestamp and render idleness from it; nobody is pushed. A user sends many frames a second,
    // and idleness is shown in minutes, so the store is told at most once per ACTIVITY_SAVE_MS.
    if (
      this.policy.idle === 'timestamp' &&
      subject.lastActiveAt - subject.savedActiveAt >= ACTIVITY_SAVE_MS
    ) {
      this.#save(userId, subject);
    }
    this.#reconsider(userId, subject);
  }

  /**
   * Replaces the set of users a session is showing; the session gets one snapshot of their statuses, and from
   * then on (with the interest policy) their changes.
   *
   * @param sessionId - the session
   * @param userIds - every user it shows now (the open chat, the visible feed rows)
   * @returns the statuses it may see
   * @throws ValidationError when the list is malformed or too long
   */
  async subscribe(sessionId: string, userIds: readonly string[]): Promise<PresenceRecord[]> {
    const interest = this.#interests.get(sessionId);
    if (interest === undefined) throw new ValidationError(`no open session ${sessionId}`);
    if (!Array.isArray(userIds)) throw new ValidationError('userIds must be an array of user ids');
    if (userIds.length > this.#maxSubscriptions) {
      throw new ValidationError(`a session may follow at most ${this.#maxSubscriptions} users`, {
        details: { max: this.#maxSubscriptions },
      });
    }
    const ids = new Set(userIds.map((id, i) => requireId(id, `userIds[${i}]`)));
    this.#unfollow(interest);
    interest.users = ids;
    if (this.#registry.get(sessionId)?.foreground === true) this.#follow(interest);
    return this.#snapshot(interest, [...ids]);
  }

  /**
   * What a viewer may see of some users now, read from the store.
   *
   * @param viewerId - who looks
   * @param userIds - whom
   */
  async snapshot(viewerId: string, userIds: readonly string[]): Promise<PresenceRecord[]> {
    const visible = userIds.filter((id) => id !== viewerId && this.#relations.maySee(viewerId, id));
    const records = await this.#store.getMany(visible);
    const now = this.#clock.now();
    return visible.flatMap((id) => {
      const r = records.get(id);
      if (r === undefined)
        return [{ userId: id, status: 'offline' as const, lastActiveAt: 0, lastSeenAt: 0 }];
      // Idleness is read off the timestamp, so it is right without anyone having pushed it.
      return [
        r.status === 'online' && now - r.lastActiveAt >= this.#idleAfterMs ? { ...r, status: 'idle' } : r,
      ];
    });
  }

  /**
   * A user's status as it is now (not as announced): for routing and for the user's own view.
   *
   * @param userId - the user
   */
  statusOf(userId: string): PresenceStatus {
    const subject = this.#subjects.get(userId);
    if (subject === undefined) return 'offline';
    return deriveStatus(this.#counts(userId), subject.lastActiveAt, this.#clock.now(), this.#idleAfterMs);
  }

  /** Cancels every timer (the service stops announcing). */
  close(): void {
    for (const subject of this.#subjects.values()) {
      if (subject.pendingTimer !== undefined) this.#clock.clearTimeout(subject.pendingTimer);
      if (subject.idleTimer !== undefined) this.#clock.clearTimeout(subject.idleTimer);
      subject.pendingKey = undefined;
      subject.pendingTimer = undefined;
      subject.idleTimer = undefined;
    }
    if (this.#refreshTimer !== undefined) this.#clock.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  #toForeground(interest: Interest, subject: Subject): void {
    const { userId } = interest;
    subject.lastActiveAt = this.#clock.now(); // opening the app is activity
    if (this.policy.idle === 'timestamp') this.#save(userId, subject);
    this.#follow(interest);
    this.#reconsider(userId, subject);
    const ids = this.policy.snapshotOnForeground(userId, this.#audience);
    if (ids.length > 0) this.#track(this.#snapshot(interest, ids));
  }

  /** What others should be told of a user now, under the policy's idle mode. */
  #target(
    userId: string,
    subject: Subject,
  ): { status: PresenceStatus; idleMinutes: number | undefined; key: string } {
    const now = this.#clock.now();
    // The ladder's first rung is its own idle threshold.
    const idleAfter =
      this.policy.idle === 'ladder' ? (IDLE_LADDER_MINUTES[0] as number) * 60_000 : this.#idleAfterMs;
    let status = deriveStatus(this.#counts(userId), subject.lastActiveAt, now, idleAfter);
    let idleMinutes: number | undefined;
    if (status === 'idle' && this.policy.idle === 'timestamp') status = 'online';
    if (status === 'idle' && this.policy.idle === 'ladder') {
      const minutes = (now - subject.lastActiveAt) / 60_000;
      idleMinutes = [...IDLE_LADDER_MINUTES].reverse().find((m) => minutes >= m);
      if (idleMinutes === undefined) status = 'online';
    }
    // Without a rung the key is a shared constant: it is kept while a change waits out its grace.
    return {
      status,
      idleMinutes,
      key: idleMinutes === undefined ? STATUS_KEYS[status] : `${status}/${idleMinutes}`,
    };
  }

  /** Works out what others should be told about a user, and when. */
  #reconsider(userId: string, subject: Subject): void {
    const { status, idleMinutes, key } = this.#target(userId, subject);
    if (this.#audience.isOnline(userId) && this.policy.idle !== 'timestamp') this.#armIdle(userId, subject);
    if (status === subject.announcedStatus && idleMinutes === subject.announcedIdle) {
      this.#cancelPending(subject); // it came back inside the grace: nothing to say
      return;
    }
    const online = status === 'online' || status === 'idle';
    const grace = online ? this.policy.onlineGraceMs : this.policy.offlineGraceMs;
    if (grace === 0) {
      this.#cancelPending(subject);
      this.#announce(userId, subject, status, idleMinutes);
      return;
    }
    if (subject.pendingKey === key) return; // already waiting out the grace of this very change
    this.#cancelPending(subject);
    const timer = this.#clock.setTimeout(() => {
      subject.pendingKey = undefined;
      subject.pendingTimer = undefined;
      const now = this.#target(userId, subject);
      // Announced only if it still holds when the grace ends; otherwise start over from what holds now.
      if (now.key === key) this.#announce(userId, subject, status, idleMinutes);
      else this.#reconsider(userId, subject);
    }, grace);
    subject.pendingKey = key;
    subject.pendingTimer = timer;
  }

  #announce(userId: string, subject: Subject, status: PresenceStatus, idleMinutes: number | undefined): void {
    subject.announcedStatus = status;
    subject.announcedIdle = idleMinutes;
    const record = this.#save(userId, subject);
    const batch = this.policy.batchWindowMs;
    const updates = [record];
    for (const key of this.policy.recipients(userId, this.#audience)) {
      if (batch > 0) {
        this.#enqueue(key, record, batch);
        continue;
      }
      this.#counters.pushes++;
      this.#deliver(key, updates);
    }
  }

  #enqueue(key: RecipientKey, record: PresenceRecord, windowMs: number): void {
    let batch = this.#batches.get(key);
    if (batch === undefined) {
      batch = new Map();
      this.#batches.set(key, batch);
      this.#clock.setTimeout(() => this.#flush(key), windowMs);
    }
    batch.set(record.userId, record); // a later change of the same user replaces the earlier one
  }

  #flush(key: RecipientKey): void {
    const batch = this.#batches.get(key);
    if (batch === undefined) return;
    this.#batches.delete(key);
    this.#counters.pushes += batch.size;
    this.#deliver(key, [...batch.values()]);
  }

  /** One notice per recipient; a user recipient gets it on each foreground session. */
  #deliver(key: RecipientKey, updates: readonly PresenceRecord[]): void {
    const notice = { kind: 'presence', updates, snapshot: false } as const;
    this.#counters.frames++;
    this.#counters.bytes += this.#outbox.sizeOf(notice);
    const id = key.slice(2);
    if (key.startsWith('u:')) this.#outbox.toUser(id, notice);
    else if (this.#registry.get(id)?.foreground === true) this.#outbox.toSession(id, notice);
  }

  async #snapshot(interest: Interest, ids: readonly string[]): Promise<PresenceRecord[]> {
    const updates = await this.snapshot(interest.userId, ids);
    if (!this.#interests.has(interest.sessionId)) return updates;
    const notice = { kind: 'presence', updates, snapshot: true } as const;
    this.#counters.snapshotFrames++;
    this.#counters.snapshotEntries += updates.length;
    this.#counters.snapshotBytes += this.#outbox.sizeOf(notice);
    this.#outbox.toSession(interest.sessionId, notice);
    return updates;
  }

  #save(userId: string, subject: Subject): PresenceRecord {
    const status = subject.announcedStatus;
    const idleMinutes = subject.announcedIdle;
    const record: PresenceRecord = {
      userId,
      status,
      lastActiveAt: subject.lastActiveAt,
      lastSeenAt: this.#registry.lastSeenAt(userId),
      ...(idleMinutes === undefined ? {} : { idleMinutes }),
    };
    subject.savedActiveAt = subject.lastActiveAt;
    this.#track(this.#store.set(record, status === 'offline' ? 0 : this.#ttlMs));
    return record;
  }

  /** Keeps the stored records of connected users fresh, in one sweep per third of the expiry. */
  #ensureRefresh(): void {
    if (this.#ttlMs === 0 || this.#refreshTimer !== undefined) return;
    this.#refreshTimer = this.#clock.setTimeout(() => {
      this.#refreshTimer = undefined;
      let connected = 0;
      for (const [userId, subject] of this.#subjects) {
        if (this.#registry.sessionsOf(userId).length === 0 || subject.announcedStatus === 'offline') continue;
        connected++;
        this.#track(this.#store.heartbeat(userId, this.#ttlMs));
      }
      if (connected > 0) this.#ensureRefresh();
    }, this.#ttlMs / 3);
  }

  /** Wakes when the user would go idle (or reach the next rung); activity in between just moves the target. */
  #armIdle(userId: string, subject: Subject): void {
    if (subject.idleTimer !== undefined) return;
    const idleFor = this.#clock.now() - subject.lastActiveAt;
    const thresholds =
      this.policy.idle === 'ladder' ? IDLE_LADDER_MINUTES.map((m) => m * 60_000) : [this.#idleAfterMs];
    const next = thresholds.find((t) => t > idleFor);
    if (next === undefined) return;
    subject.idleTimer = this.#clock.setTimeout(() => {
      subject.idleTimer = undefined;
      if (this.#audience.isOnline(userId)) this.#reconsider(userId, subject);
    }, next - idleFor);
  }

  /** Puts a foreground session among the subscribers of every user it shows. */
  #follow(interest: Interest): void {
    interest.following = true;
    for (const id of interest.users) {
      let set = this.#subscribers.get(id);
      if (set === undefined) {
        set = new Set();
        this.#subscribers.set(id, set);
      }
      set.add(interest);
    }
  }

  /** Takes a session out of the subscribers of every user it shows; empty sets go. */
  #unfollow(interest: Interest): void {
    if (!interest.following) return;
    interest.following = false;
    for (const id of interest.users) {
      const set = this.#subscribers.get(id);
      set?.delete(interest);
      if (set?.size === 0) this.#subscribers.delete(id);
    }
  }

  #cancelPending(subject: Subject): void {
    if (subject.pendingTimer === undefined) return;
    this.#clock.clearTimeout(subject.pendingTimer);
    subject.pendingKey = undefined;
    subject.pendingTimer = undefined;
  }

  #counts(userId: string): { foreground: number; background: number } {
    const sessions = this.#registry.sessionsOf(userId);
    const foreground = sessions.filter((s) => s.foreground).length;
    return { foreground, background: sessions.length - foreground };
  }

  #subject(userId: string): Subject {
    let subject = this.#subjects.get(userId);
    if (subject === undefined) {
      subject = {
        lastActiveAt: 0,
        savedActiveAt: 0,
        announcedStatus: 'offline',
        announcedIdle: undefined,
        pendingKey: undefined,
        pendingTimer: undefined,
        idleTimer: undefined,
      };
      this.#subjects.set(userId, subject);
    }
    return subject;
  }

  #track(work: Promise<unknown>): void {
    const handled = work.catch(() => undefined);
    if (this.#tasks !== undefined) void this.#tasks.track(handled);
  }
}

function positive(value: number, field: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ValidationError(`${field} must be a positive number`);
  return value;
}
