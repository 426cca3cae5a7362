/**
 * An HTTP answer to give instead of a result: its status, a stable error code, a message safe to show, and any
 * headers it needs (`Allow`, `WWW-Authenticate`, `Retry-After`).
 */
export class HttpError extends Error {
  override name = 'HttpError';

  /**
   * Creates a refusal.
   *
   * @param status - the HTTP status
   * @param code - the error code the body carries (`UNAUTHORIZED`, `VALIDATION`, ...)
   * @param message - what the body says; never a secret
   * @param headers - headers to answer with
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}
