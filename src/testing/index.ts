/// <reference types="jest" />
/**
 * `chat-room/testing`: the conformance suites every adapter of a storage port runs. They register tests with
 * the test runner's globals (`describe`, `test`, `expect`, `beforeEach`, `afterEach`), so they run under Jest
 * (or Vitest with `globals: true`). Someone writing, say, a MongoDB `MessageStore` calls
 * `messageStoreSuite('MongoMessageStore', make)` in a test file and gets the same contract the built-in stores
 * pass.
 *
 * @example
 * ```ts
 * import { directoryStoreSuite, messageStoreSuite } from 'chat-room/testing'
 * import { SqliteDirectoryStore, SqliteMessageStore } from 'chat-room/sqlite'
 * messageStoreSuite('SqliteMessageStore', async () => {
 *   const store = new SqliteMessageStore({ path: ':memory:' })
 *   return { store, close: () => store.close() }
 * })
 * ```
 *
 * @module
 */
export * from './message-store.case';
export * from './directory-store.case';
export * from './media-store.case';
export * from './presence-store.case';
