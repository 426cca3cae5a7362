/**
 * The error hierarchy of chat-room: one base class with a stable string `code`, one subclass per kind.
 *
 * @module
 */

const BRAND = Symbol.for('chat-room.error');

/** The stable codes every error (and every `error` frame) carries. */
export type ErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'RESYNC_REQUIRED'
  | 'TRANSPORT'
  | 'STORAGE';

/** Options shared by every chat-room error. */
export interface ChatRoomErrorOptions {
  /** The lower-level error this one wraps (a driver error, say). */
  cause?: unknown;
  /** Machine-readable facts about the refusal (the field at fault, a limit); never secrets. */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * The base class of every error chat-room throws; `code` is stable and safe to branch on.
 *
 * @example
 * ```ts
 * import { ChatRoomError } from 'chat-room'
 * try { await chat.sendMessage({ from: 'alice', to: 'nobody', text: 'hi' }) }
 * catch (e) { if (ChatRoomError.is(e)) console.log(e.code) } // 'NOT_FOUND'
 * ```
 */
export class ChatRoomError extends Error {
  override name = 'ChatRoomError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: ChatRoomErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze(Object.assign({}, options.details));
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * Tells whether a value is a chat-room error, also across realms and duplicated package copies.
   *
   * @param value - anything caught
   */
  static is(value: unknown): value is ChatRoomError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Input that breaks a rule: empty or oversized text, a malformed id, a number out of range. */
export class ValidationError extends ChatRoomError {
  override name = 'ValidationError';
  constructor(message: string, options?: ChatRoomErrorOptions) {
    super('VALIDATION', message, options);
  }
}

/** Something named by the caller does not exist: a user, a group, a thread, a message. */
export class NotFoundError extends ChatRoomError {
  override name = 'NotFoundError';
  constructor(message: string, options?: ChatRoomErrorOptions) {
    super('NOT_FOUND', message, options);
  }
}

/** The caller may not do this: not a member, not an admin, blocked. */
export class PermissionError extends ChatRoomError {
  override name = 'PermissionError';
  constructor(message: string, options?: ChatRoomErrorOptions) {
    super('FORBIDDEN', message, options);
  }
}

/** The request clashes with what exists: a duplicate user id, an idempotency key reused for other content. */
export class ConflictError extends ChatRoomError {
  override name = 'ConflictError';
  constructor(message: string, options?: ChatRoomErrorOptions) {
    super('CONFLICT', message, options);
  }
}

/** Too many requests; `retryAfterMs` says when to try again. */
export class RateLimitError extends ChatRoomError {
  override name = 'RateLimitError';
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: ChatRoomErrorOptions) {
    super('RATE_LIMITED', message, { ...options, details: { ...options?.details, retryAfterMs } });
    this.retryAfterMs = retryAfterMs;
  }
}

/** A frame or payload over its byte limit. */
export class PayloadTooLargeError extends ChatRoomError {
  override name = 'PayloadTooLargeError';
  constructor(message: string, options?: ChatRoomErrorOptions) {
    super('PAYLOAD_TOO_LARGE', message, options);
  }
}

/** A sync cursor older than what the inbox retains: the client must rebuild its state, nothing is skipped. */
export class ResyncRequiredError extends ChatRoomError {
  override name = 'ResyncRequiredError';
  constructor(message: string, options?: ChatRoomErrorOptions) {
    super('RESYNC_REQUIRED', message, options);
  }
}

/** The connection failed or was closed. */
export class TransportError extends ChatRoomError {
  override name = 'TransportError';
  constructor(message: string, options?: ChatRoomErrorOptions) {
    super('TRANSPORT', message, options);
  }
}

/** A store failed; `cause` holds the driver's error. */
export class StorageError extends ChatRoomError {
  override name = 'StorageError';
  constructor(message: string, options?: ChatRoomErrorOptions) {
    super('STORAGE', message, options);
  }
}

/**
 * Rebuilds a typed error from a stable code, as received in an `error` frame.
 *
 * @param code - the stable code
 * @param message - the message
 * @param details - the details sent along
 */
export function errorFromCode(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): ChatRoomError {
  const options = { details };
  switch (code) {
    case 'VALIDATION':
      return new ValidationError(message, options);
    case 'NOT_FOUND':
      return new NotFoundError(message, options);
    case 'FORBIDDEN':
      return new PermissionError(message, options);
    case 'CONFLICT':
      return new ConflictError(message, options);
    case 'RATE_LIMITED':
      return new RateLimitError(
        message,
        typeof details.retryAfterMs === 'number' ? details.retryAfterMs : 1000,
        options,
      );
    case 'PAYLOAD_TOO_LARGE':
      return new PayloadTooLargeError(message, options);
    case 'RESYNC_REQUIRED':
      return new ResyncRequiredError(message, options);
    case 'STORAGE':
      return new StorageError(message, options);
    default:
      return new TransportError(message, options);
  }
}
