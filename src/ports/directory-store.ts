import type { DirectThreadRecord, FeedRecord, GroupRecord, SettingsRecord, UserRecord } from '../domain';

/** Records to write together; any list may be absent or empty. */
export interface DirectoryBatch {
  readonly users?: readonly UserRecord[];
  readonly groups?: readonly GroupRecord[];
  readonly settings?: readonly SettingsRecord[];
  readonly threads?: readonly DirectThreadRecord[];
  /** Each user's chat-list choices (pins, archive, unread marks), one record per user. */
  readonly feeds?: readonly FeedRecord[];
}

/** Everything a directory store holds, each list in the order its records were first saved. */
export interface DirectorySnapshot {
  readonly users: readonly UserRecord[];
  readonly groups: readonly GroupRecord[];
  readonly settings: readonly SettingsRecord[];
  readonly threads: readonly DirectThreadRecord[];
  readonly feeds: readonly FeedRecord[];
}

/**
 * Keeps who is who: users with their contacts, blocks and push devices; groups with members and roles; each
 * user's settings and chat-list choices (pinned, archived, marked unread); the direct conversations that exist.
 * Messages, inboxes and receipts live in the `MessageStore`, photos in the `MediaStore`. The system keeps the
 * directory in memory, writes every change through this port, and loads it back when it starts.
 *
 * A record is a whole snapshot: saving it again replaces it and keeps its place in the load order.
 *
 * @example
 * ```ts
 * import { InMemoryDirectoryStore } from 'chat-room'
 * const store = new InMemoryDirectoryStore()
 * await store.save({ users: [{ id: 'alice', name: 'Alice', contacts: [], blocked: [], pushDevices: [] }] })
 * ;(await store.load()).users[0]?.name // 'Alice'
 * ```
 */
export interface DirectoryStore {
  /**
   * Writes a batch, all or nothing. Records are checked first (`requireUserRecord` and the others); a batch
   * naming one id twice in a list keeps the last. Durable when the promise resolves.
   *
   * @throws ValidationError when a record is malformed; nothing is written
   * @throws StorageError when the store fails; nothing is written
   */
  save(batch: DirectoryBatch): Promise<void>;
  /** Everything stored (copies: changing them changes nothing stored). */
  load(): Promise<DirectorySnapshot>;
}
