import { ValidationError } from '../../domain';

/** The five fanout policies, each adding one technique to the one before. */
export type PresencePolicyName = 'naive' | 'online-friends' | 'batched' | 'debounced' | 'interest';

/** The names in order, from the seed's baseline to the default. */
export const PRESENCE_POLICIES: readonly PresencePolicyName[] = [
  'naive',
  'online-friends',
  'batched',
  'debounced',
  'interest',
];

/**
 * How idleness reaches others: `state` — going idle after the idle time (and back on activity) is a change
 * pushed like any other; `ladder` — the seed's state machine, a change at each of 1, 2, 5 and 10 minutes idle;
 * `timestamp` — never pushed: records carry `lastActiveAt` and readers work out "idle for N min".
 */
export type IdleMode = 'state' | 'ladder' | 'timestamp';

/** What a policy may ask about the people around a user. */
export interface PresenceAudience {
  /** The users who would see this user's status (those who keep them as a contact). */
  friendsOf(userId: string): readonly string[];
  /** Whether a viewer may see the subject's status (the subject's last-seen visibility). */
  maySee(viewerId: string, subjectId: string): boolean;
  /** Whether a user has a foreground session. */
  isOnline(userId: string): boolean;
  /** The foreground sessions subscribed to this user, with each session's user. */
  subscribersOf(userId: string): Iterable<{ readonly sessionId: string; readonly userId: string }>;
}

/**
 * Who hears of a change: a user (`u:` + id; the frame goes to each of their foreground sessions) or one
 * session (`s:` + id).
 */
export type RecipientKey = `u:${string}` | `s:${string}`;

/** Timing knobs a policy may take from configuration. */
export interface PresencePolicyOptions {
  /** Changes bound for one recipient within this window go out as one frame (ms; 0 sends at once). */
  readonly batchWindowMs?: number;
  /** A user must stay online this long before it is announced (ms). */
  readonly onlineGraceMs?: number;
  /** A user must stay away or offline this long before it is announced (ms). */
  readonly offlineGraceMs?: number;
  /** How idleness reaches others. */
  readonly idle?: IdleMode;
}

/**
 * A presence fanout policy: who hears of a status change, whether changes are batched, how long a change must
 * last before it is announced, and how idleness travels. The five policies form a chain, each subclass adding
 * one technique, so their costs can be compared on one workload.
 *
 * Pattern: Strategy — `PresenceService` asks its policy every question whose answer differs between designs.
 *
 * @example
 * ```ts
 * import { ChatSystem, createPresencePolicy } from 'chat-room'
 * const chat = ChatSystem.create({ presencePolicy: createPresencePolicy('debounced', { offlineGraceMs: 60_000 }) })
 * ```
 */
export abstract class PresencePolicy {
  abstract readonly name: PresencePolicyName;
  readonly batchWindowMs: number;
  readonly onlineGraceMs: number;
  readonly offlineGraceMs: number;
  readonly idle: IdleMode;

  /**
   * Sets the timing knobs; what is not given takes the policy's default.
   *
   * @param options - the knobs
   * @param defaults - the policy's own defaults
   * @throws ValidationError when a knob is negative or not a number
   */
  protected constructor(options: PresencePolicyOptions, defaults: Required<PresencePolicyOptions>) {
    this.batchWindowMs = nonNegative(options.batchWindowMs ?? defaults.batchWindowMs, 'batchWindowMs');
    this.onlineGraceMs = nonNegative(options.onlineGraceMs ?? defaults.onlineGraceMs, 'onlineGraceMs');
    this.offlineGraceMs = nonNegative(options.offlineGraceMs ?? defaults.offlineGraceMs, 'offlineGraceMs');
    const idle = options.idle ?? defaults.idle;
    if (idle !== 'state' && idle !== 'ladder' && idle !== 'timestamp') {
      throw new ValidationError(`idle must be 'state', 'ladder' or 'timestamp' (got ${String(idle)})`);
    }
    this.idle = idle;
  }

  /**
   * Who hears that a user's status changed.
   *
   * @param subjectId - the user whose status changed
   * @param audience - the people around them
   */
  abstract recipients(subjectId: string, audience: PresenceAudience): Iterable<RecipientKey>;

  /**
   * Whose statuses a session gets, unasked, when it comes to the foreground.
   *
   * @param userId - the session's user
   * @param audience - the people around them
   */
  abstract snapshotOnForeground(userId: string, audience: PresenceAudience): readonly string[];
}

