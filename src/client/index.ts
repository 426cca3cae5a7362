/**
 * The client SDK: `ChatClient` (connect, reconnect with backoff, resume from the cursor, retried sends, receipts,
 * a local chat list) and the WebSocket `ClientTransport` under it. It loads no driver: it uses the standard
 * `WebSocket` (browsers, Node ≥ 22) or the constructor passed as the `WebSocket` option (`ws` in Node 20).
 *
 * @example
 * ```ts
 * import { ChatClient } from 'chat-room/client'
 * const client = new ChatClient({ url: 'ws://localhost:8080/', token, deviceId: 'laptop' })
 * await client.connect()
 * ```
 *
 * @module
 */
export * from './chat-client';
export * from './websocket-client-transport';
