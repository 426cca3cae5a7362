/**
 * The sessions wing, the edge of the services: the `SessionGateway` turns frames from any transport into service
 * calls, the `SessionOutbox` turns what the services hand to devices into frames, and the `TypingRelay` decides
 * who hears that someone is typing. It is the only place that
 * speaks the wire protocol; it may import every other wing.
 *
 * @module
 */
export * from './session-outbox';
export * from './session-gateway';
export * from './typing-relay';
