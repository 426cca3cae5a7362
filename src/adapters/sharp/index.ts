/**
 * The sharp adapter: image processing on libvips, behind its own entry because it loads the `sharp` driver (an
 * optional peer dependency: install it to use this entry).
 *
 * @example
 * ```ts
 * import { SharpImageProcessor } from 'chat-room/sharp'
 * const processor = new SharpImageProcessor()
 * ```
 *
 * @module
 */
export * from './sharp-image-processor';
