import type { DirectThreadRecord, GroupInit, GroupRecord } from '../../domain';
import {
  ChatThread,
  Group,
  MAX_THREAD_ID_LENGTH,
  NotFoundError,
  ValidationError,
  parseMessageId,
  requireId,
} from '../../domain';
import type { NotificationCenter } from '../notification-center';
import type { UserDirectory } from './user-directory';

/** What to create a group with; the id is assigned. */
export type NewGroup = Omit<GroupInit, 'id'>;

/**
 * Groups and threads: creates them, changes membership, and answers who belongs to a thread. Every request a
 * user makes about a thread or a group goes through `memberThread` or `memberGroup`: one that the user is not
 * in answers exactly as one that does not exist, so existence never leaks (who talks to whom, which groups exist).
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * const g = chat.createGroup({ ownerId: 'alice', name: 'Trip', memberIds: ['bob'] })
 * ```
 */
export class ConversationDirectory {
  readonly #users: UserDirectory;
  readonly #events: NotificationCenter;
  readonly #newId: () => string;
  readonly #groups = new Map<string, Group>();
  readonly #threads = new Map<string, ChatThread>();
  /** Direct threads by one participant, then the other (both ways round): a send finds its thread without an id. */
  readonly #direct = new Map<string, Map<string, ChatThread>>();

  /**
   * Creates the directory.
   *
   * @param users - the registered users
   * @param events - where membership changes are published
   * @param newId - makes group ids
   */
  constructor(users: UserDirectory, events: NotificationCenter, newId: () => string) {
    this.#users = users;
    this.#events = events;
    this.#newId = newId;
  }

