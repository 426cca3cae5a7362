/**
 * The WebSocket adapter: a `WebSocketTransport` (limits, heartbeats, slow consumers) and JWT bearer tokens. Behind
 * its own entry because it loads the `ws` and `jsonwebtoken` drivers. `createChatServer` (`chat-room/server`)
 * puts it behind an HTTP server with authentication.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { createChatServer } from 'chat-room/server'
 * import { createTokenAuth } from 'chat-room/ws'
 * const system = ChatSystem.create()
 * const tokens = createTokenAuth({ secret: process.env.CHAT_SECRET! })
 * const server = await createChatServer({ system, auth: tokens.verify, port: 8080 })
 * ```
 *
 * @module
 */
export * from './websocket-transport';
export * from './token';
