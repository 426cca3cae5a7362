/**
 * The client SDK: `ChatClient` (connect, reconnect with backoff, resume from the cursor, retried sends, receipts,
 * a local chat list, a typed method for every request of the protocol and a typed event for everything the server
 * tells) and the two `ClientTransport`s under it, WebSocket and HTTP long-poll (the fallback when a WebSocket
 * cannot get through). It loads no driver: it uses the standard `WebSocket` (browsers, Node ≥ 22) or the
 * constructor passed as the `WebSocket` option (`ws` in Node 20), and the standard `fetch`. Browsers get one ES
 * module with its dependencies inside (`dist/esm/client.js`, the `browser` and `import` conditions).
 *
 * @example
 * ```ts
 * import { ChatClient } from 'chat-room/client'
 * const client = new ChatClient({ url: 'ws://localhost:8080/', token, deviceId: 'laptop' })
 * await client.connect()
 * console.log(client.transport) // 'websocket', or 'long-poll' where sockets are blocked
 * ```
 *
 * @module
 */
export * from './backoff';
export * from './chat-client';
export * from './long-poll-client-transport';
export * from './websocket-client-transport';
// The types the SDK's methods take and answer, so that a browser app needs no other entry point.
export type { Ack, SettingsChange } from '../session';
export type { ContactResult, GroupSnapshot, SettingsSnapshot } from '../protocol';
export type { FeedEntry, Message, MediaRef, MessageChange, PresenceRecord, ReceiptData } from '../domain';
export type { FeedChange, HistoryPage } from '../services';
