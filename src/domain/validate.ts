/**
 * Small input checks shared by the domain and the services; each throws a `ValidationError` naming the field.
 *
 * @module
 */
import { ValidationError } from './errors';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/**
 * Checks an identifier: 1–128 characters of letters, digits and `_ . : @ -`, starting with a letter or digit.
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @throws ValidationError when the value is not such an id
 */
export function requireId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new ValidationError(
      `${field} must be 1-128 characters of letters, digits and _ . : @ - (got ${describe(value)})`,
      { details: { field } },
    );
  }
  return value;
}

/**
 * Checks a non-negative safe integer (a seq, a cursor, a count).
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @throws ValidationError when the value is not such an integer
 */
export function requireSeq(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${field} must be a non-negative integer (got ${describe(value)})`, {
      details: { field },
    });
  }
  return value;
}

/**
 * Checks a list of identifiers (see {@link requireId}) of at most `max` items.
 *
 * @param value - the value to check
 * @param field - the field's name, for the error messages
 * @param max - the most items allowed
 * @returns a frozen copy, so no one keeps the caller's array
 * @throws ValidationError when the value is not such a list
 */
export function requireIdList(value: unknown, field: string, max: number): readonly string[] {
  if (!Array.isArray(value) || value.length > max) {
    throw new ValidationError(`${field} must be an array of ids`, { details: { field, max } });
  }
  return Object.freeze(value.map((id: unknown, i) => requireId(id, `${field}[${i}]`)));
}

/**
 * Checks a positive integer no larger than `max` (a page size, a limit).
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @param max - the largest value allowed
 * @throws ValidationError when the value is out of range
 */
export function requirePositiveInt(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ValidationError(`${field} must be an integer from 1 to ${max} (got ${describe(value)})`, {
      details: { field, max },
    });
  }
  return value;
}

/**
 * Checks a string of at most `max` UTF-16 units; it may be empty (a preview, a title).
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @param max - the longest length allowed (no limit when left out)
 * @throws ValidationError when the value is not a string or is too long
 */
export function requireString(value: unknown, field: string, max = Number.POSITIVE_INFINITY): string {
  if (typeof value !== 'string') {
    throw new ValidationError(`${field} must be a string (got ${describe(value)})`, { details: { field } });
  }
  if (value.length > max) throw tooLong(field, value, max);
  return value;
}

/**
 * Checks a key that names something in a store or a list (a thread id as a feed or a record holds it): a
 * non-empty string of at most `max` UTF-16 units, of any characters.
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @param max - the longest length allowed
 * @throws ValidationError when the value is not such a string
 */
export function requireKey(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new ValidationError(
      `${field} must be a non-empty string of at most ${max} characters (got ${describe(value)})`,
      { details: { field, max } },
    );
  }
  return value;
}

/**
 * Checks a display text: a string that is not blank once trimmed, at most `max` UTF-16 units long, and well formed
 * (no half of a surrogate pair).
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @param max - the longest length allowed
 * @throws ValidationError when the text is missing, blank, too long or holds half of a surrogate pair
 */
export function requireText(value: unknown, field: string, max: number): string {
  const text = requireString(value, field);
  if (text.trim().length === 0) {
    throw new ValidationError(`${field} must not be empty`, { details: { field } });
  }
  if (text.length > max) throw tooLong(field, text, max);
  // Half of a surrogate pair is no character: no store could keep it as UTF-8, nor show it.
  const lone = LONE_SURROGATE.exec(text);
  if (lone !== null) {
    throw new ValidationError(`${field} has half of a UTF-16 surrogate pair at ${lone.index}`, {
      details: { field, index: lone.index },
    });
  }
  return text;
}

/** In a `u` regular expression a surrogate pair is one code point, so this matches only an unpaired half. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Checks that a value is a plain object (an options bag).
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @throws ValidationError when the value is not an object
 */
export function requireObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${field} must be an object (got ${describe(value)})`, { details: { field } });
  }
  return value as Record<string, unknown>;
}

/**
 * Checks a boolean.
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @throws ValidationError when the value is not `true` or `false`
 */
export function requireBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') {
    throw new ValidationError(`${field} must be a boolean (got ${describe(value)})`, { details: { field } });
  }
  return value;
}

/**
 * Checks a time: a finite number ≥ 0 (ms since the epoch, or any clock that starts at 0).
 *
 * @param value - the value to check
 * @param field - the field's name, for the error message
 * @throws ValidationError when the value is not such a number
 */
export function requireTime(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(`${field} must be a finite number ≥ 0 (got ${describe(value)})`, {
      details: { field },
    });
  }
  return value;
}

function tooLong(field: string, value: string, max: number): ValidationError {
  return new ValidationError(`${field} is ${value.length} characters long; the limit is ${max}`, {
    details: { field, max, length: value.length },
  });
}

/** A short, secret-free description of a value for error messages. */
function describe(value: unknown): string {
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : String(value);
}
