/**
 * The schemas every client frame is checked against on the way in (zod), and {@link parseClientFrame}, which
 * turns any failure into a `ValidationError` (code `VALIDATION`) naming the field at fault in `details.field`.
 *
 * The schemas check shapes and generous bounds only; the exact limits a server is configured with (the longest
 * message, the largest sync page, the most followed users) stay with the services. Unknown keys are stripped,
 * never refused: in particular a `from` in a frame is dropped, as the sender is always the connection's user.
 *
 * @module
 */
import { z } from 'zod';
import type { ImageMime } from '../domain';
import { MAX_GROUP_NAME_LENGTH, MAX_THREAD_ID_LENGTH, ValidationError } from '../domain';
import type { ClientFrame, ClientFrameType } from './frames';
import { PROTOCOL_VERSION } from './frames';

/** The bounds the schemas keep to: generous on purpose, the services apply the configured limits. */
export const FRAME_LIMITS = Object.freeze({
  /** The longest `ref`. */
  maxRefLength: 128,
  /** The longest message text or caption (the server's configured limit, 4096 by default, is checked later). */
  maxTextLength: 65_536,
  /** The most ids in one list (`memberIds`, `userIds`). */
  maxIds: 1024,
  /** The largest `limit` of a page (`sync`, `contacts.search`, `feed.top`, `history`). */
  maxPageLimit: 10_000,
  /** The longest contact search query. */
  maxQueryLength: 1000,
  /** The longest reaction (one emoji; the service checks that it is one). */
  maxReactionLength: 32,
});

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;
const ID_RULE = 'must be 1-128 characters of letters, digits and _ . : @ -, starting with a letter or digit';
const MEDIA_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const MEDIA_ID_RULE = 'must be 1-128 letters, digits, _ or -, starting with a letter or digit';
/** Thread ids are built from user and group ids (`dm:alice:bob`, `group:g1`), with ':' escaped as `%3A`. */
const THREAD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@%-]*$/;
const THREAD_ID_RULE = `must be 1-${MAX_THREAD_ID_LENGTH} characters of letters, digits and _ . : @ % -, starting with a letter or digit`;

/** Defers a missing value to the parse-wide message ("is required"); any other failure gets `rule`. */
const unlessMissing = (rule: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? undefined : rule;

/** A user, group or message id: 1–128 characters `[A-Za-z0-9][A-Za-z0-9_.:@-]*`. */
export const idSchema = z.string({ error: unlessMissing(ID_RULE) }).regex(ID_PATTERN, { error: ID_RULE });

/** A thread id (`dm:…`, `group:…`). */
export const threadIdSchema = z
  .string({ error: unlessMissing(THREAD_ID_RULE) })
  .max(MAX_THREAD_ID_LENGTH, { error: THREAD_ID_RULE })
  .regex(THREAD_ID_PATTERN, { error: THREAD_ID_RULE });

/** A request's `ref`, repeated by its answer: any string of 1–128 characters. */
export const refSchema = z.string().min(1).max(FRAME_LIMITS.maxRefLength);

const MESSAGE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@%-]*#[1-9][0-9]*$/;
const MESSAGE_ID_RULE = 'must be a message id: a thread id, # and a seq';

/** A message id: `<thread id>#<seq>`. */
export const messageIdSchema = z
  .string({ error: unlessMissing(MESSAGE_ID_RULE) })
  .max(MAX_THREAD_ID_LENGTH + 17, { error: MESSAGE_ID_RULE })
  .regex(MESSAGE_ID_PATTERN, { error: MESSAGE_ID_RULE });

const mediaIdSchema = z
  .string({ error: unlessMissing(MEDIA_ID_RULE) })
  .regex(MEDIA_ID_PATTERN, { error: MEDIA_ID_RULE });
const seqSchema = z.int().min(0);
const positiveSchema = z.int().min(1);
const pageLimitSchema = z.int().min(1).max(FRAME_LIMITS.maxPageLimit);
const idListSchema = z.array(idSchema).max(FRAME_LIMITS.maxIds);
const IMAGE_MIME_VALUES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
] as const satisfies readonly ImageMime[];

