import jwt from 'jsonwebtoken';
import { PermissionError, ValidationError, requireId } from '../../domain';

/** Options of the token helper. */
export interface TokenAuthOptions {
  /** The HS256 secret; at least 32 bytes. It never appears in an error. */
  readonly secret: string | Buffer;
  /** Written into `iss` when signing and required when verifying. */
  readonly issuer?: string;
  /** How long a token lives: seconds, or a span such as `'1h'` or `'7d'`. Default `'1h'`. */
  readonly expiresIn?: number | `${number}${'s' | 'm' | 'h' | 'd'}`;
}

/** Signs and checks bearer tokens that name a user. */
export interface TokenAuth {
  /**
   * Signs a token for a user.
   *
   * @param userId - the user (the token's `sub`)
   * @throws ValidationError when the id is malformed
   */
  sign(userId: string): string;
  /**
   * Checks a token and returns its user.
   *
   * @param token - the bearer token
   * @throws PermissionError when the token is malformed, forged, expired or from another issuer
   */
  verify(token: string): string;
}

/**
 * Bearer tokens on JSON Web Tokens (HS256, `sub` = user id): `sign` for a login endpoint, `verify` as the `auth`
 * of `createChatServer`.
 *
 * @param options - secret, issuer and lifetime
 * @throws ValidationError when the secret is shorter than 32 bytes
 *
 * @example
 * ```ts
 * import { createChatServer } from 'chat-room/server'
 * import { createTokenAuth } from 'chat-room/ws'
 * const tokens = createTokenAuth({ secret: process.env.CHAT_SECRET!, issuer: 'chat-room' })
 * const server = await createChatServer({ system, auth: tokens.verify })
 * const url = `${server.url}?token=${tokens.sign('alice')}`
 * ```
 */
export function createTokenAuth(options: TokenAuthOptions): TokenAuth {
  const { secret, issuer } = options;
  if ((typeof secret !== 'string' && !Buffer.isBuffer(secret)) || Buffer.byteLength(secret) < 32) {
    throw new ValidationError('secret must be at least 32 bytes', { details: { field: 'secret' } });
  }
  const expiresIn = options.expiresIn ?? '1h';
  return {
    sign(userId: string): string {
      requireId(userId, 'userId');
      return jwt.sign({}, secret, {
        algorithm: 'HS256',
        subject: userId,
        expiresIn,
        ...(issuer === undefined ? {} : { issuer }),
      });
    },
    verify(token: string): string {
      if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
        throw new PermissionError('invalid token');
      }
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, secret, {
          algorithms: ['HS256'],
          ...(issuer === undefined ? {} : { issuer }),
        });
      } catch (error) {
        // The driver's message names the failure (expired, bad signature), never the secret; keep it as cause.
        const expired = error instanceof jwt.TokenExpiredError;
        throw new PermissionError(expired ? 'token expired' : 'invalid token', { cause: error });
      }
      const sub = typeof payload === 'object' ? payload.sub : undefined;
      if (typeof sub !== 'string' || !isId(sub)) throw new PermissionError('invalid token');
      return sub;
    },
  };
}

function isId(value: string): boolean {
  try {
    requireId(value, 'sub');
    return true;
  } catch {
    return false;
  }
}
