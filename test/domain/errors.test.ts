import type { ErrorCode } from 'chat-room';
import {
  ChatRoomError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionError,
  RateLimitError,
  ResyncRequiredError,
  StorageError,
  TransportError,
  ValidationError,
  errorFromCode,
} from 'chat-room';

type AnyErrorClass = abstract new (...args: never[]) => ChatRoomError;

/** Every kind of error, the code it must carry and how to make one. */
const KINDS: ReadonlyArray<{
  code: ErrorCode;
  cls: AnyErrorClass;
  name: string;
  make: (message: string, cause?: unknown) => ChatRoomError;
}> = [
  {
    code: 'VALIDATION',
    cls: ValidationError,
    name: 'ValidationError',
    make: (m, cause) => new ValidationError(m, { cause }),
  },
  {
    code: 'NOT_FOUND',
    cls: NotFoundError,
    name: 'NotFoundError',
    make: (m, cause) => new NotFoundError(m, { cause }),
  },
  {
    code: 'FORBIDDEN',
    cls: PermissionError,
    name: 'PermissionError',
    make: (m, cause) => new PermissionError(m, { cause }),
  },
  {
    code: 'CONFLICT',
    cls: ConflictError,
    name: 'ConflictError',
    make: (m, cause) => new ConflictError(m, { cause }),
  },
  {
    code: 'RATE_LIMITED',
    cls: RateLimitError,
    name: 'RateLimitError',
    make: (m, cause) => new RateLimitError(m, 250, { cause }),
  },
  {
    code: 'PAYLOAD_TOO_LARGE',
    cls: PayloadTooLargeError,
    name: 'PayloadTooLargeError',
    make: (m, cause) => new PayloadTooLargeError(m, { cause }),
  },
  {
    code: 'RESYNC_REQUIRED',
    cls: ResyncRequiredError,
    name: 'ResyncRequiredError',
    make: (m, cause) => new ResyncRequiredError(m, { cause }),
  },
  {
    code: 'TRANSPORT',
    cls: TransportError,
    name: 'TransportError',
    make: (m, cause) => new TransportError(m, { cause }),
  },
  {
    code: 'STORAGE',
    cls: StorageError,
    name: 'StorageError',
    make: (m, cause) => new StorageError(m, { cause }),
  },
];

describe('errors', () => {
  describe.each(KINDS)('$name', ({ code, cls, name, make }) => {
    it(`carries the stable code ${code}, its own name and the message`, () => {
      const e = make('something went wrong');
      expect(e).toBeInstanceOf(cls);
      expect(e).toBeInstanceOf(ChatRoomError);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe(code);
      expect(e.name).toBe(name);
      expect(e.message).toBe('something went wrong');
      expect(String(e)).toBe(`${name}: something went wrong`);
    });

    it('keeps the wrapped cause', () => {
      const driverError = new Error('ECONNRESET');
      expect(make('wrapped', driverError).cause).toBe(driverError);
    });

    it('is recognised by ChatRoomError.is', () => {
      expect(ChatRoomError.is(make('x'))).toBe(true);
    });

    it('is rebuilt from its code by errorFromCode', () => {
      const rebuilt = errorFromCode(code, 'from a frame', { field: 'text' });
      expect(rebuilt).toBeInstanceOf(cls);
      expect(rebuilt.code).toBe(code);
      expect(rebuilt.name).toBe(name);
      expect(rebuilt.message).toBe('from a frame');
      expect(rebuilt.details).toMatchObject({ field: 'text' });
    });
  });

  it('gives every kind a different code, so a client can branch on it', () => {
    expect(new Set(KINDS.map((k) => k.code)).size).toBe(KINDS.length);
  });

  it('has no cause when none was given', () => {
    const e = new ValidationError('bad');
    expect(e.cause).toBeUndefined();
    expect('cause' in e).toBe(false);
  });

  it('keeps details and freezes them', () => {
    const details = { field: 'text', max: 10 };
    const e = new ValidationError('too long', { details });
    details.max = 99; // the caller's object changing later does not change the error
    expect(e.details).toEqual({ field: 'text', max: 10 });
    expect(Object.isFrozen(e.details)).toBe(true);
  });

  it('a RateLimitError says when to retry, also in its details', () => {
    const e = new RateLimitError('slow down', 1500, { details: { scope: 'send' } });
    expect(e.retryAfterMs).toBe(1500);
    expect(e.details).toEqual({ scope: 'send', retryAfterMs: 1500 });
  });

  it('errorFromCode keeps retryAfterMs from the details of a RATE_LIMITED frame', () => {
    const e = errorFromCode('RATE_LIMITED', 'slow down', { retryAfterMs: 4200 });
    expect(e).toBeInstanceOf(RateLimitError);
    expect((e as RateLimitError).retryAfterMs).toBe(4200);
  });

  describe('ChatRoomError.is', () => {
    it('refuses plain errors, look-alikes and non-objects', () => {
      expect(ChatRoomError.is(new Error('x'))).toBe(false);
      expect(ChatRoomError.is({ name: 'ValidationError', code: 'VALIDATION', message: 'x' })).toBe(false);
      expect(ChatRoomError.is(null)).toBe(false);
      expect(ChatRoomError.is(undefined)).toBe(false);
      expect(ChatRoomError.is('VALIDATION')).toBe(false);
      expect(ChatRoomError.is(42)).toBe(false);
    });

    it('accepts an error from another copy of the package (it checks the brand, not the class)', () => {
      const copy = { code: 'NOT_FOUND', message: 'x', [Symbol.for('chat-room.error')]: true };
      expect(ChatRoomError.is(copy)).toBe(true);
      expect(copy).not.toBeInstanceOf(ChatRoomError);
    });

    it('accepts an error made by a second, separately loaded copy of the module', () => {
      let foreign: unknown;
      jest.isolateModules(() => {
        // A fresh module registry: this is a different ChatRoomError class, as with a duplicated package.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const other = require('chat-room') as { PermissionError: typeof PermissionError };
        foreign = new other.PermissionError('not an admin');
      });
      expect(foreign).not.toBeInstanceOf(ChatRoomError);
      expect(ChatRoomError.is(foreign)).toBe(true);
    });

    it('refuses an object whose brand is not exactly true', () => {
      expect(ChatRoomError.is({ [Symbol.for('chat-room.error')]: 'yes' })).toBe(false);
    });
  });
});
