/**
 * The services: the behaviour of the system, written against the ports. They live in wings, each with an index,
 * and a wing imports only the wings below it: `directory` < `presence` < `delivery` < `media` < `sessions`. The
 * files here are shared by every wing: the system's events and the outbound port to devices.
 *
 * @module
 */
export * from './notification-center';
export * from './device-outbox';
export * from './directory';
export * from './presence';
export * from './delivery';
export * from './media';
export * from './sessions';