/** A reference to a stored photo, as `toMediaRef` makes it. */
export const mediaRefSchema = z.object({
  mediaId: mediaIdSchema,
  mimeType: z.enum(IMAGE_MIME_VALUES),
  bytes: positiveSchema,
  width: positiveSchema,
  height: positiveSchema,
  thumbnailId: mediaIdSchema,
});

const sendSchema = z
  .object({
    type: z.literal('send'),
    ref: refSchema,
    clientMessageId: idSchema,
    to: idSchema.exactOptional(),
    groupId: idSchema.exactOptional(),
    kind: z.enum(['text', 'photo']).exactOptional(),
    text: z.string().max(FRAME_LIMITS.maxTextLength).exactOptional(),
    media: mediaRefSchema.exactOptional(),
    replyTo: messageIdSchema.exactOptional(),
  })
  .superRefine((frame, ctx) => {
    if (frame.to !== undefined && frame.groupId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['groupId'], message: 'must not be given together with to' });
    } else if (frame.to === undefined && frame.groupId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'is required (or groupId, for a group)' });
    }
    if (frame.kind === 'photo') {
      if (frame.media === undefined) {
        ctx.addIssue({ code: 'custom', path: ['media'], message: 'is required for a photo' });
      }
    } else {
      if (frame.text === undefined) ctx.addIssue({ code: 'custom', path: ['text'], message: 'is required' });
      if (frame.media !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['media'],
          message: 'is only allowed on a photo (kind "photo")',
        });
      }
    }
  });

const SETTINGS_CHANGES = [
  'readReceipts',
  'previews',
  'lastSeen',
  'discoverable',
  'mute',
  'unmute',
  'block',
  'unblock',
] as const;

const settingsSetSchema = z
  .object({
    type: z.literal('settings.set'),
    ref: refSchema,
    readReceipts: z.boolean().exactOptional(),
    previews: z.boolean().exactOptional(),
    lastSeen: z.enum(['everyone', 'contacts', 'nobody']).exactOptional(),
    discoverable: z.boolean().exactOptional(),
    mute: z.object({ threadId: threadIdSchema, until: seqSchema.exactOptional() }).exactOptional(),
    unmute: z.object({ threadId: threadIdSchema }).exactOptional(),
    block: idSchema.exactOptional(),
    unblock: idSchema.exactOptional(),
  })
  .superRefine((frame, ctx) => {
    const present = SETTINGS_CHANGES.filter((key) => frame[key] !== undefined);
    if (present.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `must carry one change: ${SETTINGS_CHANGES.join(', ')}`,
      });
    } else if (present.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [present[1] ?? ''],
        message: `must be sent in a frame of its own (one change per frame; this one also has ${present[0] ?? ''})`,
      });
    }
  });

