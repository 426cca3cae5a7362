/**
 * The PostgreSQL adapters: a durable `MessageStore`, `DirectoryStore` and `MediaStore` on a `pg` pool, which
 * can share one schema. They import `pg` (an optional peer dependency), so they live behind their own entry,
 * `chat-room/postgres`.
 *
 * @example
 * ```ts
 * import { Pool } from 'pg'
 * import { PostgresDirectoryStore, PostgresMessageStore } from 'chat-room/postgres'
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL })
 * const store = new PostgresMessageStore({ pool })
 * const directoryStore = new PostgresDirectoryStore({ pool })
 * await Promise.all([store.start(), directoryStore.start()])
 * ```
 *
 * @module
 */
export * from './postgres-directory-store';
export * from './postgres-media-store';
export * from './postgres-message-store';
export { MIGRATIONS } from './migrations';
export type { Migration } from './migrations';
export * from './open';
