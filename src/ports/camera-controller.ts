/** Whether the app may use the camera and the photo gallery: the user said yes, said no, or was not asked yet. */
export type CameraPermission = 'granted' | 'denied' | 'prompt';

/** An image from the camera or the gallery, as the device hands it over: untrusted bytes and a name. */
export interface CapturedImage {
  readonly bytes: Uint8Array;
  /** The file name on the device (for display only; the type is told from the bytes). */
  readonly fileName: string;
  /** The type the device claims (from the name or the picker); never trusted. */
  readonly claimedType?: string;
}

/** How the user picks from the gallery. */
export interface GallerySelection {
  /** The most images the user may pick at once (default: no limit). */
  readonly limit?: number;
}

/**
 * Access control for the camera and the photo gallery, the way phones and browsers do it: the user is asked once
 * (`prompt`), then the answer sticks until it is changed in the settings. Taking a picture or opening the gallery
 * while the permission is `prompt` asks first; when it is (or becomes) `denied` they throw.
 *
 * @example
 * ```ts
 * import { FakeCamera } from 'chat-room'
 * const camera = new FakeCamera({ permission: 'prompt', answer: 'granted', pictures: [photo] })
 * await camera.requestPermission() // 'granted'
 * const shot = await camera.takePicture()
 * ```
 */
export interface CameraController {
  /** The permission as it stands now, without asking. */
  permission(): CameraPermission;
  /** Asks the user when the permission is `prompt`; otherwise returns the standing answer without asking. */
  requestPermission(): Promise<'granted' | 'denied'>;
  /**
   * Takes a picture (asking for permission first when it is `prompt`).
   *
   * @throws PermissionError when the permission is denied
   * @throws NotFoundError when there is no camera (or nothing to capture)
   */
  takePicture(): Promise<CapturedImage>;
  /**
   * Lets the user pick images from the gallery (asking for permission first when it is `prompt`); an empty list
   * means the user picked nothing.
   *
   * @throws PermissionError when the permission is denied
   */
  selectFromGallery(selection?: GallerySelection): Promise<CapturedImage[]>;
}