/** The schema of each client frame, by `type`. */
export const CLIENT_FRAME_SCHEMAS = Object.freeze({
  send: sendSchema,
  sync: z.object({
    type: z.literal('sync'),
    ref: refSchema,
    after: seqSchema,
    limit: pageLimitSchema.exactOptional(),
  }),
  delivered: z.object({ type: z.literal('delivered'), ref: refSchema.exactOptional(), upTo: seqSchema }),
  read: z.object({
    type: z.literal('read'),
    ref: refSchema.exactOptional(),
    threadId: threadIdSchema,
    upToSeq: seqSchema,
  }),
  state: z.object({ type: z.literal('state'), ref: refSchema.exactOptional(), foreground: z.boolean() }),
  subscribe: z.object({ type: z.literal('subscribe'), ref: refSchema, userIds: idListSchema }),
  active: z.object({ type: z.literal('active'), ref: refSchema.exactOptional() }),
  ping: z.object({ type: z.literal('ping'), ref: refSchema.exactOptional() }),
  typing: z.object({
    type: z.literal('typing'),
    ref: refSchema.exactOptional(),
    threadId: threadIdSchema,
    typing: z.boolean(),
  }),
  'group.create': z.object({
    type: z.literal('group.create'),
    ref: refSchema,
    name: z.string().min(1).max(MAX_GROUP_NAME_LENGTH),
    memberIds: idListSchema,
  }),
  'group.add': z.object({
    type: z.literal('group.add'),
    ref: refSchema,
    groupId: idSchema,
    userIds: idListSchema.min(1),
  }),
  'group.remove': z.object({
    type: z.literal('group.remove'),
    ref: refSchema,
    groupId: idSchema,
    userId: idSchema,
  }),
  'group.leave': z.object({ type: z.literal('group.leave'), ref: refSchema, groupId: idSchema }),
  'group.promote': z.object({
    type: z.literal('group.promote'),
    ref: refSchema,
    groupId: idSchema,
    userId: idSchema,
  }),
  'contacts.add': z.object({ type: z.literal('contacts.add'), ref: refSchema, userId: idSchema }),
  'contacts.search': z.object({
    type: z.literal('contacts.search'),
    ref: refSchema,
    query: z.string().max(FRAME_LIMITS.maxQueryLength),
    limit: pageLimitSchema.exactOptional(),
    global: z.boolean().exactOptional(),
  }),
  'settings.get': z.object({ type: z.literal('settings.get'), ref: refSchema }),
  'settings.set': settingsSetSchema,
  'feed.top': z.object({
    type: z.literal('feed.top'),
    ref: refSchema,
    limit: pageLimitSchema.exactOptional(),
    archived: z.boolean().exactOptional(),
  }),
  'feed.pin': z.object({
    type: z.literal('feed.pin'),
    ref: refSchema,
    threadId: threadIdSchema,
    pinned: z.boolean(),
  }),
  'feed.unread': z.object({
    type: z.literal('feed.unread'),
    ref: refSchema,
    threadId: threadIdSchema,
    unread: z.boolean(),
  }),
  'feed.archive': z.object({
    type: z.literal('feed.archive'),
    ref: refSchema,
    threadId: threadIdSchema,
    archived: z.boolean(),
  }),
  edit: z.object({
    type: z.literal('edit'),
    ref: refSchema,
    messageId: messageIdSchema,
    text: z.string().max(FRAME_LIMITS.maxTextLength),
    clientChangeId: idSchema.exactOptional(),
  }),
  delete: z.object({
    type: z.literal('delete'),
    ref: refSchema,
    messageId: messageIdSchema,
    forEveryone: z.boolean(),
    clientChangeId: idSchema.exactOptional(),
  }),
  react: z.object({
    type: z.literal('react'),
    ref: refSchema,
    messageId: messageIdSchema,
    // One emoji is checked by the service (`requireReaction`); here only a short string, or null to take it back.
    emoji: z.string().max(FRAME_LIMITS.maxReactionLength).nullable(),
    clientChangeId: idSchema.exactOptional(),
  }),
  history: z.object({
    type: z.literal('history'),
    ref: refSchema,
    threadId: threadIdSchema,
    before: positiveSchema.exactOptional(),
    limit: pageLimitSchema.exactOptional(),
  }),
} satisfies Record<ClientFrameType, z.ZodType>);

/** Every client frame, as one discriminated union (on `type`). */
export const clientFrameSchema = z.discriminatedUnion('type', [
  CLIENT_FRAME_SCHEMAS.send,
  CLIENT_FRAME_SCHEMAS.sync,
  CLIENT_FRAME_SCHEMAS.delivered,
  CLIENT_FRAME_SCHEMAS.read,
  CLIENT_FRAME_SCHEMAS.state,
  CLIENT_FRAME_SCHEMAS.subscribe,
  CLIENT_FRAME_SCHEMAS.active,
  CLIENT_FRAME_SCHEMAS.ping,
  CLIENT_FRAME_SCHEMAS.typing,
  CLIENT_FRAME_SCHEMAS['group.create'],
  CLIENT_FRAME_SCHEMAS['group.add'],
  CLIENT_FRAME_SCHEMAS['group.remove'],
  CLIENT_FRAME_SCHEMAS['group.leave'],
  CLIENT_FRAME_SCHEMAS['group.promote'],
  CLIENT_FRAME_SCHEMAS['contacts.add'],
  CLIENT_FRAME_SCHEMAS['contacts.search'],
  CLIENT_FRAME_SCHEMAS['settings.get'],
  CLIENT_FRAME_SCHEMAS['settings.set'],
  CLIENT_FRAME_SCHEMAS['feed.top'],
  CLIENT_FRAME_SCHEMAS['feed.pin'],
  CLIENT_FRAME_SCHEMAS['feed.unread'],
  CLIENT_FRAME_SCHEMAS['feed.archive'],
  CLIENT_FRAME_SCHEMAS.edit,
  CLIENT_FRAME_SCHEMAS.delete,
  CLIENT_FRAME_SCHEMAS.react,
  CLIENT_FRAME_SCHEMAS.history,
]);

