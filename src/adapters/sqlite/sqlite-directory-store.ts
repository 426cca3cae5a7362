import type Database from 'better-sqlite3';
import type {
  CheckedDirectoryBatch,
  DirectThreadRecord,
  FeedRecord,
  GroupRecord,
  SettingsRecord,
  UserRecord,
} from '../../domain';
import { ChatRoomError, requireDirectoryBatch } from '../../domain';
import type { DirectoryBatch, DirectorySnapshot, DirectoryStore } from '../../ports';
import { openDatabase, storageError } from './database';

/** Options of the SQLite directory store: give a ready `db` handle or a file `path`, not both. */
export interface SqliteDirectoryStoreOptions {
  /** A ready better-sqlite3 handle (it may be the one a `SqliteMessageStore` uses); `close()` leaves it open. */
  readonly db?: Database.Database;
  /** A database file to open (`':memory:'` for a throwaway one); `close()` closes it. */
  readonly path?: string;
}

type Statement = Database.Statement<unknown[], unknown>;

/** The five record kinds, each in its own table. */
const KINDS = ['users', 'groups', 'settings', 'threads', 'feeds'] as const;
type Kind = (typeof KINDS)[number];

/**
 * A `DirectoryStore` in one SQLite file (better-sqlite3): users, groups, settings, direct threads and chat-list
 * choices survive a restart. Each record is one row of JSON text in its kind's table (`directory_users`,
 * `directory_groups`, `directory_settings`, `directory_threads`, `directory_feeds`), keyed by its id; `saved_order` (the rowid) gives the load order,
 * and the upsert that replaces a record keeps it.
 *
 * Every `save` is one `BEGIN IMMEDIATE` transaction, so a batch lands whole or not at all, and `load` reads the
 * five tables in one read transaction, so it never sees half a batch. The file runs in WAL mode with
 * `synchronous = FULL`, like `SqliteMessageStore`, so a resolved save is durable. Both stores can share one file
 * or one handle: each applies the pending migrations of the shared schema when it opens.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3'
 * import { SqliteDirectoryStore, SqliteMessageStore } from 'chat-room/sqlite'
 * const db = new Database('./data/chat.db')
 * const store = new SqliteMessageStore({ db }) // messages and the directory share one file
 * const directory = new SqliteDirectoryStore({ db })
 * await directory.save({ users: [{ id: 'alice', name: 'Alice', contacts: [], blocked: [], pushDevices: [] }] })
 * ;(await directory.load()).users[0]?.name // 'Alice'
 * // ... on shutdown (a store leaves a handle it was given open)
 * db.close()
 * ```
 */
export class SqliteDirectoryStore implements DirectoryStore {
  readonly #db: Database.Database;
  readonly #owned: boolean;
  readonly #upsert: Record<Kind, Statement>;
  readonly #select: Record<Kind, Statement>;
  readonly #saveTx: (batch: CheckedDirectoryBatch) => void;
  readonly #loadTx: () => DirectorySnapshot;

  /**
   * Opens (or adopts) the database, sets WAL mode and applies pending schema migrations.
   *
   * @param options - the handle or the file
   * @throws ValidationError when neither or both of `db` and `path` are given
   * @throws StorageError when the file cannot be opened or migrated
   */
  constructor(options: SqliteDirectoryStoreOptions) {
    const opened = openDatabase(options, 'SqliteDirectoryStore', (db) => {
      const upsert = {} as Record<Kind, Statement>;
      const select = {} as Record<Kind, Statement>;
      for (const kind of KINDS) {
        upsert[kind] = db.prepare(
          `INSERT INTO directory_${kind} (id, record) VALUES (?, ?)
           ON CONFLICT (id) DO UPDATE SET record = excluded.record`,
        );
        select[kind] = db.prepare(`SELECT record FROM directory_${kind} ORDER BY saved_order`).pluck();
      }
      return { upsert, select };
    });
    const { db } = opened;
    this.#db = db;
    this.#owned = opened.owned;
    this.#upsert = opened.prepared.upsert;
    this.#select = opened.prepared.select;
    const save = db.transaction((batch: CheckedDirectoryBatch) => {
      for (const r of batch.users) this.#upsert.users.run(r.id, JSON.stringify(r));
      for (const r of batch.groups) this.#upsert.groups.run(r.id, JSON.stringify(r));
      for (const r of batch.settings) this.#upsert.settings.run(r.userId, JSON.stringify(r));
      for (const r of batch.threads) this.#upsert.threads.run(r.id, JSON.stringify(r));
      for (const r of batch.feeds) this.#upsert.feeds.run(r.userId, JSON.stringify(r));
    });
    this.#saveTx = (batch) => save.immediate(batch);
    // A (deferred) read transaction: the five lists come from one snapshot even with other writers.
    this.#loadTx = db.transaction(() => ({
      users: this.#read<UserRecord>('users'),
      groups: this.#read<GroupRecord>('groups'),
      settings: this.#read<SettingsRecord>('settings'),
      threads: this.#read<DirectThreadRecord>('threads'),
      feeds: this.#read<FeedRecord>('feeds'),
    }));
  }

  async save(batch: DirectoryBatch): Promise<void> {
    const checked = requireDirectoryBatch(batch); // throws before anything is written
    const empty = KINDS.every((kind) => checked[kind].length === 0);
    if (empty) return;
    this.#run('saving a batch', () => this.#saveTx(checked));
  }

  async load(): Promise<DirectorySnapshot> {
    return this.#run('loading the directory', () => this.#loadTx());
  }

  /** Closes the database when the store opened it from `path`; a handle passed as `db` stays open. */
  async close(): Promise<void> {
    if (this.#owned && this.#db.open) this.#run('closing the database', () => this.#db.close());
  }

  #read<T>(kind: Kind): T[] {
    return (this.#select[kind].all() as string[]).map((json) => deepFreeze(JSON.parse(json) as T));
  }

  /** Runs a synchronous driver call, turning driver errors into `StorageError` (chat-room errors pass). */
  #run<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (ChatRoomError.is(e)) throw e;
      throw storageError('SqliteDirectoryStore', doing, e);
    }
  }
}

/** Freezes a parsed record and everything in it, like the frozen records the in-memory store returns. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
