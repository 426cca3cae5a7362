/**
 * The sessions wing, the edge of the services: the `SessionGateway` turns frames from any transport into service
 * calls, and the `SessionOutbox` turns what the services hand to devices into frames. It is the only place that
 * speaks the wire protocol; it may import every other wing.
 *
 * @module
 */
export * from './session-outbox';
export * from './session-gateway';
