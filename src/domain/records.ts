import { MAX_THREAD_ID_LENGTH } from './chat-thread';
import { ValidationError } from './errors';
import type { GroupRecord } from './group';
import { requireGroupRecord } from './group';
import type { LastSeenVisibility } from './presence';
import { MAX_NAME_LENGTH } from './user';
import { requireId, requireIdList, requireKey, requireObject, requireText } from './validate';

/**
 * The plain records a `DirectoryStore` keeps: what the system needs, besides messages, to carry on after a
 * restart. Each is a whole snapshot of one thing (a user, a group, a user's settings, a direct conversation, a
 * user's chat-list choices);
 * saving one replaces the previous version. The `require…Record` functions check a record field by field and
 * return a frozen copy, so a store never keeps a caller's array. A group's record lives beside `Group`, in
 * `group.ts`, which writes and restores it.
 *
 * @module
 */

/** A user: profile, contact list, blocks and push devices. */
export interface UserRecord {
  readonly id: string;
  readonly name: string;
  /** Contact ids, in the order they were added. */
  readonly contacts: readonly string[];
  readonly blocked: readonly string[];
  /** Devices registered for push notifications. */
  readonly pushDevices: readonly string[];
}

/** A muted thread; without `until` the mute lasts until it is lifted. */
export interface MuteRecord {
  readonly threadId: string;
  readonly until?: number;
}

/** One user's settings. */
export interface SettingsRecord {
  readonly userId: string;
  readonly readReceipts: boolean;
  readonly previews: boolean;
  readonly lastSeen: LastSeenVisibility;
  /**
   * Whether strangers may find the user with a global search. Absent means false, which is how records written
   * before the setting existed read.
   */
  readonly discoverable?: boolean;
  readonly mutes: readonly MuteRecord[];
}

/** A direct conversation that exists (its two participants); group threads come with their groups. */
export interface DirectThreadRecord {
  readonly id: string;
  readonly participantIds: readonly [string, string];
}

/**
 * One user's chat-list choices: the threads they pinned, archived and marked unread. A thread is never both
 * pinned and archived (archiving unpins). Records written before the kind existed are simply absent: no choices.
 */
export interface FeedRecord {
  readonly userId: string;
  readonly pinned: readonly string[];
  readonly archived: readonly string[];
  readonly markedUnread: readonly string[];
}

/** The most ids one list of a record may hold (a group's members are capped far lower by its size limit). */
export const MAX_RECORD_LIST = 1_000_000;

const LAST_SEEN: readonly LastSeenVisibility[] = ['everyone', 'contacts', 'nobody'];

/**
 * Checks a user record.
 *
 * @param value - the record
 * @returns a frozen copy
 * @throws ValidationError when a field is missing or malformed
 */
export function requireUserRecord(value: unknown): UserRecord {
  const r = requireObject(value, 'user record');
  return Object.freeze({
    id: requireId(r.id, 'user record id'),
    name: requireText(r.name, 'user record name', MAX_NAME_LENGTH),
    contacts: requireIdList(r.contacts, 'user record contacts', MAX_RECORD_LIST),
    blocked: requireIdList(r.blocked, 'user record blocked', MAX_RECORD_LIST),
    pushDevices: requireIdList(r.pushDevices, 'user record pushDevices', MAX_RECORD_LIST),
  });
}

/**
 * Checks a settings record.
 *
 * @param value - the record
 * @returns a frozen copy
 * @throws ValidationError when a field is missing or malformed
 */
export function requireSettingsRecord(value: unknown): SettingsRecord {
  const r = requireObject(value, 'settings record');
  for (const field of ['readReceipts', 'previews'] as const) {
    if (typeof r[field] !== 'boolean')
      throw new ValidationError(`settings record ${field} must be a boolean`);
  }
  if (r.discoverable !== undefined && typeof r.discoverable !== 'boolean') {
    throw new ValidationError('settings record discoverable must be a boolean when present');
  }
  if (!LAST_SEEN.includes(r.lastSeen as LastSeenVisibility)) {
    throw new ValidationError(`settings record lastSeen must be one of ${LAST_SEEN.join(', ')}`);
  }
  if (!Array.isArray(r.mutes) || r.mutes.length > MAX_RECORD_LIST) {
    throw new ValidationError('settings record mutes must be an array');
  }
  const mutes = r.mutes.map((m: unknown, i) => {
    const mute = requireObject(m, `settings record mutes[${i}]`);
    const threadId = requireKey(mute.threadId, `settings record mutes[${i}].threadId`, MAX_THREAD_ID_LENGTH);
    if (mute.until === undefined) return Object.freeze({ threadId });
    if (typeof mute.until !== 'number' || !Number.isSafeInteger(mute.until) || mute.until < 0) {
      throw new ValidationError(`settings record mutes[${i}].until must be a time in ms`);
    }
    return Object.freeze({ threadId, until: mute.until });
  });
  return Object.freeze({
    userId: requireId(r.userId, 'settings record userId'),
    readReceipts: r.readReceipts as boolean,
    previews: r.previews as boolean,
    lastSeen: r.lastSeen as LastSeenVisibility,
    ...(r.discoverable === undefined ? {} : { discoverable: r.discoverable as boolean }),
    mutes: Object.freeze(mutes),
  });
}

