/**
 * `chat-room/server`: `createChatServer`, an HTTP server that serves a `ChatSystem` over WebSocket, with
 * authentication at the upgrade, an origin check, `GET /health` and the photo routes.
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
export * from './chat-server';
