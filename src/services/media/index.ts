/**
 * The media wing: photos in and out (`MediaService`), and sending them as messages through the delivery wing.
 *
 * @module
 */
export * from './media-service';
