import { ValidationError } from '../domain';
import type { Rate } from './token-bucket';

/**
 * Fills a transport's limits (numbers, and an optional `rate`) with its defaults, a field given as `undefined`
 * taking the default, and checks them: every number a positive integer, `rate` a `{ frames, perMs }` of positive
 * integers.
 *
 * @param given - the limits an option gave, if any
 * @param defaults - every limit's default
 * @returns the limits in force
 * @throws ValidationError naming the first malformed field (`limits.<field>`)
 */
export function resolveLimits<L extends object>(given: L | undefined, defaults: Required<L>): Required<L> {
  const defined = Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined));
  const resolved = { ...defaults, ...defined } as Required<L>;
  for (const [field, value] of Object.entries(resolved) as [string, unknown][]) {
    if (field !== 'rate') {
      positiveInt(value, `limits.${field}`);
      continue;
    }
    if (typeof value !== 'object' || value === null) {
      throw new ValidationError('limits.rate must be { frames, perMs }', {
        details: { field: 'limits.rate' },
      });
    }
    positiveInt((value as Rate).frames, 'limits.rate.frames');
    positiveInt((value as Rate).perMs, 'limits.rate.perMs');
  }
  return resolved;
}

function positiveInt(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a positive integer`, { details: { field } });
  }
}
