import type { ChatThread } from '../../domain';
import { requireBoolean, requirePositiveInt } from '../../domain';
import type { UserTypingFrame } from '../../protocol';
import type { Clock, TimerHandle } from '../../ports';
import type { ConversationDirectory, SettingsService } from '../directory';
import type { NotificationCenter } from '../notification-center';
import type { SessionRegistry } from '../presence';
import type { SessionOutbox } from './session-outbox';

/** How long a typing state lasts after the last `typing: true` unless renewed (ms). */
export const TYPING_TTL_MS = 5_000;

/** Within this long of forwarding `typing: true`, another `typing: true` only renews the state (ms). */
export const TYPING_THROTTLE_MS = 2_000;

/** What the relay composes. */
export interface TypingRelayDeps {
  readonly clock: Clock;
  readonly conversations: ConversationDirectory;
  /** Blocks: typing never crosses one, either way. */
  readonly settings: SettingsService;
  /** To tell whether a user's last session closed. */
  readonly sessions: SessionRegistry;
  readonly outbox: SessionOutbox;
  /** `session-closed` and `message-stored` end a typing state. */
  readonly events: NotificationCenter;
  /** Default {@link TYPING_TTL_MS}. */
  readonly ttlMs?: number;
  /** Default {@link TYPING_THROTTLE_MS}. */
  readonly throttleMs?: number;
}

/** One user typing in one thread. */
interface Typist {
  readonly userId: string;
  readonly thread: ChatThread;
  /** Ends the state when the typist goes quiet. */
  timer: TimerHandle;
  /** When `typing: true` last went out. */
  forwardedAt: number;
  /** Who was told `typing: true`: they, and only they, hear `typing: false`. */
  readonly told: Set<string>;
}

/**
 * Tells the other members of a thread that someone is typing, cheaply and without leaking blocks.
 *
 * - Nothing crosses a block, either way: in a direct chat nothing is forwarded; in a group, not to a member who
 *   blocked the typist or whom the typist blocked. The typist is never told (a dropped frame is still `ok`).
 * - A state lasts {@link TYPING_TTL_MS} after the last `typing: true`; then the relay itself tells the others
 *   `typing: false`, so a client that vanished mid-word leaves no one watching dots forever.
 * - Throttled per typist and thread: a `typing: true` within {@link TYPING_THROTTLE_MS} of the last one forwarded
 *   only renews the state; `typing: false` is forwarded only when a state was active.
 * - A state also ends when the typist sends a message in the thread, or their last session closes; the others
 *   are told `typing: false` then too (clients need not guess it from the message).
 *
 * It keeps one entry per typist and thread while the state lasts, and none after.
 *
 * Pattern: Mediator — sits between typists and watchers, deciding who hears what and when it stops.
 *
 * @example
 * ```ts
 * import { composeSystem } from 'chat-room'
 * const parts = composeSystem()
 * parts.users.register({ id: 'alice', name: 'Alice' })
 * parts.users.register({ id: 'bob', name: 'Bob' })
 * const dm = parts.conversations.directThread('alice', 'bob')
 * parts.typing.update('alice', dm.id, true) // bob's foreground devices get { type: 'typing', typing: true }
 * ```
 */
export class TypingRelay {
  readonly #d: TypingRelayDeps;
  readonly #ttlMs: number;
  readonly #throttleMs: number;
  /** Active states by typist, then thread. */
  readonly #typing = new Map<string, Map<string, Typist>>();

  /**
   * Creates the relay and subscribes to what ends a typing state.
   *
   * @param deps - the directory, the sessions, the outbox and the clock
   * @throws ValidationError when `ttlMs` or `throttleMs` is not a positive integer
   */
  constructor(deps: TypingRelayDeps) {
    this.#d = deps;
    this.#ttlMs = requirePositiveInt(deps.ttlMs ?? TYPING_TTL_MS, 'ttlMs', Number.MAX_SAFE_INTEGER);
    this.#throttleMs = requirePositiveInt(
      deps.throttleMs ?? TYPING_THROTTLE_MS,
      'throttleMs',
      Number.MAX_SAFE_INTEGER,
    );
    deps.events.on('message-stored', ({ message }) => {
      const typist = this.#typing.get(message.senderId)?.get(message.threadId);
      if (typist !== undefined) this.#end(typist);
    });
    deps.events.on('session-closed', ({ userId }) => {
      if (deps.sessions.sessionsOf(userId).length > 0) return;
      for (const typist of [...(this.#typing.get(userId)?.values() ?? [])]) this.#end(typist);
    });
  }

  /** How many typing states are active (one per typist and thread). */
  get size(): number {
    let n = 0;
    for (const threads of this.#typing.values()) n += threads.size;
    return n;
  }

  /**
   * A user started or stopped typing in a thread.
   *
   * @param userId - the typist (the connection's user)
   * @param threadId - the thread
   * @param typing - whether they are typing
   * @throws ValidationError when an argument is malformed
   * @throws NotFoundError when the thread is unknown or the user not a member (the same error either way)
   */
  update(userId: string, threadId: string, typing: boolean): void {
    requireBoolean(typing, 'typing');
    const thread = this.#d.conversations.memberThread(userId, threadId);
    const typist = this.#typing.get(userId)?.get(thread.id);
    if (!typing) {
      if (typist !== undefined) this.#end(typist);
      return;
    }
    const now = this.#d.clock.now();
    if (typist === undefined) {
      const started: Typist = {
        userId,
        thread,
        timer: this.#expiry(userId, thread.id),
        forwardedAt: now,
        told: new Set(),
      };
      let threads = this.#typing.get(userId);
      if (threads === undefined) {
        threads = new Map();
        this.#typing.set(userId, threads);
      }
      threads.set(thread.id, started);
      this.#tellTyping(started);
      return;
    }
    this.#d.clock.clearTimeout(typist.timer);
    typist.timer = this.#expiry(userId, thread.id);
    // Still typing: say so again only now and then, for members who came online since.
    if (now - typist.forwardedAt >= this.#throttleMs) {
      typist.forwardedAt = now;
      this.#tellTyping(typist);
    }
  }

  #expiry(userId: string, threadId: string): TimerHandle {
    return this.#d.clock.setTimeout(() => {
      const typist = this.#typing.get(userId)?.get(threadId);
      if (typist !== undefined) this.#end(typist);
    }, this.#ttlMs);
  }

  /** Sends `typing: true` to the members no block separates from the typist. */
  #tellTyping(typist: Typist): void {
    const { userId, thread } = typist;
    const frame = typingFrame(thread.id, userId, true);
    for (const member of this.#d.conversations.membersOf(thread)) {
      if (member === userId || this.#d.settings.blockedBetween(userId, member)) continue;
      typist.told.add(member);
      this.#d.outbox.sendToUser(member, frame);
    }
  }

  /** Ends a state: forgets it and tells `typing: false` to those told it began who are still members. */
  #end(typist: Typist): void {
    const { userId, thread } = typist;
    this.#d.clock.clearTimeout(typist.timer);
    const threads = this.#typing.get(userId);
    threads?.delete(thread.id);
    if (threads?.size === 0) this.#typing.delete(userId);
    const members = new Set(this.#d.conversations.membersOf(thread));
    const frame = typingFrame(thread.id, userId, false);
    for (const member of typist.told) if (members.has(member)) this.#d.outbox.sendToUser(member, frame);
  }
}

function typingFrame(threadId: string, userId: string, typing: boolean): UserTypingFrame {
  return { type: 'typing', threadId, userId, typing };
}
