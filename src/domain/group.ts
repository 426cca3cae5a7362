import { ConflictError, NotFoundError, PermissionError, ValidationError } from './errors';
import {
  requireId,
  requireIdList,
  requireObject,
  requirePositiveInt,
  requireSeq,
  requireText,
} from './validate';

/** The most members a group has unless told otherwise (WhatsApp's limit). */
export const DEFAULT_GROUP_SIZE_LIMIT = 1024;

/** The longest group name. */
export const MAX_GROUP_NAME_LENGTH = 100;

/** The largest size limit a group may be given. */
const MAX_SIZE_LIMIT = 1_000_000;

/** What it takes to create a group. */
export interface GroupInit {
  /** The group's unique id. */
  readonly id: string;
  /** Its display name. */
  readonly name: string;
  /** The creator, who becomes owner and admin. */
  readonly ownerId: string;
  /** The other first members (the owner may be listed too). */
  readonly memberIds?: readonly string[];
  /** The most members allowed, owner included. */
  readonly sizeLimit?: number;
}

/** A group as a `DirectoryStore` keeps it: its roles and members (join order). */
export interface GroupRecord {
  readonly id: string;
  readonly name: string;
  /** Absent once the owner has left. */
  readonly ownerId?: string;
  readonly adminIds: readonly string[];
  readonly memberIds: readonly string[];
  readonly sizeLimit: number;
  /**
   * For each member who joined once the thread had messages, its last seq at that moment: their history starts
   * after it. Absent (as in records written before it existed) means everyone sees the whole thread.
   */
  readonly joinedAtSeq?: Readonly<Record<string, number>>;
}

/**
 * Checks a group record: the owner and admins must be members.
 *
 * @param value - the record
 * @returns a frozen copy
 * @throws ValidationError when a field is missing or malformed
 */
export function requireGroupRecord(value: unknown): GroupRecord {
  const r = requireObject(value, 'group record');
  const memberIds = requireIdList(r.memberIds, 'group record memberIds', MAX_SIZE_LIMIT);
  const adminIds = requireIdList(r.adminIds, 'group record adminIds', MAX_SIZE_LIMIT);
  const ownerId = r.ownerId === undefined ? undefined : requireId(r.ownerId, 'group record ownerId');
  const members = new Set(memberIds);
  if (members.size !== memberIds.length)
    throw new ValidationError('group record memberIds lists a user twice');
  for (const id of [...adminIds, ...(ownerId === undefined ? [] : [ownerId])]) {
    if (!members.has(id))
      throw new ValidationError(`group record: ${id} is an admin or owner but not a member`);
  }
  const joinedAtSeq = r.joinedAtSeq === undefined ? undefined : requireJoinedAtSeq(r.joinedAtSeq, members);
  return Object.freeze({
    id: requireId(r.id, 'group record id'),
    name: requireText(r.name, 'group record name', MAX_GROUP_NAME_LENGTH),
    ...(ownerId === undefined ? {} : { ownerId }),
    adminIds,
    memberIds,
    sizeLimit: requirePositiveInt(r.sizeLimit, 'group record sizeLimit', MAX_SIZE_LIMIT),
    ...(joinedAtSeq === undefined ? {} : { joinedAtSeq }),
  });
}

/** Checks a record's `joinedAtSeq`: a seq for some of its members. */
function requireJoinedAtSeq(value: unknown, members: ReadonlySet<string>): Readonly<Record<string, number>> {
  const bag = requireObject(value, 'group record joinedAtSeq');
  const copy: Record<string, number> = {};
  for (const [id, seq] of Object.entries(bag)) {
    if (!members.has(id)) throw new ValidationError(`group record joinedAtSeq: ${id} is not a member`);
    copy[id] = requireSeq(seq, `group record joinedAtSeq.${id}`);
  }
  return Object.freeze(copy);
}

/**
 * A group chat's membership: one owner, admins, members, a size limit. Only admins add or remove members;
 * the owner cannot be removed; when the owner leaves, the longest-serving admin (or else member) takes over.
 *
 * @example
 * ```ts
 * import { Group } from 'chat-room'
 * const g = new Group({ id: 'g1', name: 'Trip', ownerId: 'alice', memberIds: ['bob'] })
 * g.add('alice', ['carol'])
 * g.promote('alice', 'bob')
 * g.isAdmin('bob') // true
 * ```
 */
export class Group {
  readonly id: string;
  readonly sizeLimit: number;
  #name: string;
  #ownerId: string | undefined;
  readonly #members = new Set<string>(); // insertion order is join order
  readonly #admins = new Set<string>();
  /** The thread's last seq when a member joined, for those who joined after messages were sent. */
  readonly #joinedAtSeq = new Map<string, number>();

