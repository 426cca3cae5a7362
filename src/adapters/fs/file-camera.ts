import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  NotFoundError,
  PermissionError,
  StorageError,
  ValidationError,
  requirePositiveInt,
} from '../../domain';
import type { CameraController, CameraPermission, CapturedImage, GallerySelection } from '../../ports';

/** Options of the file camera. */
export interface FileCameraOptions {
  /** The folder whose image files are the gallery. */
  readonly dir: string;
  /** The permission it starts with (default `granted`). */
  readonly permission?: CameraPermission;
  /** What the user answers when asked (default `granted`). */
  readonly answer?: 'granted' | 'denied';
}

/** The types the file names claim; the bytes are checked later, by whoever receives them. */
const CLAIMED_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
});

/**
 * A `CameraController` backed by a folder, for examples and demos: the gallery is the folder's image files
 * (`.jpg`, `.jpeg`, `.png`, `.webp`, `.gif`, by name order) and each `takePicture` returns the next of them,
 * starting over after the last. The folder is listed again on every call, so files dropped in show up. The
 * claimed type comes from the file name only — a `.png` that holds an SVG is still refused by `MediaService`.
 *
 * @example
 * ```ts
 * import { FileCamera } from 'chat-room/fs'
 * const camera = new FileCamera({ dir: './examples/photos' })
 * const { bytes, fileName, claimedType } = await camera.takePicture()
 * ```
 */
export class FileCamera implements CameraController {
  readonly #dir: string;
  #permission: CameraPermission;
  #answer: 'granted' | 'denied';
  #next = 0;

  /**
   * Creates a camera over a folder.
   *
   * @param options - the folder, the permission and the scripted answer to the prompt
   */
  constructor(options: FileCameraOptions) {
    if (typeof options?.dir !== 'string' || options.dir.length === 0) {
      throw new ValidationError('FileCamera needs a folder', { details: { field: 'dir' } });
    }
    this.#dir = options.dir;
    this.#permission = options.permission ?? 'granted';
    this.#answer = options.answer ?? 'granted';
  }

  /**
   * Sets the permission, as the user does in the system settings.
   *
   * @param permission - the new permission
   */
  setPermission(permission: CameraPermission): void {
    this.#permission = permission;
  }

  permission(): CameraPermission {
    return this.#permission;
  }

  async requestPermission(): Promise<'granted' | 'denied'> {
    if (this.#permission === 'prompt') this.#permission = this.#answer;
    return this.#permission as 'granted' | 'denied';
  }

  async takePicture(): Promise<CapturedImage> {
    await this.#requireGranted('take a picture');
    const names = await this.#list();
    const name = names[this.#next % Math.max(1, names.length)];
    if (name === undefined) throw new NotFoundError(`no image files in ${this.#dir}`);
    this.#next++;
    return this.#read(name);
  }

  async selectFromGallery(selection: GallerySelection = {}): Promise<CapturedImage[]> {
    await this.#requireGranted('open the gallery');
    const limit =
      selection.limit === undefined
        ? Number.MAX_SAFE_INTEGER
        : requirePositiveInt(selection.limit, 'limit', Number.MAX_SAFE_INTEGER);
    const names = (await this.#list()).slice(0, limit);
    return Promise.all(names.map((name) => this.#read(name)));
  }

  async #requireGranted(action: string): Promise<void> {
    if ((await this.requestPermission()) === 'denied') {
      throw new PermissionError(`camera permission denied: cannot ${action}`, {
        details: { permission: 'denied' },
      });
    }
  }

  /** The image files of the folder, by name. */
  async #list(): Promise<string[]> {
    try {
      const entries = await readdir(this.#dir, { withFileTypes: true });
      return entries
        .filter((e) => e.isFile() && CLAIMED_TYPES[extname(e.name).toLowerCase()] !== undefined)
        .map((e) => e.name)
        .sort();
    } catch (error) {
      throw new StorageError(`could not list the folder ${this.#dir}`, { cause: error });
    }
  }

  async #read(name: string): Promise<CapturedImage> {
    try {
      const data = await readFile(join(this.#dir, name));
      const claimedType = CLAIMED_TYPES[extname(name).toLowerCase()];
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      return Object.freeze(
        claimedType === undefined ? { bytes, fileName: name } : { bytes, fileName: name, claimedType },
      );
    } catch (error) {
      throw new StorageError(`could not read ${name}`, { cause: error });
    }
  }
}
