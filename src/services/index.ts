/**
 * The services: the behaviour of the system, written against the ports.
 *
 * @module
 */
export * from './notification-center';
export * from './user-directory';
export * from './conversation-directory';
export * from './session-registry';
export * from './settings-service';
export * from './feed-service';
export * from './delivery-routes';
export * from './delivery-service';
export * from './session-gateway';
export * from './presence-policies';
export * from './presence-service';
export * from './media-service';
export * from './contact-directory';
export * from './directory-journal';
export * from './recent-log';
