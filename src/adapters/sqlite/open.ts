import Database from 'better-sqlite3';
import { StorageError, ValidationError } from '../../domain';
import { SqliteDirectoryStore } from './sqlite-directory-store';
import { SqliteMessageStore } from './sqlite-message-store';
import type { SqliteMessageStoreOptions } from './sqlite-message-store';

/** Both SQLite stores on one database handle, and how to close them. */
export interface SqliteStores {
  readonly store: SqliteMessageStore;
  readonly directoryStore: SqliteDirectoryStore;
  /** Closes both stores and the file. */
  close(): Promise<void>;
}

/**
 * Opens one SQLite file for everything a `ChatSystem` keeps: messages, inboxes, receipts and cursors, and the
 * directory (users, groups, settings, direct threads). Both stores share one handle, so the schema is migrated
 * once.
 *
 * @param path - the database file (created when missing)
 * @param options - message store options (`maxInboxEntries`, batching)
 * @throws ValidationError when the path is empty
 * @throws StorageError when the file cannot be opened or migrated
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { openSqliteStores } from 'chat-room/sqlite'
 * const { store, directoryStore, close } = openSqliteStores('./chat-room.db')
 * const chat = await ChatSystem.open({ store, directoryStore })
 * // ... on shutdown
 * await chat.close()
 * await close()
 * ```
 */
export function openSqliteStores(
  path: string,
  options: Omit<SqliteMessageStoreOptions, 'db' | 'path'> = {},
): SqliteStores {
  if (typeof path !== 'string' || path.length === 0)
    throw new ValidationError('a SQLite file path is needed');
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (error) {
    throw new StorageError(`cannot open the SQLite file ${path}`, { cause: error });
  }
  try {
    const store = new SqliteMessageStore({ ...options, db });
    const directoryStore = new SqliteDirectoryStore({ db });
    return {
      store,
      directoryStore,
      close: async () => {
        await store.close();
        await directoryStore.close();
        if (db.open) db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
