import { ValidationError } from './errors';
import { requireId, requireObject, requireText } from './validate';

/** The longest display name a user may have. */
export const MAX_NAME_LENGTH = 100;

/** What it takes to register a user. */
export interface UserProfile {
  /** A stable, unique handle: 1–128 letters, digits or `_ . : @ -`. */
  readonly id: string;
  /** The display name other people see. */
  readonly name: string;
}

/**
 * A person who chats: a stable id, a display name, the contacts they keep and the users they block.
 *
 * @example
 * ```ts
 * import { User } from 'chat-room'
 * const alice = new User({ id: 'alice', name: 'Alice' })
 * alice.addContact('bob')
 * alice.hasContact('bob') // true
 * ```
 */
export class User {
  readonly id: string;
  readonly #name: string;
  readonly #contacts = new Set<string>();
  readonly #blocked = new Set<string>();

  /**
   * Creates a user from a profile.
   *
   * @param profile - the id and display name
   * @throws ValidationError when the id or the name is malformed
   */
  constructor(profile: UserProfile) {
    const p = requireObject(profile, 'user');
    this.id = requireId(p.id, 'user id');
    this.#name = requireText(p.name, 'user name', MAX_NAME_LENGTH).trim();
  }

  /** The display name. */
  get name(): string {
    return this.#name;
  }

  /** The ids of this user's contacts, in the order they were added. */
  get contacts(): readonly string[] {
    return [...this.#contacts];
  }

  /** The ids this user has blocked. */
  get blocked(): readonly string[] {
    return [...this.#blocked];
  }

  /**
   * Adds a contact; adding one twice changes nothing.
   *
   * @param userId - the contact's id
   * @returns whether the contact is new
   * @throws ValidationError when the id is malformed or is the user's own
   */
  addContact(userId: string): boolean {
    this.#requireOther(userId, 'contact');
    if (this.#contacts.has(userId)) return false;
    this.#contacts.add(userId);
    return true;
  }

  /**
   * Removes a contact.
   *
   * @param userId - the contact's id
   * @returns whether it was a contact
   */
  removeContact(userId: string): boolean {
    return this.#contacts.delete(userId);
  }

  /**
   * Tells whether a user is among this user's contacts.
   *
   * @param userId - the other user's id
   */
  hasContact(userId: string): boolean {
    return this.#contacts.has(userId);
  }

  /**
   * Blocks a user: they can no longer message this user directly.
   *
   * @param userId - the user to block
   * @returns whether the block is new
   * @throws ValidationError when the id is malformed or is the user's own
   */
  block(userId: string): boolean {
    this.#requireOther(userId, 'blocked user');
    if (this.#blocked.has(userId)) return false;
    this.#blocked.add(userId);
    return true;
  }

  /**
   * Lifts a block.
   *
   * @param userId - the blocked user
   * @returns whether the user was blocked
   */
  unblock(userId: string): boolean {
    return this.#blocked.delete(userId);
  }

  /**
   * Tells whether this user has blocked another.
   *
   * @param userId - the other user's id
   */
  hasBlocked(userId: string): boolean {
    return this.#blocked.has(userId);
  }

  /** A plain snapshot of the public profile. */
  toJSON(): UserProfile {
    return { id: this.id, name: this.#name };
  }

  #requireOther(userId: string, field: string): void {
    requireId(userId, `${field} id`);
    if (userId === this.id)
      throw new ValidationError(`a user cannot be their own ${field}`, { details: { field } });
  }
}
