import jwt from 'jsonwebtoken';
import { PermissionError, ValidationError, requireId } from '../../domain';

/** A length of time: seconds, or a span such as `'30m'`, `'12h'` or `'7d'`. */
export type TimeSpan = number | `${number}${'s' | 'm' | 'h' | 'd'}`;

/** Options of the token helper. */
export interface TokenAuthOptions {
  /** The HS256 secret; at least 32 bytes, and not one published with chat-room. It never appears in an error. */
  readonly secret: string | Buffer;
  /** Written into `iss` when signing and required when verifying. */
  readonly issuer?: string;
  /** How long a token lives. Default `'1h'`; at most `maxLifetime`. */
  readonly expiresIn?: TimeSpan;
  /**
   * The longest lifetime (`exp - iat`) a token may have: `verify` refuses longer ones, and tokens without `exp` or
   * `iat`, so a leaked token cannot be valid for years. Default `'24h'`.
   */
  readonly maxLifetime?: TimeSpan;
}

/** Signs and checks bearer tokens that name a user. */
export interface TokenAuth {
  /**
   * Signs a token for a user.
   *
   * @param userId - the user (the token's `sub`)
   * @throws ValidationError when the id is malformed, or `expiresIn` is above `maxLifetime`
   */
  sign(userId: string): string;
  /**
   * Checks a token and returns its user.
   *
   * @param token - the bearer token
   * @throws PermissionError when the token is malformed, forged, expired, from another issuer, has no `exp` or
   * `iat`, lives longer than `maxLifetime`, or was issued more than a minute in the future
   */
  verify(token: string): string;
}

/**
 * Bearer tokens on JSON Web Tokens (HS256, `sub` = user id): `sign` for a login endpoint, `verify` as the `auth`
 * of `createChatServer`.
 *
 * @param options - secret, issuer and lifetimes
 * @throws ValidationError when the secret is shorter than 32 bytes or public, or a lifetime is malformed
 *
 * @example
 * ```ts
 * import { createChatServer } from 'chat-room/server'
 * import { createTokenAuth } from 'chat-room/ws'
 * const tokens = createTokenAuth({ secret: process.env.CHAT_SECRET!, issuer: 'chat-room', maxLifetime: '12h' })
 * const server = await createChatServer({ system, auth: tokens.verify })
 * const url = `${server.url}?token=${tokens.sign('alice')}`
 * ```
 */
export function createTokenAuth(options: TokenAuthOptions): TokenAuth {
  const { secret, issuer } = options;
  if ((typeof secret !== 'string' && !Buffer.isBuffer(secret)) || Buffer.byteLength(secret) < 32) {
    throw new ValidationError('secret must be at least 32 bytes', { details: { field: 'secret' } });
  }
  if (PUBLIC_SECRETS.some((known) => Buffer.from(known).equals(Buffer.from(secret)))) {
    throw new ValidationError('secret is public (published with chat-room): use a random one', {
      details: { field: 'secret' },
    });
  }
  const expiresIn = options.expiresIn ?? '1h';
  const lifetime = seconds(expiresIn, 'expiresIn');
  const maxLifetime = seconds(options.maxLifetime ?? '24h', 'maxLifetime');
  if (maxLifetime <= 0) {
    throw new ValidationError('maxLifetime must be above 0', { details: { field: 'maxLifetime' } });
  }
  return {
    sign(userId: string): string {
      requireId(userId, 'userId');
      if (lifetime > maxLifetime) {
        throw new ValidationError(`expiresIn must be at most maxLifetime (${maxLifetime} s)`, {
          details: { field: 'expiresIn', max: maxLifetime },
        });
      }
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
      if (typeof payload !== 'object') throw new PermissionError('invalid token');
      const { sub, exp, iat } = payload;
      if (typeof exp !== 'number' || typeof iat !== 'number' || exp - iat > maxLifetime) {
        throw new PermissionError('invalid token');
      }
      if (iat > Date.now() / 1000 + IAT_LEEWAY_S) throw new PermissionError('invalid token');
      if (typeof sub !== 'string' || !isId(sub)) throw new PermissionError('invalid token');
      return sub;
    },
  };
}

// Secrets published in chat-room's code and docs: a copy of an old dist/ or an example must not let anyone in.
const PUBLIC_SECRETS: readonly string[] = [
  'chat-room-development-secret-not-for-production',
  'an example secret that is long enough!!',
];

/** How far in the future `iat` may be, for clocks a little apart. */
const IAT_LEEWAY_S = 60;

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** A time span in seconds; throws a ValidationError naming `field` when it is malformed. */
function seconds(span: TimeSpan, field: string): number {
  if (typeof span === 'number') {
    if (Number.isFinite(span) && span >= 0) return span;
  } else if (typeof span === 'string') {
    const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(span);
    if (match !== null) return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  }
  throw new ValidationError(`${field} must be seconds or a span such as '30m', '12h' or '7d'`, {
    details: { field },
  });
}

function isId(value: string): boolean {
  try {
    requireId(value, 'sub');
    return true;
  } catch {
    return false;
  }
}