/**
 * Checks a direct thread record.
 *
 * @param value - the record
 * @returns a frozen copy
 * @throws ValidationError when a field is missing or malformed
 */
export function requireDirectThreadRecord(value: unknown): DirectThreadRecord {
  const r = requireObject(value, 'thread record');
  const ids = requireIdList(r.participantIds, 'thread record participantIds', MAX_RECORD_LIST);
  if (ids.length !== 2 || ids[0] === ids[1]) {
    throw new ValidationError('thread record participantIds must be two different users');
  }
  return Object.freeze({
    id: requireKey(r.id, 'thread record id', MAX_THREAD_ID_LENGTH),
    participantIds: ids as unknown as readonly [string, string],
  });
}

/**
 * Checks a feed record.
 *
 * @param value - the record
 * @returns a frozen copy
 * @throws ValidationError when a field is missing or malformed, a list names a thread twice, or a thread is both
 *   pinned and archived
 */
export function requireFeedRecord(value: unknown): FeedRecord {
  const r = requireObject(value, 'feed record');
  const userId = requireId(r.userId, 'feed record userId');
  const threads = (field: 'pinned' | 'archived' | 'markedUnread'): readonly string[] => {
    const list = r[field];
    if (!Array.isArray(list) || list.length > MAX_RECORD_LIST) {
      throw new ValidationError(`feed record ${field} must be an array of thread ids`, {
        details: { field },
      });
    }
    const ids = list.map((id: unknown, i) =>
      requireKey(id, `feed record ${field}[${i}]`, MAX_THREAD_ID_LENGTH),
    );
    if (new Set(ids).size !== ids.length) {
      throw new ValidationError(`feed record ${field} names a thread twice`, { details: { field } });
    }
    return Object.freeze(ids);
  };
  const pinned = threads('pinned');
  const archived = threads('archived');
  const markedUnread = threads('markedUnread');
  const inArchive = new Set(archived);
  const both = pinned.find((id) => inArchive.has(id));
  if (both !== undefined) {
    throw new ValidationError(`feed record has ${both} both pinned and archived`, {
      details: { field: 'archived' },
    });
  }
  return Object.freeze({ userId, pinned, archived, markedUnread });
}

/** A checked batch of directory records: every list present, each id once (the last record given wins). */
export interface CheckedDirectoryBatch {
  readonly users: readonly UserRecord[];
  readonly groups: readonly GroupRecord[];
  readonly settings: readonly SettingsRecord[];
  readonly threads: readonly DirectThreadRecord[];
  readonly feeds: readonly FeedRecord[];
}

/**
 * Checks a batch of directory records (what `DirectoryStore.save` takes).
 *
 * @param value - the batch
 * @returns every list, checked, with duplicates of an id reduced to the last one
 * @throws ValidationError when the batch or any record is malformed
 */
export function requireDirectoryBatch(value: unknown): CheckedDirectoryBatch {
  const b = requireObject(value, 'directory batch');
  const list = <T>(field: string, check: (v: unknown) => T, key: (r: T) => string): readonly T[] => {
    const items = b[field];
    if (items === undefined) return [];
    if (!Array.isArray(items)) throw new ValidationError(`directory batch ${field} must be an array`);
    const byKey = new Map<string, T>();
    for (const item of items) {
      const record = check(item);
      byKey.delete(key(record));
      byKey.set(key(record), record);
    }
    return [...byKey.values()];
  };
  return {
    users: list('users', requireUserRecord, (r) => r.id),
    groups: list('groups', requireGroupRecord, (r) => r.id),
    settings: list('settings', requireSettingsRecord, (r) => r.userId),
    threads: list('threads', requireDirectThreadRecord, (r) => r.id),
    feeds: list('feeds', requireFeedRecord, (r) => r.userId),
  };
}
