import { NotFoundError, PermissionError, requirePositiveInt } from '../../domain';
import type { CameraController, CameraPermission, CapturedImage, GallerySelection } from '../../ports';

/** Options of the fake camera. */
export interface FakeCameraOptions {
  /** The permission it starts with (default `granted`). */
  readonly permission?: CameraPermission;
  /** What the user answers when asked (default `granted`). */
  readonly answer?: 'granted' | 'denied';
  /** What `takePicture` returns, in turn, starting over after the last. */
  readonly pictures?: readonly CapturedImage[];
  /** What the gallery holds; `selectFromGallery` picks from the start of it. */
  readonly gallery?: readonly CapturedImage[];
}

/**
 * A `CameraController` for tests: preset pictures and gallery, a permission the test sets, and a scripted answer
 * to the permission prompt. Images are copied out, so a caller changing them changes nothing here.
 *
 * @example
 * ```ts
 * import { FakeCamera } from 'chat-room'
 * const camera = new FakeCamera({ permission: 'denied' })
 * await camera.takePicture() // throws PermissionError
 * camera.setPermission('granted') // the user changed it in the settings
 * ```
 */
export class FakeCamera implements CameraController {
  #permission: CameraPermission;
  #answer: 'granted' | 'denied';
  readonly #pictures: readonly CapturedImage[];
  readonly #gallery: readonly CapturedImage[];
  #next = 0;
  #prompts = 0;

  /**
   * Creates a fake camera.
   *
   * @param options - permission, scripted answer, pictures and gallery
   */
  constructor(options: FakeCameraOptions = {}) {
    this.#permission = options.permission ?? 'granted';
    this.#answer = options.answer ?? 'granted';
    this.#pictures = [...(options.pictures ?? [])];
    this.#gallery = [...(options.gallery ?? [])];
  }

  /** How many times the user was asked for permission. */
  get prompts(): number {
    return this.#prompts;
  }

  /**
   * Sets the permission, as the user does in the system settings (`prompt` resets it: the next use asks again).
   *
   * @param permission - the new permission
   */
  setPermission(permission: CameraPermission): void {
    this.#permission = permission;
  }

  /**
   * Sets what the user answers the next time they are asked.
   *
   * @param answer - the answer
   */
  setAnswer(answer: 'granted' | 'denied'): void {
    this.#answer = answer;
  }

  permission(): CameraPermission {
    return this.#permission;
  }

  async requestPermission(): Promise<'granted' | 'denied'> {
    if (this.#permission === 'prompt') {
      this.#prompts++;
      this.#permission = this.#answer;
    }
    return this.#permission as 'granted' | 'denied';
  }

  async takePicture(): Promise<CapturedImage> {
    await this.#requireGranted('take a picture');
    const picture = this.#pictures[this.#next % Math.max(1, this.#pictures.length)];
    if (picture === undefined) throw new NotFoundError('the fake camera has no pictures');
    this.#next++;
    return copy(picture);
  }

  async selectFromGallery(selection: GallerySelection = {}): Promise<CapturedImage[]> {
    await this.#requireGranted('open the gallery');
    const limit =
      selection.limit === undefined
        ? this.#gallery.length
        : requirePositiveInt(selection.limit, 'limit', Number.MAX_SAFE_INTEGER);
    return this.#gallery.slice(0, limit).map(copy);
  }

  async #requireGranted(action: string): Promise<void> {
    if ((await this.requestPermission()) === 'denied') {
      throw new PermissionError(`camera permission denied: cannot ${action}`, {
        details: { permission: 'denied' },
      });
    }
  }
}

function copy(image: CapturedImage): CapturedImage {
  return Object.freeze(Object.assign({}, image, { bytes: Uint8Array.from(image.bytes) }));
}
