/**
 * The in-memory adapters: the defaults, and the reference every other adapter is measured against.
 *
 * @module
 */
export * from './manual-clock';
export { SystemClock, type SystemClockOptions } from '../../util/system-clock';
export * from './in-memory-message-store';
export * from './in-memory-directory-store';
export * from './in-memory-presence-store';
export * from './in-memory-cluster-bus';
export * from './in-memory-push-notifier';
export * from './in-memory-transport';
export * from './in-memory-media-store';
export * from './fake-camera';
