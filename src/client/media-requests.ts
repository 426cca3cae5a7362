/**
 * The photo requests of the client SDK over plain `fetch`: `POST /media` (upload) and `GET /media/:id` (download),
 * with the token in the `Authorization` header, never in the URL, and a `429` waited out.
 *
 * @module
 */
import type { ErrorCode, MediaRef } from '../domain';
import { TransportError, errorFromCode, requireMediaId } from '../domain';
import type { Clock } from '../ports';
import type { FetchLike } from './long-poll-client-transport';

/** How many times a media request is made when the server keeps answering 429. */
export const MEDIA_ATTEMPTS = 3;

/** What a media request needs. */
export interface MediaRequestContext {
  /** The server's HTTP URL (`http://localhost:8080/`); `media` is resolved on it. */
  readonly baseUrl: string;
  /** The bearer token. */
  readonly token: string;
  readonly fetch: FetchLike;
  /** The clock a `Retry-After` is waited out on. */
  readonly clock: Clock;
}

/**
 * Uploads a photo; the server checks it (type from its bytes, size, pixels), strips its metadata, thumbnails it and
 * answers its `MediaRef`, which a `send` frame with `kind: 'photo'` then refers to (within an hour).
 *
 * @param context - server, token, fetch, clock
 * @param photo - the image's bytes (JPEG, PNG, WebP or GIF)
 * @returns the stored photo
 * @throws ValidationError, PayloadTooLargeError, RateLimitError as the server refuses
 * @throws TransportError when the server cannot be reached or answers nonsense
 *
 * @internal `ChatClient.sendPhoto` is its public face.
 */
export async function uploadMedia(context: MediaRequestContext, photo: Uint8Array | Blob): Promise<MediaRef> {
  const type = isBlob(photo) && photo.type !== '' ? photo.type : 'application/octet-stream';
  const response = await request(context, 'media', {
    method: 'POST',
    headers: { 'Content-Type': type, Accept: 'application/json' },
    body: photo as unknown as NonNullable<RequestInit['body']>,
  });
  const media = (await response.json().catch(() => undefined)) as Partial<MediaRef> | undefined;
  if (typeof media?.mediaId !== 'string' || typeof media.thumbnailId !== 'string') {
    throw new TransportError('malformed answer to POST /media');
  }
  const { mediaId, mimeType, bytes, width, height, thumbnailId } = media as MediaRef;
  return { mediaId, mimeType, bytes, width, height, thumbnailId };
}

/**
 * A photo's bytes (or its thumbnail's), for a member of a conversation it was sent in, or its uploader.
 *
 * @param context - server, token, fetch, clock
 * @param mediaId - the photo's (or its thumbnail's) id
 * @throws ValidationError when the id is malformed
 * @throws NotFoundError when there is no such photo, or this user may not see it (the same answer)
 * @throws TransportError when the server cannot be reached
 *
 * @internal `ChatClient.fetchMedia` is its public face.
 */
export async function downloadMedia(
  context: MediaRequestContext,
  mediaId: string,
): Promise<{ bytes: Uint8Array; mimeType: string }> {
  requireMediaId(mediaId);
  const response = await request(context, `media/${encodeURIComponent(mediaId)}`, {});
  const mimeType = response.headers.get('content-type') ?? 'application/octet-stream';
  return { bytes: new Uint8Array(await response.arrayBuffer()), mimeType };
}

/** One request, made again after `Retry-After` while the server answers 429; a refusal as its typed error. */
async function request(context: MediaRequestContext, path: string, init: RequestInit): Promise<Response> {
  const url = new URL(path, context.baseUrl);
  const headers = { ...(init.headers as Record<string, string>), Authorization: `Bearer ${context.token}` };
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await context.fetch(url, { ...init, headers });
    } catch (e) {
      throw new TransportError(`${init.method ?? 'GET'} /${path} failed`, { cause: e });
    }
    if (response.ok) return response;
    const body = (await response.json().catch(() => ({}))) as { code?: unknown; message?: unknown };
    const retryAfterS = Number(response.headers.get('retry-after'));
    if (response.status === 429 && attempt < MEDIA_ATTEMPTS && retryAfterS > 0) {
      await new Promise<void>((resolve) => context.clock.setTimeout(resolve, retryAfterS * 1_000));
      continue;
    }
    const code = (typeof body.code === 'string' ? body.code : 'TRANSPORT') as ErrorCode;
    throw errorFromCode(
      code,
      typeof body.message === 'string' ? body.message : `HTTP ${response.status}`,
      {},
    );
  }
}

/** Whether a value is a `Blob` (a `File` too), without needing the global in this realm. */
function isBlob(value: unknown): value is Blob {
  return typeof value === 'object' && value !== null && typeof (value as Blob).arrayBuffer === 'function';
}
