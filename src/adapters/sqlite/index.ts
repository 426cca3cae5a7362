/**
 * The SQLite adapters: a `MessageStore` in one file, on better-sqlite3. It imports the native driver, so it
 * lives behind its own entry, `chat-room/sqlite`.
 *
 * @example
 * ```ts
 * import { SqliteMessageStore } from 'chat-room/sqlite'
 * const store = new SqliteMessageStore({ path: './data/chat.db' })
 * ```
 *
 * @module
 */
export * from './sqlite-message-store';
