/**
 * A cache in front of any `MessageStore`: `CachingMessageStore` answers the reads that follow an append from what
 * it appended lately. It loads no driver; `chat-room serve` puts it in front of its SQLite or PostgreSQL store.
 *
 * @example
 * ```ts
 * import { CachingMessageStore } from 'chat-room/caching'
 * import { SqliteMessageStore } from 'chat-room/sqlite'
 * const store = new CachingMessageStore(new SqliteMessageStore({ path: 'chat.db' }))
 * ```
 *
 * @module
 */
export * from './caching-message-store';