  /**
   * Creates a group with its owner and first members.
   *
   * @param init - id, name, owner, members and size limit
   * @throws ValidationError when a field is malformed, a member is listed twice or the limit is exceeded
   */
  constructor(init: GroupInit) {
    const g = requireObject(init, 'group');
    this.id = requireId(g.id, 'group id');
    this.#name = requireText(g.name, 'group name', MAX_GROUP_NAME_LENGTH).trim();
    const ownerId = requireId(g.ownerId, 'owner id');
    this.sizeLimit =
      g.sizeLimit === undefined
        ? DEFAULT_GROUP_SIZE_LIMIT
        : requirePositiveInt(g.sizeLimit, 'sizeLimit', MAX_SIZE_LIMIT);
    const others = Group.#requireIds(g.memberIds ?? [], 'memberIds').filter((id) => id !== ownerId);
    if (new Set(others).size !== others.length) throw new ValidationError('memberIds lists a user twice');
    if (others.length + 1 > this.sizeLimit) {
      throw new ValidationError(`a group holds at most ${this.sizeLimit} members`, {
        details: { sizeLimit: this.sizeLimit },
      });
    }
    this.#ownerId = ownerId;
    this.#members.add(ownerId);
    this.#admins.add(ownerId);
    for (const id of others) this.#members.add(id);
  }

  /** The display name. */
  get name(): string {
    return this.#name;
  }

  /** The owner's id; `undefined` once everyone has left. */
  get ownerId(): string | undefined {
    return this.#ownerId;
  }