const NO_TECHNIQUE: Required<PresencePolicyOptions> = {
  batchWindowMs: 0,
  onlineGraceMs: 0,
  offlineGraceMs: 0,
  idle: 'state',
};

/** 1. The seed's baseline: every friend hears every change, at once, whether online or not and whatever privacy says. */
export class NaivePolicy extends PresencePolicy {
  readonly name: PresencePolicyName = 'naive';

  /**
   * Creates the policy.
   *
   * @param options - timing knobs to override
   * @param defaults - the defaults of a subclass
   */
  constructor(options: PresencePolicyOptions = {}, defaults: Required<PresencePolicyOptions> = NO_TECHNIQUE) {
    super(options, defaults);
  }

  *recipients(subjectId: string, audience: PresenceAudience): Iterable<RecipientKey> {
    for (const friend of audience.friendsOf(subjectId)) yield `u:${friend}`;
  }

  snapshotOnForeground(userId: string, audience: PresenceAudience): readonly string[] {
    return audience.friendsOf(userId);
  }
}

/** 2. Only friends who are online and may see the status (last-seen privacy). */
export class OnlineFriendsPolicy extends NaivePolicy {
  override readonly name: PresencePolicyName = 'online-friends';

  override *recipients(subjectId: string, audience: PresenceAudience): Iterable<RecipientKey> {
    for (const friend of audience.friendsOf(subjectId)) {
      if (audience.isOnline(friend) && audience.maySee(friend, subjectId)) yield `u:${friend}`;
    }
  }

  override snapshotOnForeground(userId: string, audience: PresenceAudience): readonly string[] {
    return audience.friendsOf(userId).filter((friend) => audience.maySee(userId, friend));
  }
}

/** 3. + batching: all changes bound for one recipient within a window (default 1 s) go out as one frame. */
export class BatchedPolicy extends OnlineFriendsPolicy {
  override readonly name: PresencePolicyName = 'batched';

  /**
   * Creates the policy.
   *
   * @param options - timing knobs to override
   * @param defaults - the defaults of a subclass
   */
  constructor(
    options: PresencePolicyOptions = {},
    defaults: Required<PresencePolicyOptions> = { ...NO_TECHNIQUE, batchWindowMs: 1_000 },
  ) {
    super(options, defaults);
  }
}

/**
 * 4. + flap suppression: online is announced after 10 s, away and offline after 30 s, so a user who comes and
 * goes inside the grace is never announced; and idleness is a timestamp readers render, so it costs no push.
 */
export class DebouncedPolicy extends BatchedPolicy {
  override readonly name: PresencePolicyName = 'debounced';

  /**
   * Creates the policy.
   *
   * @param options - timing knobs to override
   * @param defaults - the defaults of a subclass
   */
  constructor(
    options: PresencePolicyOptions = {},
    defaults: Required<PresencePolicyOptions> = {
      batchWindowMs: 1_000,
      onlineGraceMs: 10_000,
      offlineGraceMs: 30_000,
      idle: 'timestamp',
    },
  ) {
    super(options, defaults);
  }
}

/**
 * 5. + interest (the default): a session subscribes to the users it is showing, and a change goes only to the
 * foreground sessions subscribed to that user; a session gets statuses when it subscribes, not on connect.
 */
export class InterestPolicy extends DebouncedPolicy {
  override readonly name: PresencePolicyName = 'interest';

  override *recipients(subjectId: string, audience: PresenceAudience): Iterable<RecipientKey> {
    for (const { sessionId, userId } of audience.subscribersOf(subjectId)) {
      if (audience.maySee(userId, subjectId)) yield `s:${sessionId}`;
    }
  }

  override snapshotOnForeground(): readonly string[] {
    return [];
  }
}

/**
 * Makes a policy by name, with timing knobs to override.
 *
 * @param name - one of `PRESENCE_POLICIES`
 * @param options - timing knobs
 * @throws ValidationError for an unknown name or a bad knob
 */
export function createPresencePolicy(
  name: PresencePolicyName,
  options: PresencePolicyOptions = {},
): PresencePolicy {
  switch (name) {
    case 'naive':
      return new NaivePolicy(options);
    case 'online-friends':
      return new OnlineFriendsPolicy(options);
    case 'batched':
      return new BatchedPolicy(options);
    case 'debounced':
      return new DebouncedPolicy(options);
    case 'interest':
      return new InterestPolicy(options);
    default:
      throw new ValidationError(
        `unknown presence policy ${JSON.stringify(name)}; use one of ${PRESENCE_POLICIES.join(', ')}`,
      );
  }
}

function nonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(`${field} must be a non-negative number of ms`);
  }
  return value;
}