// Compile-time: what each schema outputs is the frame type of the same name in frames.ts, and back.
type Frozen<T> = T extends readonly (infer E)[]
  ? readonly Frozen<E>[]
  : T extends object
    ? { readonly [P in keyof T]: Frozen<T[P]> }
    : T;
type Fits<Out, Frame> = [Out] extends [Frame]
  ? [Frame] extends [Frozen<Out>]
    ? [keyof Out] extends [keyof Frame]
      ? [keyof Frame] extends [keyof Out]
        ? true
        : false
      : false
    : false
  : false;
type Misfit = {
  [K in ClientFrameType]: Fits<
    z.output<(typeof CLIENT_FRAME_SCHEMAS)[K]>,
    Extract<ClientFrame, { type: K }>
  > extends true
    ? never
    : K;
}[ClientFrameType];
const _schemasFitFrames: [Misfit] extends [never] ? true : { misfit: Misfit } = true;

/** The `type` of every client frame. */
const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.keys(CLIENT_FRAME_SCHEMAS));

/** Wording for the failures the schemas above do not word themselves. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${article(issue.expected)} (got ${describe(issue.input)})`;
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string')
        return min <= 1 ? 'must not be empty' : `must be at least ${min} characters`;
      if (issue.origin === 'array') return `must have at least ${min} item${min === 1 ? '' : 's'}`;
      return `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      if (issue.origin === 'array') return `must have at most ${max} items`;
      return `must be at most ${max}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'object' || expected === 'array') return `an ${expected}`;
  return `a ${expected}`;
}

/** A short, secret-free description of a value for error messages. */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A path as `a.b[2].c`; the frame itself is `frame`. */
function fieldOf(path: readonly PropertyKey[]): string {
  let field = '';
  for (const part of path) {
    if (typeof part === 'number') field += `[${part}]`;
    else field += field === '' ? String(part) : `.${String(part)}`;
  }
  return field === '' ? 'frame' : field;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuse(message: string, field: string, extra: Record<string, unknown> = {}): ValidationError {
  return new ValidationError(message, { details: { field, ...extra } });
}

/**
 * Checks a frame received from a device and returns it typed, without the keys no schema knows (a `from`, say).
 * A frame may carry `v`, the protocol version; any other version than {@link PROTOCOL_VERSION} is refused.
 *
 * @param raw - the decoded JSON
 * @throws ValidationError (code `VALIDATION`) whose `details.field` names the first field at fault (`type`,
 * `userIds[3]`, `media.mediaId`, or `frame` for the frame as a whole) and `details.issues` lists every fault
 *
 * @example
 * ```ts
 * import { parseClientFrame } from 'chat-room'
 * parseClientFrame({ type: 'ping', ref: 'r1', from: 'mallory' }) // { type: 'ping', ref: 'r1' }
 * parseClientFrame({ type: 'sync', ref: 'r2' }) // throws ValidationError: sync frame: after is required
 * ```
 */
export function parseClientFrame(raw: unknown): ClientFrame {
  if (!isObject(raw)) throw refuse(`a frame must be a JSON object (got ${describe(raw)})`, 'frame');
  const type = raw.type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    throw refuse(
      type === undefined ? 'a frame must have a type' : `unknown frame type ${describe(type)}`,
      'type',
    );
  }
  if (raw.v !== undefined && raw.v !== PROTOCOL_VERSION) {
    throw refuse(
      `protocol version ${describe(raw.v)} is not supported (this side speaks ${PROTOCOL_VERSION})`,
      'v',
      {
        type,
      },
    );
  }
  // The two frames of every message take a hand-written check first; anything it does not accept as plainly
  // valid (an unknown key, a photo, a refusal) goes to the schema, the source of truth, which words the error.
  const plain = type === 'send' ? plainTextSend(raw) : type === 'delivered' ? plainDelivered(raw) : undefined;
  if (plain !== undefined) return plain;
  const schema: z.ZodType = CLIENT_FRAME_SCHEMAS[type as ClientFrameType];
  const result = schema.safeParse(raw, { error: describeIssue });
  if (result.success) return result.data as ClientFrame; // each schema's output is its frame type (checked above)
  const issues = result.error.issues.slice(0, 10).map((issue) => ({
    field: fieldOf(issue.path),
    message: issue.message,
  }));
  const first = issues[0] ?? { field: 'frame', message: 'is malformed' };
  const subject = first.field === 'frame' ? '' : `${first.field} `;
  throw refuse(`${type} frame: ${subject}${first.message}`, first.field, { type, issues });
}

