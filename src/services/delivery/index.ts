/**
 * The delivery wing: the delivery contract (`DeliveryService` with its routes), what members do to messages after
 * sending them and their history (`MessageActions`), the chat lists (`FeedService`), live message handles, and
 * restoring from the stores after a restart. Imports the directory and presence wings.
 *
 * @module
 */
export * from './delivery-routes';
export * from './delivery-service';
export * from './feed-service';
export * from './live-messages';
export * from './message-actions';
export * from './restore-service';