  /**
   * Creates a group and its thread.
   *
   * @param init - owner, name, first members, size limit
   * @throws NotFoundError when a member is not registered
   * @throws ValidationError when the group is malformed
   */
  createGroup(init: NewGroup): Group {
    if (typeof init !== 'object' || init === null)
      throw new ValidationError('createGroup needs an options object');
    const group = new Group({ ...init, id: this.#newId() });
    for (const id of group.memberIds) this.#users.get(id);
    this.#groups.set(group.id, group);
    const thread = ChatThread.group(group.id);
    this.#threads.set(thread.id, thread);
    this.#groupChanged(group.id);
    this.#events.publish('group-changed', { groupId: group.id, added: group.memberIds, removed: [] });
    return group;
  }

  /**
   * A group by id.
   *
   * @param groupId - the group's id
   * @throws NotFoundError when there is no such group
   */
  group(groupId: string): Group {
    requireId(groupId, 'group id');
    const group = this.#groups.get(groupId);
    if (group === undefined) throw noGroup(groupId);
    return group;
  }

  /**
   * A group as one of its members may see it. A group the user is not in answers exactly as one that does not
   * exist, so nobody learns which groups exist or who is in them.
   *
   * @param userId - who asks
   * @param groupId - the group
   * @throws ValidationError when an id is malformed
   * @throws NotFoundError when there is no such group or the user is not a member (the same error either way)
   */
  memberGroup(userId: string, groupId: string): Group {
    requireId(userId, 'user id');
    requireId(groupId, 'group id');
    const group = this.#groups.get(groupId);
    if (group === undefined || !group.isMember(userId)) throw noGroup(groupId);
    return group;
  }

  /**
   * Adds members to a group (admins only).
   *
   * @param actorId - the admin
   * @param groupId - the group
   * @param userIds - who joins
   * @throws NotFoundError when a user is unknown, or the group is (or the actor is not in it)
   * @throws PermissionError when the actor is a member but not an admin
   */
  addMembers(actorId: string, groupId: string, userIds: readonly string[]): readonly string[] {
    const group = this.memberGroup(actorId, groupId);
    if (Array.isArray(userIds)) for (const id of userIds) this.#users.get(id);
    // Newcomers see the thread's history from here on, not what was said before they came.
    const lastSeq = this.#threads.get(ChatThread.group(groupId).id)?.lastSeq ?? 0;
    const added = group.add(actorId, userIds, lastSeq);
    if (added.length > 0) this.#groupChanged(groupId);
    this.#events.publish('group-changed', { groupId, added, removed: [] });
    return added;
  }

  /**
   * Removes a member (admins only).
   *
   * @param actorId - the admin
   * @param groupId - the group
   * @param userId - who is removed
   * @throws NotFoundError when the group is unknown (or the actor is not in it), or the user not a member
   * @throws PermissionError when the actor may not remove them
   */
  removeMember(actorId: string, groupId: string, userId: string): void {
    this.memberGroup(actorId, groupId).remove(actorId, userId);
    this.#groupChanged(groupId);
    this.#events.publish('group-changed', { groupId, added: [], removed: [userId] });
  }

  /**
   * A member leaves a group.
   *
   * @param userId - who leaves
   * @param groupId - the group
   * @throws NotFoundError when the group is unknown or the user not a member (the same error either way)
   */
  leave(userId: string, groupId: string): void {
    this.memberGroup(userId, groupId).leave(userId);
    this.#groupChanged(groupId);
    this.#events.publish('group-changed', { groupId, added: [], removed: [userId] });
  }

  /**
   * Makes a member an admin (admins only).
   *
   * @param actorId - the admin
   * @param groupId - the group
   * @param userId - the member
   * @throws NotFoundError when the group is unknown (or the actor is not in it), or the user not a member
   * @throws PermissionError when the actor is a member but not an admin
   */
  promote(actorId: string, groupId: string, userId: string): boolean {
    const promoted = this.memberGroup(actorId, groupId).promote(actorId, userId);
    if (promoted) this.#groupChanged(groupId);
    return promoted;
  }

  /**
   * The direct thread between two registered users, created on first use.
   *
   * @param a - one user
   * @param b - the other
   * @throws NotFoundError when a user is unknown
   * @throws ValidationError when both are the same user
   */
  directThread(a: string, b: string): ChatThread {
    this.#users.get(a);
    this.#users.get(b);
    const known = this.#direct.get(a)?.get(b);
    if (known !== undefined) return known;
    const thread = ChatThread.direct(a, b);
    this.#addDirect(thread);
    this.#events.publish('record-changed', { kind: 'thread', id: thread.id });
    return thread;
  }

  #addDirect(thread: ChatThread): void {
    this.#threads.set(thread.id, thread);
    const [a, b] = thread.participantIds as [string, string];
    for (const [one, other] of [
      [a, b],
      [b, a],
    ] as const) {
      let byOther = this.#direct.get(one);
      if (byOther === undefined) {
        byOther = new Map();
        this.#direct.set(one, byOther);
      }
      byOther.set(other, thread);
    }
  }

  /**
   * Puts back a group loaded from the directory store, with its thread; announces nothing.
   *
   * @param record - the stored group
   * @returns the group's thread
   */
  restoreGroup(record: GroupRecord): ChatThread {
    const group = Group.restore(record);
    this.#groups.set(group.id, group);
    const thread = ChatThread.group(group.id);
    this.#threads.set(thread.id, thread);
    return thread;
  }

  /**
   * Puts back a direct thread loaded from the directory store; announces nothing.
   *
   * @param record - the stored thread
   * @throws ValidationError when the id is not the participants' direct thread id
   */
  restoreThread(record: DirectThreadRecord): ChatThread {
    const thread = ChatThread.direct(record.participantIds[0], record.participantIds[1]);
    if (thread.id !== record.id) {
      throw new ValidationError(`thread record ${record.id} does not match its participants`);
    }
    this.#addDirect(thread);
    return thread;
  }

  /** Every thread, group and direct. */
  threads(): IterableIterator<ChatThread> {
    return this.#threads.values();
  }

  /**
   * A group's thread.
   *
   * @param groupId - the group
   * @throws NotFoundError when the group is unknown
   */
  groupThread(groupId: string): ChatThread {
    this.group(groupId);
    return this.#threads.get(ChatThread.group(groupId).id) as ChatThread;
  }

  /**
   * A thread by id.
   *
   * @param threadId - the thread's id
   * @throws NotFoundError when there is no such thread
   */
  thread(threadId: string): ChatThread {
    requireThreadKey(threadId);
    const thread = this.#threads.get(threadId);
    if (thread === undefined) throw noThread(threadId);
    return thread;
  }

  /**
   * A thread as one of its members may see it: the check every request naming a thread goes through. A thread
   * the user is not in answers exactly as one that does not exist (same code, message and details), so a
   * stranger cannot learn that two people talk, or that a group exists.
   *
   * @param userId - who asks
   * @param threadId - the thread
   * @throws ValidationError when an id is malformed
   * @throws NotFoundError when there is no such thread or the user is not a member (the same error either way)
   */
  memberThread(userId: string, threadId: string): ChatThread {
    requireId(userId, 'user id');
    requireThreadKey(threadId);
    const thread = this.#threads.get(threadId);
    if (thread === undefined || !this.#isMember(userId, thread)) throw noThread(threadId);
    return thread;
  }

  /**
   * A message as one of its thread's members may see it: the check every request naming a message goes through
   * (an edit, a reaction, a history page, message info). Message ids are `<thread id>#<seq>`, so the thread is
   * checked first: an id that names no message, a thread the user is not in, and a message sent before the user
   * joined all answer exactly as a message that does not exist ({@link messageNotFound}), which the caller also
   * throws when the store has no such message.
   *
   * @param userId - who asks
   * @param messageId - the message
   * @returns the message's thread and seq
   * @throws ValidationError when the user id is malformed or the message id is not a string of a sane length
   * @throws NotFoundError when the user may not see such a message (the same error whatever the reason)
   */
  memberMessage(userId: string, messageId: string): { thread: ChatThread; seq: number } {
    requireId(userId, 'user id');
    if (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > MAX_MESSAGE_ID_LENGTH) {
      throw new ValidationError('messageId must be a non-empty string', { details: { field: 'messageId' } });
    }
    const key = parseMessageId(messageId);
    const thread = key === undefined ? undefined : this.#threads.get(key.threadId);
    if (key === undefined || thread === undefined || !this.#isMember(userId, thread)) {
      throw messageNotFound(messageId);
    }
    if (key.seq <= this.joinedAtSeq(userId, thread)) throw messageNotFound(messageId);
    return { thread, seq: key.seq };
  }

  /**
   * Where a member's view of a thread starts: the thread's last seq when they joined a group that already had
   * messages, else 0. What came before is not theirs to read.
   *
   * @param userId - a member
   * @param thread - the thread
   */
  joinedAtSeq(userId: string, thread: ChatThread): number {
    if (thread.kind === 'direct') return 0;
    return this.#groups.get(thread.groupId as string)?.joinedAtSeq(userId) ?? 0;
  }

  /**
   * The current members of a thread.
   *
   * @param thread - the thread
   */
  membersOf(thread: ChatThread): readonly string[] {
    return thread.kind === 'direct' ? thread.participantIds : this.group(thread.groupId as string).memberIds;
  }

  /**
   * Checks that a user belongs to a thread; a non-member is told the thread does not exist, as `memberThread`
   * does.
   *
   * @param userId - the user
   * @param thread - the thread
   * @throws NotFoundError when the user is not a member
   */
  requireMember(userId: string, thread: ChatThread): void {
    if (!this.#isMember(userId, thread)) throw noThread(thread.id);
  }

  #isMember(userId: string, thread: ChatThread): boolean {
    if (thread.kind === 'direct') return thread.participantIds.includes(userId);
    return this.#groups.get(thread.groupId as string)?.isMember(userId) ?? false;
  }

  /**
   * A thread's title as one user sees it: the other person's name, or the group's name.
   *
   * @param thread - the thread
   * @param viewerId - who looks
   */
  titleOf(thread: ChatThread, viewerId: string): string {
    if (thread.kind === 'group') return this.group(thread.groupId as string).name;
    const peer = thread.peerOf(viewerId);
    return peer === undefined ? thread.id : this.#users.get(peer).name;
  }

  #groupChanged(groupId: string): void {
    this.#events.publish('record-changed', { kind: 'group', id: groupId });
  }
}

/**
 * The one answer to a thread one may not see, whether it exists or not: it carries only what the caller sent.
 */
function noThread(threadId: string): NotFoundError {
  return new NotFoundError(`no thread ${threadId}`, { details: { threadId } });
}

/** The longest message id: a thread id, `#` and a seq. */
const MAX_MESSAGE_ID_LENGTH = MAX_THREAD_ID_LENGTH + 17;

/**
 * The one answer to a message one may not see, whether it exists or not: it carries only what the caller sent.
 *
 * @param messageId - the id asked for
 */
export function messageNotFound(messageId: string): NotFoundError {
  return new NotFoundError(`no message ${messageId}`, { details: { messageId } });
}

/** The one answer to a group one may not see, whether it exists or not. */
function noGroup(groupId: string): NotFoundError {
  return new NotFoundError(`no group ${groupId}`, { details: { groupId } });
}

function requireThreadKey(threadId: unknown): void {
  if (typeof threadId !== 'string' || threadId.length === 0 || threadId.length > MAX_THREAD_ID_LENGTH) {
    throw new ValidationError('threadId must be a non-empty string');
  }
}
