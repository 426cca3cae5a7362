/**
 * The wire protocol: frame types shared by every transport.
 *
 * @module
 */
export * from './frames';
export * from './schemas';
