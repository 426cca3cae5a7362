/**
 * The client SDK: `ChatClient` (connect, reconnect with backoff, resume from the cursor, retried sends, receipts,
 * a local chat list) and the two `ClientTransport`s under it, WebSocket and HTTP long-poll (the fallback when a
 * WebSocket cannot get through). It loads no driver: it uses the standard `WebSocket` (browsers, Node ≥ 22) or
 * the constructor passed as the `WebSocket` option (`ws` in Node 20), and the standard `fetch`.
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
export * from './chat-client';
export * from './long-poll-client-transport';
export * from './websocket-client-transport';