/**
 * A text `send` with only the keys its schema knows, each valid: the frame as the schema would output it.
 * Anything else is `undefined`, and the schema decides. Kept equal to `sendSchema` by a property test.
 */
function plainTextSend(raw: Record<string, unknown>): ClientFrame | undefined {
  const { ref, clientMessageId, to, groupId, kind, text } = raw;
  let keys = 0;
  for (const key in raw) {
    if (!Object.hasOwn(raw, key)) continue;
    if (!PLAIN_SEND_KEYS.has(key)) return undefined;
    keys++;
  }
  // Present keys hold values (exactOptional refuses an explicit undefined); exactly one of to and groupId.
  const expected = 5 + (raw.v === undefined ? 0 : 1) + (kind === undefined ? 0 : 1);
  if (keys !== expected || (kind !== undefined && kind !== 'text')) return undefined;
  if (!isRef(ref) || !isId(clientMessageId)) return undefined;
  if (typeof text !== 'string' || text.length > FRAME_LIMITS.maxTextLength) return undefined;
  if (to !== undefined) {
    if (groupId !== undefined || !isId(to)) return undefined;
    return kind === undefined
      ? { type: 'send', ref, clientMessageId, to, text }
      : { type: 'send', ref, clientMessageId, to, kind, text };
  }
  if (!isId(groupId)) return undefined;
  return kind === undefined
    ? { type: 'send', ref, clientMessageId, groupId, text }
    : { type: 'send', ref, clientMessageId, groupId, kind, text };
}

const PLAIN_SEND_KEYS = new Set(['type', 'v', 'ref', 'clientMessageId', 'to', 'groupId', 'kind', 'text']);

/** A valid `delivered` with only the keys its schema knows, as the schema would output it; else `undefined`. */
function plainDelivered(raw: Record<string, unknown>): ClientFrame | undefined {
  const { ref, upTo } = raw;
  let keys = 0;
  for (const key in raw) {
    if (!Object.hasOwn(raw, key)) continue;
    if (key !== 'type' && key !== 'v' && key !== 'ref' && key !== 'upTo') return undefined;
    keys++;
  }
  if (keys !== 2 + (raw.v === undefined ? 0 : 1) + (ref === undefined ? 0 : 1)) return undefined;
  if (!Number.isSafeInteger(upTo) || (upTo as number) < 0) return undefined;
  if (ref === undefined) return { type: 'delivered', upTo: upTo as number };
  return isRef(ref) ? { type: 'delivered', ref, upTo: upTo as number } : undefined;
}

function isRef(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= FRAME_LIMITS.maxRefLength;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/**
 * The `ref` of a frame, even a malformed one, when it has a usable one (a string of 1–128 characters), so that
 * the `error` frame refusing it can carry it.
 *
 * @param raw - the decoded JSON
 */
export function refOf(raw: unknown): string | undefined {
  // Checked by hand rather than with `refSchema`: every refused frame asks, and a failed zod parse builds an error.
  const ref = isObject(raw) ? raw.ref : undefined;
  return isRef(ref) ? ref : undefined;
}
