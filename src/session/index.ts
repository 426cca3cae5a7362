/**
 * The device side: a session per connected device, and the chat windows open on it.
 *
 * @module
 */
export * from './chat-session';
export * from './chat-window';
export * from './local-devices';