  /** Member ids in the order they joined. */
  get memberIds(): readonly string[] {
    return [...this.#members];
  }

  /** Admin ids (the owner is one). */
  get adminIds(): readonly string[] {
    return [...this.#admins];
  }

  /** How many members the group has. */
  get size(): number {
    return this.#members.size;
  }

  /**
   * Tells whether a user is a member.
   *
   * @param userId - the user's id
   */
  isMember(userId: string): boolean {
    return this.#members.has(userId);
  }

  /**
   * Tells whether a user is an admin.
   *
   * @param userId - the user's id
   */
  isAdmin(userId: string): boolean {
    return this.#admins.has(userId);
  }

  /**
   * The thread's last seq when a member joined: their history starts after it (0 for everyone who was there from
   * the start).
   *
   * @param userId - a member
   */
  joinedAtSeq(userId: string): number {
    return this.#joinedAtSeq.get(userId) ?? 0;
  }

  /**
   * Adds members; all or nothing.
   *
   * @param actorId - who adds them (must be an admin)
   * @param userIds - who joins
   * @param atSeq - the thread's last seq now: the newcomers' history starts after it (default 0)
   * @returns the ids added
   * @throws PermissionError when the actor is not an admin
   * @throws ConflictError when someone is already a member
   * @throws ValidationError when an id is malformed or the group would exceed its size limit
   */
  add(actorId: string, userIds: readonly string[], atSeq = 0): readonly string[] {
    this.#requireAdmin(actorId, 'add members');
    const ids = Group.#requireIds(userIds, 'userIds');
    requireSeq(atSeq, 'atSeq');
    if (ids.length === 0) throw new ValidationError('userIds must name at least one user');
    if (new Set(ids).size !== ids.length) throw new ValidationError('userIds lists a user twice');
    const already = ids.filter((id) => this.#members.has(id));
    if (already.length > 0) {
      throw new ConflictError(`already a member of ${this.id}: ${already.join(', ')}`, {
        details: { already },
      });
    }
    if (this.#members.size + ids.length > this.sizeLimit) {
      throw new ValidationError(`a group holds at most ${this.sizeLimit} members`, {
        details: { sizeLimit: this.sizeLimit },
      });
    }
    for (const id of ids) {
      this.#members.add(id);
      if (atSeq > 0) this.#joinedAtSeq.set(id, atSeq);
    }
    return ids;
  }

  /**
   * Removes a member.
   *
   * @param actorId - who removes them (must be an admin; only the owner may remove another admin)
   * @param userId - who is removed
   * @throws PermissionError when the actor may not remove that member
   * @throws NotFoundError when the user is not a member
   * @throws ValidationError when the actor names themself (use `leave`)
   */
  remove(actorId: string, userId: string): void {
    this.#requireAdmin(actorId, 'remove members');
    requireId(userId, 'user id');
    if (userId === actorId) throw new ValidationError('to leave a group, use leave()');
    this.#requireMember(userId);
    if (userId === this.#ownerId) throw new PermissionError('the owner cannot be removed');
    if (this.#admins.has(userId) && actorId !== this.#ownerId) {
      throw new PermissionError('only the owner removes an admin');
    }
    this.#members.delete(userId);
    this.#admins.delete(userId);
    this.#joinedAtSeq.delete(userId);
  }

  /**
   * A member leaves. An owner who leaves hands the group to the longest-serving admin, or else member.
   *
   * @param userId - who leaves
   * @throws NotFoundError when the user is not a member
   */
  leave(userId: string): void {
    requireId(userId, 'user id');
    this.#requireMember(userId);
    this.#members.delete(userId);
    this.#admins.delete(userId);
    this.#joinedAtSeq.delete(userId);
    if (userId !== this.#ownerId) return;
    const heir = [...this.#members].find((id) => this.#admins.has(id)) ?? this.#members.values().next().value;
    this.#ownerId = heir;
    if (heir !== undefined) this.#admins.add(heir);
  }

  /**
   * Makes a member an admin; promoting an admin changes nothing.
   *
   * @param actorId - who promotes (must be an admin)
   * @param userId - the member to promote
   * @returns whether the member was not an admin before
   * @throws PermissionError when the actor is not an admin
   * @throws NotFoundError when the user is not a member
   */
  promote(actorId: string, userId: string): boolean {
    this.#requireAdmin(actorId, 'promote members');
    requireId(userId, 'user id');
    this.#requireMember(userId);
    if (this.#admins.has(userId)) return false;
    this.#admins.add(userId);
    return true;
  }

  /**
   * Renames the group.
   *
   * @param actorId - who renames it (must be an admin)
   * @param name - the new name
   * @throws PermissionError when the actor is not an admin
   * @throws ValidationError when the name is blank or too long
   */
  rename(actorId: string, name: string): void {
    this.#requireAdmin(actorId, 'rename the group');
    this.#name = requireText(name, 'group name', MAX_GROUP_NAME_LENGTH).trim();
  }

  /**
   * Rebuilds a group from its stored record: members in join order, admins, and the owner (absent once the
   * owner has left).
   *
   * @param record - a group record (see `requireGroupRecord`)
   * @throws ValidationError when the record is malformed
   */
  static restore(record: GroupRecord): Group {
    const r = requireGroupRecord(record);
    // The constructor wants an owner; the record's roles then replace whatever it set up.
    const group = new Group({ id: r.id, name: r.name, ownerId: r.id, sizeLimit: r.sizeLimit });
    group.#members.clear();
    group.#admins.clear();
    for (const id of r.memberIds) group.#members.add(id);
    for (const id of r.adminIds) group.#admins.add(id);
    for (const [id, seq] of Object.entries(r.joinedAtSeq ?? {})) if (seq > 0) group.#joinedAtSeq.set(id, seq);
    group.#ownerId = r.ownerId;
    return group;
  }

  /** The stored form of this group. */
  toRecord(): GroupRecord {
    return {
      id: this.id,
      name: this.#name,
      ...(this.#ownerId === undefined ? {} : { ownerId: this.#ownerId }),
      adminIds: [...this.#admins],
      memberIds: [...this.#members],
      sizeLimit: this.sizeLimit,
      ...(this.#joinedAtSeq.size === 0 ? {} : { joinedAtSeq: Object.fromEntries(this.#joinedAtSeq) }),
    };
  }

  /** A plain snapshot. */
  toJSON(): {
    id: string;
    name: string;
    ownerId: string | undefined;
    adminIds: string[];
    memberIds: string[];
  } {
    return {
      id: this.id,
      name: this.#name,
      ownerId: this.#ownerId,
      adminIds: [...this.#admins],
      memberIds: [...this.#members],
    };
  }

  #requireAdmin(actorId: string, what: string): void {
    requireId(actorId, 'actor id');
    if (!this.#members.has(actorId)) throw new PermissionError(`${actorId} is not a member of ${this.id}`);
    if (!this.#admins.has(actorId)) throw new PermissionError(`only admins ${what}`);
  }

  #requireMember(userId: string): void {
    if (!this.#members.has(userId)) {
      throw new NotFoundError(`${userId} is not a member of ${this.id}`, { details: { userId } });
    }
  }

  static #requireIds(value: unknown, field: string): string[] {
    if (!Array.isArray(value)) throw new ValidationError(`${field} must be an array of user ids`);
    return value.map((id, i) => requireId(id, `${field}[${i}]`));
  }
}
