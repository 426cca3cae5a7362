/**
 * `chat-room/long-poll`: the HTTP long-poll transport (held `GET`s, `POST`ed frames), for networks that block
 * WebSockets. `createChatServer` (`chat-room/server`) serves it at `/poll`; `ChatClient` falls back to it.
 *
 * @module
 */
export * from './long-poll-transport';
