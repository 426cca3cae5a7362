/**
 * The SQLite adapters: a `MessageStore` and a `DirectoryStore`, on better-sqlite3, which can share one file.
 * They import the native driver, so they live behind their own entry, `chat-room/sqlite`.
 *
 * @example
 * ```ts
 * import { SqliteDirectoryStore, SqliteMessageStore } from 'chat-room/sqlite'
 * const store = new SqliteMessageStore({ path: './data/chat.db' })
 * const directoryStore = new SqliteDirectoryStore({ path: './data/chat.db' })
 * ```
 *
 * @module
 */
export * from './sqlite-directory-store';
export * from './sqlite-message-store';
export * from './open';
