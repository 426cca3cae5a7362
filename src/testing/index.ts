/// <reference types="jest" />
/**
 * `chat-room/testing`: the conformance suites every adapter of a port runs — `messageStoreSuite`,
 * `directoryStoreSuite`, `mediaStoreSuite`, `presenceStoreSuite`, `clusterBusSuite` and `transportSuite`. They register tests with
 * the test runner's globals (`describe`, `test`, `expect`, `beforeEach`, `afterEach`), so they run under Jest
 * (or Vitest with `globals: true`). Someone writing, say, a MongoDB `MessageStore` calls
 * `messageStoreSuite('MongoMessageStore', make)` in a test file and gets the same contract the built-in stores
 * pass; a new transport runs `transportSuite` with a rig, as the WebSocket and long-poll transports do.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { messageStoreSuite, transportSuite } from 'chat-room/testing'
 * import { SqliteMessageStore } from 'chat-room/sqlite'
 * messageStoreSuite('SqliteMessageStore', async () => {
 *   const store = new SqliteMessageStore({ path: ':memory:' })
 *   return { store, close: () => store.close() }
 * })
 * transportSuite('InMemoryTransport', async () => {
 *   const system = ChatSystem.create()
 *   for (const id of ['alice', 'bob', 'carol']) system.registerUser({ id, name: id })
 *   return { system, client: () => system.transport, raw: openRawDevice, close: async () => {} }
 * })
 * ```
 *
 * @module
 */
export * from './message-store.case';
export * from './directory-store.case';
export * from './media-store.case';
export * from './presence-store.case';
export * from './cluster-bus.case';
export * from './transport.case';
