import type { IncomingMessage } from 'node:http';

/**
 * Reads a request's body, refusing as soon as it passes `limit` bytes: the rest is never read, and the promise
 * rejects with the error `tooLarge` makes (the caller's 413).
 *
 * @param request - the request
 * @param limit - the most bytes taken
 * @param tooLarge - makes the refusal
 */
export function readBody(
  request: IncomingMessage,
  limit: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanUp = (): void => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength;
      if (total > limit) {
        cleanUp();
        request.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanUp();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (error: Error): void => {
      cleanUp();
      reject(error);
    };
    const onAborted = (): void => onError(new Error('the request was aborted'));
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('aborted', onAborted);
  });
}
