import type { UserProfile, UserRecord } from '../../domain';
import { ConflictError, NotFoundError, User, requireId } from '../../domain';
import type { NotificationCenter } from '../notification-center';

/**
 * The registered users: register, look up, contacts and blocks.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * chat.registerUser({ id: 'alice', name: 'Alice' })
 * ```
 */
export class UserDirectory {
  readonly #users = new Map<string, User>();
  /** For each user, who keeps them as a contact: the people who would see their presence. */
  readonly #watchers = new Map<string, Set<string>>();
  static readonly #none: readonly string[] = Object.freeze([]);
  /** The same sets as arrays, built when first asked for. */
  readonly #watcherLists = new Map<string, readonly string[]>();
  readonly #events: NotificationCenter | undefined;

  /**
   * Creates an empty directory.
   *
   * @param events - where changes are announced (`record-changed`), for the directory store
   */
  constructor(events?: NotificationCenter) {
    this.#events = events;
  }

  /**
   * Registers a user.
   *
   * @param profile - id and display name
   * @throws ValidationError when the profile is malformed
   * @throws ConflictError when the id is taken
   */
  register(profile: UserProfile): User {
    const user = new User(profile);
    if (this.#users.has(user.id)) {
      throw new ConflictError(`user id ${user.id} is taken`, { details: { userId: user.id } });
    }
    this.#users.set(user.id, user);
    this.#changed(user.id);
    return user;
  }

  /**
   * Puts back a user loaded from the directory store, with contacts and blocks; announces nothing.
   *
   * @param record - the stored user
   * @throws ConflictError when the id is taken
   */
  restore(record: UserRecord): User {
    const user = new User(record);
    if (this.#users.has(user.id)) throw new ConflictError(`user id ${user.id} is taken`);
    this.#users.set(user.id, user);
    for (const id of record.contacts) this.#link(user, id);
    for (const id of record.blocked) user.block(id);
    return user;
  }

  /**
   * A registered user.
   *
   * @param userId - the user's id
   * @throws ValidationError when the id is malformed
   * @throws NotFoundError when no such user is registered
   */
  get(userId: string): User {
    requireId(userId, 'user id');
    const user = this.#users.get(userId);
    if (user === undefined) throw new NotFoundError(`no user ${userId}`, { details: { userId } });
    return user;
  }

  /**
   * Tells whether a user is registered.
   *
   * @param userId - the user's id
   */
  has(userId: string): boolean {
    return this.#users.has(userId);
  }

  /** How many users are registered. */
  get size(): number {
    return this.#users.size;
  }

  /**
   * Adds a contact to a user's list (one way, as in an address book).
   *
   * @param userId - whose list
   * @param contactId - the contact
   * @returns whether the contact is new
   * @throws NotFoundError when either user is unknown
   */
  addContact(userId: string, contactId: string): boolean {
    const user = this.get(userId);
    this.get(contactId);
    if (!this.#link(user, contactId)) return false;
    this.#changed(userId);
    return true;
  }

  #link(user: User, contactId: string): boolean {
    if (!user.addContact(contactId)) return false;
    let watchers = this.#watchers.get(contactId);
    if (watchers === undefined) {
      watchers = new Set();
      this.#watchers.set(contactId, watchers);
    }
    watchers.add(user.id);
    this.#watcherLists.delete(contactId);
    return true;
  }

  #changed(userId: string): void {
    this.#events?.publish('record-changed', { kind: 'user', id: userId });
  }

  /**
   * Removes a contact from a user's list.
   *
   * @param userId - whose list
   * @param contactId - the contact
   * @returns whether it was a contact
   * @throws NotFoundError when the user is unknown
   */
  removeContact(userId: string, contactId: string): boolean {
    requireId(contactId, 'contact id');
    if (!this.get(userId).removeContact(contactId)) return false;
    this.#watchers.get(contactId)?.delete(userId);
    this.#watcherLists.delete(contactId);
    this.#changed(userId);
    return true;
  }

  /**
   * The users who keep this user as a contact (change contacts through this directory to keep it right).
   *
   * @param userId - the user
   */
  watchersOf(userId: string): readonly string[] {
    let list = this.#watcherLists.get(userId);
    if (list === undefined) {
      const watchers = this.#watchers.get(userId);
      if (watchers === undefined) return UserDirectory.#none;
      list = Object.freeze([...watchers]);
      this.#watcherLists.set(userId, list);
    }
    return list;
  }

  /**
   * Blocks a user.
   *
   * @param userId - who blocks
   * @param blockedId - who is blocked
   * @returns whether the block is new
   * @throws NotFoundError when either user is unknown
   */
  block(userId: string, blockedId: string): boolean {
    const user = this.get(userId);
    this.get(blockedId);
    if (!user.block(blockedId)) return false;
    this.#changed(userId);
    return true;
  }

  /**
   * Lifts a block.
   *
   * @param userId - who blocked
   * @param blockedId - who was blocked
   * @returns whether there was a block
   * @throws NotFoundError when the user is unknown
   */
  unblock(userId: string, blockedId: string): boolean {
    requireId(blockedId, 'blocked user id');
    if (!this.get(userId).unblock(blockedId)) return false;
    this.#changed(userId);
    return true;
  }
}
