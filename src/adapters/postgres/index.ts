/**
 * The PostgreSQL adapters: a durable `MessageStore` on a `pg` pool. They import `pg` (an optional peer
 * dependency), so they live behind their own entry, `chat-room/postgres`.
 *
 * @example
 * ```ts
 * import { Pool } from 'pg'
 * import { PostgresMessageStore } from 'chat-room/postgres'
 * const store = new PostgresMessageStore({ pool: new Pool({ connectionString: process.env.DATABASE_URL }) })
 * await store.start()
 * ```
 *
 * @module
 */
export * from './postgres-message-store';
export { MIGRATIONS } from './migrations';
export type { Migration } from './migrations';
