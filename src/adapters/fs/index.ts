/**
 * The file-system adapters: a media store on disk and a camera whose gallery is a folder. They import
 * `node:fs`, so they live behind their own entry, `chat-room/fs`.
 *
 * @example
 * ```ts
 * import { FileCamera, FsMediaStore } from 'chat-room/fs'
 * const store = new FsMediaStore({ dir: './data/media' })
 * const camera = new FileCamera({ dir: './photos' })
 * ```
 *
 * @module
 */
export * from './fs-media-store';
export * from './file-camera';
