/** A usage error: the message, then exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Something on disk the command needs is missing or unsafe: the message, then exit code 1. */
export class SetupError extends Error {
  override name = 'SetupError';
}

/** The `code` of a Node error (`ENOENT`), if it has one. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
