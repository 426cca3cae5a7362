/**
 * chat-room: one-to-one and group chat with WhatsApp-style ticks, push for away users, inbox sync for
 * offline ones, and a domain model to learn design patterns from. The root entry loads no driver; adapters
 * that need one (WebSocket, SQLite, ...) will each have their own subpath export.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * const chat = ChatSystem.create()
 * ```
 *
 * @module
 */
export * from './domain';
export * from './protocol';
export * from './ports';
export * from './adapters/in-memory';
export * from './services';
export * from './session';
export * from './compose-system';
export * from './chat-system';
export { TaskTracker } from './util/task-tracker';
export { Observable, type EventMap } from './util/observable';
export { seededRandom } from './util/seeded-random';
