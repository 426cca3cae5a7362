import { ValidationError } from './errors';
import { requireId } from './validate';

/** The longest thread id: two user ids of 128 characters, each escaped (3 characters per ':' at most). */
export const MAX_THREAD_ID_LENGTH = 800;

const THREAD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@%-]*$/;

/**
 * Checks a thread id's form: what `ChatThread.direct` and `ChatThread.group` make (`dm:…`, `group:…`).
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @throws ValidationError when it cannot be a thread id
 */
export function requireThreadId(value: unknown, field = 'threadId'): string {
  if (typeof value !== 'string' || value.length > MAX_THREAD_ID_LENGTH || !THREAD_ID_PATTERN.test(value)) {
    throw new ValidationError(`${field} must be a thread id`, { details: { field } });
  }
  return value;
}

/** A conversation between two users, or a group's conversation. */
export type ThreadKind = 'direct' | 'group';

/**
 * One conversation: direct (exactly two users) or a group's. Its messages are totally ordered by a per-thread
 * `seq` that the message store assigns; the thread remembers the highest seq it has seen.
 *
 * @example
 * ```ts
 * import { ChatThread } from 'chat-room'
 * const t = ChatThread.direct('bob', 'alice')
 * t.id // 'dm:alice:bob' — the same whichever side starts
 * ```
 */
export class ChatThread {
  readonly id: string;
  readonly kind: ThreadKind;
  /** The two users of a direct thread, sorted; empty for a group thread (its group holds the members). */
  readonly participantIds: readonly string[];
  /** The group of a group thread. */
  readonly groupId: string | undefined;
  #lastSeq = 0;

  private constructor(id: string, kind: ThreadKind, participantIds: readonly string[], groupId?: string) {
    this.id = id;
    this.kind = kind;
    this.participantIds = participantIds;
    this.groupId = groupId;
  }

  /**
   * The direct thread between two users; its id does not depend on who is named first.
   *
   * @param a - one user's id
   * @param b - the other user's id
   * @throws ValidationError when an id is malformed or both are the same user
   */
  static direct(a: string, b: string): ChatThread {
    requireId(a, 'user id');
    requireId(b, 'user id');
    if (a === b) throw new ValidationError('a direct thread needs two different users');
    const [first, second] = a < b ? [a, b] : [b, a];
    // User ids may contain ':', so each is escaped; ids never contain '%', so escaped ids cannot collide.
    return new ChatThread(
      `dm:${escapeId(first)}:${escapeId(second)}`,
      'direct',
      Object.freeze([first, second]),
    );
  }

  /**
   * The thread of a group.
   *
   * @param groupId - the group's id
   * @throws ValidationError when the id is malformed
   */
  static group(groupId: string): ChatThread {
    requireId(groupId, 'group id');
    return new ChatThread(`group:${groupId}`, 'group', Object.freeze([]), groupId);
  }

  /** The highest seq seen in this thread (0 before the first message). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /**
   * Records that a message with this seq exists; the thread's last seq never goes back.
   *
   * @param seq - a stored message's seq
   */
  observe(seq: number): void {
    if (seq > this.#lastSeq) this.#lastSeq = seq;
  }

  /**
   * The other user of a direct thread.
   *
   * @param userId - one participant
   * @returns the other participant, or `undefined` for a group thread or a non-participant
   */
  peerOf(userId: string): string | undefined {
    if (this.kind !== 'direct' || !this.participantIds.includes(userId)) return undefined;
    return this.participantIds[0] === userId ? this.participantIds[1] : this.participantIds[0];
  }
}

/** A user id as a direct thread id holds it; most ids have nothing to escape, and are returned as they are. */
function escapeId(id: string): string {
  return id.includes('%') || id.includes(':') ? id.replaceAll('%', '%25').replaceAll(':', '%3A') : id;
}
