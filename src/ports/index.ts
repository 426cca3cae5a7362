/**
 * Ports: the interfaces the services need from the outside world. Adapters implement them.
 *
 * @module
 */
export * from './clock';
export * from './message-store';
export * from './directory-store';
export * from './presence-store';
export * from './push-notifier';
export * from './transport';
export * from './media-store';
export * from './image-processor';
export * from './camera-controller';
export * from './cluster-bus';
