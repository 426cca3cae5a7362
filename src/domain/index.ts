/**
 * The domain model: pure classes with no I/O.
 *
 * @module
 */
export * from './errors';
export * from './validate';
export * from './user';
export * from './group';
export * from './message';
export * from './message-change';
export * from './chat-thread';
export * from './chat-feed';
export * from './receipt-ledger';
export * from './inbox';
export * from './presence';
export * from './media';
export * from './search-key';
export * from './records';
