import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { SetupError, UsageError, codeOf } from './errors';

/** The environment variable holding the token secret. */
export const SECRET_ENV = 'CHAT_ROOM_SECRET';

/** The token secret, where it came from and how `serve` describes it. */
export interface Secret {
  readonly value: string;
  readonly kind: 'option' | 'env' | 'file' | 'memory';
  /** Names it in a refusal. */
  readonly from: string;
  /** What `serve` prints after `secret: `. */
  readonly description: string;
  /** The file it is kept in, for kind `file`. */
  readonly file?: string;
}

/**
 * The secret the options or the environment give: `--secret`, else `--secret-file` (opened by `openFile`), else
 * $CHAT_ROOM_SECRET; `undefined` when none does.
 */
export function givenSecret(
  values: { secret?: string | undefined; 'secret-file'?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
  openFile: (file: string) => Secret,
): Secret | undefined {
  if (values.secret !== undefined && values['secret-file'] !== undefined) {
    throw new UsageError('give at most one of --secret and --secret-file');
  }
  if (values.secret !== undefined) {
    return { value: values.secret, kind: 'option', from: '--secret', description: '--secret' };
  }
  if (values['secret-file'] !== undefined) return openFile(values['secret-file']);
  const value = env[SECRET_ENV];
  if (value === undefined || value.length === 0) return undefined;
  return { value, kind: 'env', from: SECRET_ENV, description: `$${SECRET_ENV}` };
}

/** The secret `serve` signs with: the given one, else a random one in memory or kept in a secret file. */
export function serverSecret(
  values: { secret?: string | undefined; 'secret-file'?: string | undefined },
  defaultFile: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Secret {
  const given = givenSecret(values, env, secretFile);
  if (given !== undefined) return given;
  if (defaultFile === undefined) {
    const value = randomBytes(32).toString('base64url');
    return {
      value,
      kind: 'memory',
      from: 'the in-memory secret',
      description: 'in memory (gone when the server stops)',
    };
  }
  return secretFile(defaultFile);
}

/** The secret kept in `file`, made (32 random bytes, base64url, mode 0600) when there is none. */
function secretFile(file: string): Secret {
  const existing = readSecretFile(file);
  if (existing !== undefined) return existing;
  const value = randomBytes(32).toString('base64url');
  try {
    // Exclusive: of two starts at once, one makes the file and the other reads it.
    fs.writeFileSync(file, value, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (codeOf(error) !== 'EEXIST') {
      throw new SetupError(`cannot make the secret file ${file}: ${codeOf(error) ?? String(error)}`);
    }
    const winner = readSecretFile(file);
    if (winner === undefined) throw new SetupError(`the secret file ${file} vanished as it was made`);
    return winner;
  }
  return { value, kind: 'file', from: `the secret file ${file}`, description: `${file} (generated)`, file };
}

/** The secret kept in `file`; a setup error, telling how to make one, when there is none. */
export function existingSecretFile(file: string, serveOption: string): Secret {
  const secret = readSecretFile(file);
  if (secret !== undefined) return secret;
  throw new SetupError(
    `no secret at ${file}: start \`chat-room serve ${serveOption}\` once, or set ${SECRET_ENV}`,
  );
}

/** The secret kept in `file`; `undefined` when there is no such file. */
function readSecretFile(file: string): Secret | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw new SetupError(`cannot read the secret file ${file}: ${codeOf(error) ?? String(error)}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new SetupError(`the secret file ${file} is not a file`);
    // Windows keeps no such mode bits: there the file's ACL is its owner's business.
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new SetupError(
        `the secret file ${file} is open to group or others (mode ${mode}): run \`chmod 600 ${file}\``,
      );
    }
    // A trailing newline is an editor's, not the secret's.
    const value = fs.readFileSync(fd, 'utf8').trimEnd();
    return { value, kind: 'file', from: `the secret file ${file}`, description: file, file };
  } finally {
    fs.closeSync(fd);
  }
}
