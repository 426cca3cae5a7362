/**
 * The WebSocket adapter: a `WebSocketTransport`, a ready `createChatServer` (HTTP upgrade with authentication,
 * origin check, limits, heartbeats, `GET /health`) and JWT bearer tokens. Behind its own entry because it loads
 * the `ws` and `jsonwebtoken` drivers.
 *
 * @example
 * ```ts
 * import { ChatSystem } from 'chat-room'
 * import { createChatServer, createTokenAuth } from 'chat-room/ws'
 * const system = ChatSystem.create()
 * const tokens = createTokenAuth({ secret: process.env.CHAT_SECRET! })
 * const server = await createChatServer({ system, auth: tokens.verify, port: 8080 })
 * ```
 *
 * @module
 */
export * from './websocket-transport';
export * from './chat-server';
export * from './token';
