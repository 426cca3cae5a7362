import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MediaInfo } from '../domain';
import { ChatRoomError } from '../domain';
import { HttpError } from '../util/http-error';
import { readBody } from '../util/read-body';
import type { Authenticate } from './authenticate';
import { authenticate } from './authenticate';
import type { ChatServerSystem } from './chat-server';
import { answerError, methodNotAllowed, sendJson } from './http-answers';
import type { UploadLimiter } from './upload-limits';

/** The headers of every served photo: never sniffed or run as a document, cached privately for good. */
const MEDIA_HEADERS = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cache-Control': 'private, max-age=31536000, immutable',
});

/** What the photo routes need. */
export interface MediaRouteContext {
  readonly system: ChatServerSystem;
  readonly auth: Authenticate;
  readonly maxUploadBytes: number;
  /** Uploads in flight and bytes per minute, per user. */
  readonly uploads: UploadLimiter;
  isClosing(): boolean;
}

/**
 * Serves `POST /media` and `GET|HEAD /media/:id`; returns `false`, answering nothing, for any other path.
 *
 * @param context - the system, auth and limits
 * @param request - the request
 * @param response - where the answer goes
 * @param path - the request's path, without its query
 */
export function serveMedia(
  context: MediaRouteContext,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): boolean {
  const method = request.method ?? 'GET';
  if (path === '/media') {
    if (method !== 'POST') return methodNotAllowed(response, 'POST');
    void upload(context, request, response).catch((error: unknown) => answerError(request, response, error));
    return true;
  }
  const match = /^\/media\/([^/]+)$/.exec(path);
  if (match === null) return false;
  if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(response, 'GET, HEAD');
  void download(context, request, response, match[1] ?? '').catch((error: unknown) =>
    answerError(request, response, error),
  );
  return true;
}

/**
 * `POST /media`: authenticate, admit under the user's limits (before reading a byte), read the body up to the
 * limit, run the pipeline, answer 201 with the media. The upload holds its place in flight until the pipeline has
 * finished or failed; the bytes read are charged to the user's budget whatever the outcome.
 */
async function upload(
  context: MediaRouteContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const { system, maxUploadBytes, uploads } = context;
  if (context.isClosing()) throw new HttpError(503, 'UNAVAILABLE', 'the chat server is shutting down');
  const userId = await authenticate(request, context.auth);
  if (typeof system.uploadMedia !== 'function') {
    throw new HttpError(503, 'UNAVAILABLE', 'this server does not accept uploads');
  }
  const header = request.headers['content-length'];
  const declared = header === undefined ? undefined : Number(header);
  if (declared !== undefined && declared > maxUploadBytes) throw tooLarge(maxUploadBytes);
  const ticket = uploads.admit(userId, declared, maxUploadBytes);
  let read = 0;
  const count = (chunk: Buffer): void => {
    read += chunk.byteLength;
  };
  request.on('data', count);
  let info: MediaInfo;
  try {
    const bytes = await readBody(request, ticket.maxBodyBytes, () => tooLarge(ticket.maxBodyBytes));
    ticket.bodyRead(read);
    if (bytes.byteLength === 0) throw new HttpError(400, 'VALIDATION', 'the body must be the image');
    info = await system.uploadMedia(userId, bytes, claimedType(request.headers['content-type']));
  } finally {
    request.off('data', count);
    ticket.bodyRead(read);
    ticket.release();
  }
  const body = {
    mediaId: info.mediaId,
    thumbnailId: info.thumbnailId,
    mimeType: info.mimeType,
    bytes: info.bytes,
    width: info.width,
    height: info.height,
  };
  sendJson(response, 201, body, { Location: `/media/${encodeURIComponent(info.mediaId)}` });
}

/** `GET /media/:id`: authenticate, fetch as the user (its uploader or members), serve the bytes with safe headers. */
async function download(
  context: MediaRouteContext,
  request: IncomingMessage,
  response: ServerResponse,
  rawId: string,
): Promise<void> {
  const { system } = context;
  const userId = await authenticate(request, context.auth);
  if (typeof system.getMedia !== 'function') {
    throw new HttpError(503, 'UNAVAILABLE', 'this server does not serve media');
  }
  let mediaId: string;
  try {
    mediaId = decodeURIComponent(rawId);
  } catch {
    throw new HttpError(400, 'VALIDATION', 'malformed media id');
  }
  let media: { info: MediaInfo; bytes: Uint8Array };
  try {
    media = await system.getMedia(userId, mediaId);
  } catch (error) {
    // A non-member learns nothing, not even that the id exists: the same 404 as for a missing photo.
    if (ChatRoomError.is(error) && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND')) {
      throw new HttpError(404, 'NOT_FOUND', 'no such media');
    }
    throw error;
  }
  const { info, bytes } = media;
  response.writeHead(200, {
    ...MEDIA_HEADERS,
    'Content-Type': info.mimeType,
    'Content-Length': String(bytes.byteLength),
  });
  response.end(
    request.method === 'HEAD' ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  );
}

/** The media type a client claims, without parameters; `undefined` when it claims nothing specific. */
function claimedType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type === undefined || type.length === 0 || type === 'application/octet-stream' ? undefined : type;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the upload is over ${limit} bytes`);
}
