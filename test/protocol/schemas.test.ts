import { ChatRoomError, IMAGE_MIMES, ValidationError, seededRandom } from 'chat-room';
import type { ClientFrame, ClientFrameType } from 'chat-room';
import {
  CLIENT_FRAME_SCHEMAS,
  FRAME_LIMITS,
  PROTOCOL_VERSION,
  clientFrameSchema,
  parseClientFrame,
  refOf,
} from 'chat-room';

const MEDIA = {
  mediaId: 'm-1',
  mimeType: 'image/jpeg',
  bytes: 2048,
  width: 640,
  height: 480,
  thumbnailId: 'm-1_thumb',
} as const;

/** One valid example of every client frame. */
const VALID: { readonly [K in ClientFrameType]: Extract<ClientFrame, { type: K }> } = {
  send: { type: 'send', ref: 'r1', clientMessageId: 'c-1', to: 'bob', text: 'hi' },
  sync: { type: 'sync', ref: 'r1', after: 0, limit: 50 },
  delivered: { type: 'delivered', ref: 'r1', upTo: 12 },
  read: { type: 'read', ref: 'r1', threadId: 'dm:alice:bob', upToSeq: 3 },
  state: { type: 'state', ref: 'r1', foreground: true },
  subscribe: { type: 'subscribe', ref: 'r1', userIds: ['bob', 'carol'] },
  active: { type: 'active', ref: 'r1' },
  ping: { type: 'ping', ref: 'r1' },
  typing: { type: 'typing', threadId: 'group:g1', typing: true },
  'group.create': { type: 'group.create', ref: 'r1', name: 'Trip', memberIds: ['bob', 'carol'] },
  'group.add': { type: 'group.add', ref: 'r1', groupId: 'g1', userIds: ['dave'] },
  'group.remove': { type: 'group.remove', ref: 'r1', groupId: 'g1', userId: 'dave' },
  'group.leave': { type: 'group.leave', ref: 'r1', groupId: 'g1' },
  'group.promote': { type: 'group.promote', ref: 'r1', groupId: 'g1', userId: 'bob' },
  'contacts.add': { type: 'contacts.add', ref: 'r1', userId: 'bob' },
  'contacts.search': { type: 'contacts.search', ref: 'r1', query: 'bo', limit: 10, global: true },
  'settings.get': { type: 'settings.get', ref: 'r1' },
  'settings.set': { type: 'settings.set', ref: 'r1', mute: { threadId: 'group:g1', until: 1_000 } },
  'feed.top': { type: 'feed.top', ref: 'r1', limit: 20 },
  'feed.pin': { type: 'feed.pin', ref: 'r1', threadId: 'dm:alice:bob', pinned: true },
  'feed.unread': { type: 'feed.unread', ref: 'r1', threadId: 'group:g1', unread: false },
  'feed.archive': { type: 'feed.archive', ref: 'r1', threadId: 'group:g1', archived: true },
  edit: { type: 'edit', ref: 'r1', messageId: 'dm:alice:bob#3', text: 'See you at 8', clientChangeId: 'c-2' },
  delete: { type: 'delete', ref: 'r1', messageId: 'group:g1#12', forEveryone: true, clientChangeId: 'c-3' },
  react: { type: 'react', ref: 'r1', messageId: 'dm:alice:bob#3', emoji: '👍', clientChangeId: 'c-4' },
  history: { type: 'history', ref: 'r1', threadId: 'group:g1', before: 40, limit: 50 },
};

/** The fields each example cannot do without (the type aside). */
const REQUIRED: { readonly [K in ClientFrameType]: readonly string[] } = {
  send: ['ref', 'clientMessageId', 'to', 'text'],
  sync: ['ref', 'after'],
  delivered: ['upTo'],
  read: ['threadId', 'upToSeq'],
  state: ['foreground'],
  subscribe: ['ref', 'userIds'],
  active: [],
  ping: [],
  typing: ['threadId', 'typing'],
  'group.create': ['ref', 'name', 'memberIds'],
  'group.add': ['ref', 'groupId', 'userIds'],
  'group.remove': ['ref', 'groupId', 'userId'],
  'group.leave': ['ref', 'groupId'],
  'group.promote': ['ref', 'groupId', 'userId'],
  'contacts.add': ['ref', 'userId'],
  'contacts.search': ['ref', 'query'],
  'settings.get': ['ref'],
  'settings.set': ['ref'],
  'feed.top': ['ref'],
  'feed.pin': ['ref', 'threadId', 'pinned'],
  'feed.unread': ['ref', 'threadId', 'unread'],
  'feed.archive': ['ref', 'threadId', 'archived'],
  edit: ['ref', 'messageId', 'text'],
  delete: ['ref', 'messageId', 'forEveryone'],
  react: ['ref', 'messageId', 'emoji'],
  history: ['ref', 'threadId'],
};

const TYPES = Object.keys(VALID) as ClientFrameType[];

/** Parses and returns the ValidationError thrown, failing the test if none is. */
function refusal(raw: unknown): ValidationError {
  try {
    parseClientFrame(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

function expectRefused(raw: unknown, field: string): ValidationError {
  const error = refusal(raw);
  expect(error.code).toBe('VALIDATION');
  expect(ChatRoomError.is(error)).toBe(true);
  expect(error.details.field).toBe(field);
  if (field !== 'frame') expect(error.message).toContain(field);
  return error;
}

const without = (frame: object, key: string): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...frame };
  delete copy[key];
  return copy;
};

describe('parseClientFrame: valid frames', () => {
  it('has a schema for every client frame type', () => {
    expect(Object.keys(CLIENT_FRAME_SCHEMAS).sort()).toEqual([...TYPES].sort());
  });

  it.each(TYPES)('parses a valid %s frame and strips unknown keys such as from', (type) => {
    const example = VALID[type];
    expect(parseClientFrame(example)).toEqual(example);
    const parsed = parseClientFrame({ ...example, from: 'mallory', senderId: 'mallory', extra: { a: 1 } });
    expect(parsed).toEqual(example);
    expect(parsed).not.toHaveProperty('from');
    expect(parsed).not.toHaveProperty('extra');
    expect(clientFrameSchema.parse({ ...example, from: 'mallory' })).toEqual(example);
  });

  it.each(TYPES)('parses a %s frame with only its required fields', (type) => {
    const minimal: Record<string, unknown> = { type };
    for (const key of REQUIRED[type]) minimal[key] = (VALID[type] as unknown as Record<string, unknown>)[key];
    if (type === 'settings.set') minimal.readReceipts = false;
    expect(parseClientFrame(minimal)).toEqual(minimal);
  });

  it('strips unknown keys inside nested objects', () => {
    expect(parseClientFrame({ ...VALID['settings.set'], mute: { threadId: 'group:g1', from: 'x' } })).toEqual(
      { type: 'settings.set', ref: 'r1', mute: { threadId: 'group:g1' } },
    );
    const photo = {
      type: 'send',
      ref: 'r',
      clientMessageId: 'c',
      groupId: 'g1',
      kind: 'photo',
      media: MEDIA,
    };
    expect(parseClientFrame({ ...photo, media: { ...MEDIA, path: '/etc/passwd' } })).toEqual(photo);
  });

  it('accepts a photo with or without a caption, and every accepted image type', () => {
    const photo = { type: 'send', ref: 'r', clientMessageId: 'c', to: 'bob', kind: 'photo', media: MEDIA };
    expect(parseClientFrame(photo)).toEqual(photo);
    expect(parseClientFrame({ ...photo, text: 'look' })).toEqual({ ...photo, text: 'look' });
    for (const mimeType of IMAGE_MIMES) {
      expect(parseClientFrame({ ...photo, media: { ...MEDIA, mimeType } })).toEqual({
        ...photo,
        media: { ...MEDIA, mimeType },
      });
    }
  });

  it('accepts a text with kind "text", an empty subscription and an empty query', () => {
    expect(parseClientFrame({ ...VALID.send, kind: 'text' })).toEqual({ ...VALID.send, kind: 'text' });
    expect(parseClientFrame({ type: 'subscribe', ref: 'r', userIds: [] })).toEqual({
      type: 'subscribe',
      ref: 'r',
      userIds: [],
    });
    expect(parseClientFrame({ type: 'contacts.search', ref: 'r', query: '' })).toEqual({
      type: 'contacts.search',
      ref: 'r',
      query: '',
    });
  });

  it('accepts the current protocol version and drops it', () => {
    expect(parseClientFrame({ ...VALID.ping, v: PROTOCOL_VERSION })).toEqual(VALID.ping);
    expect(PROTOCOL_VERSION).toBe(1);
  });

  it('accepts bounds exactly at the limits', () => {
    const ids = Array.from({ length: FRAME_LIMITS.maxIds }, (_, i) => `u${i}`);
    expect(() => parseClientFrame({ type: 'subscribe', ref: 'r', userIds: ids })).not.toThrow();
    expect(() => parseClientFrame({ ...VALID.sync, limit: FRAME_LIMITS.maxPageLimit })).not.toThrow();
    expect(() =>
      parseClientFrame({ ...VALID.send, text: 'x'.repeat(FRAME_LIMITS.maxTextLength) }),
    ).not.toThrow();
    expect(() => parseClientFrame({ ...VALID.ping, ref: 'r'.repeat(128) })).not.toThrow();
    expect(() => parseClientFrame({ ...VALID['group.remove'], userId: 'a'.repeat(128) })).not.toThrow();
    expect(() => parseClientFrame({ ...VALID.send, to: 'a_b.c:d@e-f' })).not.toThrow();
  });
});

describe('parseClientFrame: refusals', () => {
  const missing = TYPES.flatMap((type) => REQUIRED[type].map((key) => [type, key] as const));
  it.each(missing)('refuses a %s frame without %s', (type, key) => {
    const error = expectRefused(without(VALID[type], key), key);
    expect(error.message).toContain('is required');
    expect(error.details.type).toBe(type);
  });

  const typed = TYPES.flatMap((type) =>
    Object.keys(VALID[type])
      .filter((key) => key !== 'type')
      .map((key) => [type, key] as const),
  );
  it.each(typed)('refuses a %s frame whose %s has the wrong type', (type, key) => {
    const value = (VALID[type] as unknown as Record<string, unknown>)[key];
    const wrong = typeof value === 'boolean' ? 'yes' : true;
    expectRefused({ ...VALID[type], [key]: wrong }, key);
  });

  it.each([
    ['subscribe', 'userIds'],
    ['group.create', 'memberIds'],
    ['group.add', 'userIds'],
  ] as const)('refuses a %s frame with more than 1024 %s', (type, key) => {
    const ids = Array.from({ length: FRAME_LIMITS.maxIds + 1 }, (_, i) => `u${i}`);
    const error = expectRefused({ ...VALID[type], [key]: ids }, key);
    expect(error.message).toContain('at most 1024');
  });

  const idFields = TYPES.flatMap((type) =>
    ['to', 'clientMessageId', 'groupId', 'userId', 'block', 'unblock']
      .filter((key) => key in VALID[type])
      .map((key) => [type, key] as const),
  );
  it.each(idFields)('refuses a %s frame with a malformed %s', (type, key) => {
    for (const bad of ['', 'has space', '-leading', 'a'.repeat(129), 'semi;colon', 'é']) {
      expectRefused({ ...VALID[type], [key]: bad }, key);
    }
  });

  it.each([
    ['subscribe', 'userIds'],
    ['group.create', 'memberIds'],
    ['group.add', 'userIds'],
  ] as const)('refuses a %s frame with a malformed id in %s, naming its index', (type, key) => {
    expectRefused({ ...VALID[type], [key]: ['ok', 'fine', 'not ok'] }, `${key}[2]`);
    expectRefused({ ...VALID[type], [key]: ['ok', 7] }, `${key}[1]`);
  });

  it('refuses malformed thread ids', () => {
    for (const bad of ['', ' dm:a:b', 'dm:a b', 'x'.repeat(801)]) {
      expectRefused({ ...VALID.read, threadId: bad }, 'threadId');
      expectRefused({ ...VALID.typing, threadId: bad }, 'threadId');
      expectRefused({ ...VALID['settings.set'], mute: { threadId: bad } }, 'mute.threadId');
      expectRefused({ type: 'settings.set', ref: 'r', unmute: { threadId: bad } }, 'unmute.threadId');
    }
    expect(() => parseClientFrame({ ...VALID.read, threadId: 'dm:a%3Ab:c' })).not.toThrow();
  });

  it('refuses bad refs, on required and optional refs alike', () => {
    for (const bad of ['', 'r'.repeat(129), 5, null]) {
      expectRefused({ ...VALID.sync, ref: bad }, 'ref');
      expectRefused({ ...VALID.ping, ref: bad }, 'ref');
    }
  });

  it('refuses unknown, missing and non-string types', () => {
    expectRefused({ type: 'nope', ref: 'r' }, 'type');
    expectRefused({ type: 'SEND', ref: 'r' }, 'type');
    expectRefused({ type: '__proto__', ref: 'r' }, 'type');
    expectRefused({ type: 'toString', ref: 'r' }, 'type');
    expectRefused({ ref: 'r' }, 'type');
    expectRefused({ type: 3 }, 'type');
    expectRefused({ type: ['send'] }, 'type');
    expect(refusal({ type: 'x'.repeat(10_000) }).message.length).toBeLessThan(200);
  });

  it('refuses anything but a JSON object', () => {
    for (const raw of [
      null,
      undefined,
      'send',
      42,
      true,
      [],
      [VALID.ping],
      JSON.parse('[{"type":"ping"}]'),
    ]) {
      const error = expectRefused(raw, 'frame');
      expect(error.message).toMatch(/must be a JSON object/);
    }
  });

  it('refuses another protocol version', () => {
    expectRefused({ ...VALID.ping, v: 2 }, 'v');
    expectRefused({ ...VALID.ping, v: '1' }, 'v');
  });

  it('refuses numbers out of range', () => {
    expectRefused({ ...VALID.sync, after: -1 }, 'after');
    expectRefused({ ...VALID.sync, after: 1.5 }, 'after');
    expectRefused({ ...VALID.sync, after: Number.MAX_SAFE_INTEGER + 2 }, 'after');
    expectRefused({ ...VALID.sync, limit: 0 }, 'limit');
    expectRefused({ ...VALID.sync, limit: FRAME_LIMITS.maxPageLimit + 1 }, 'limit');
    expectRefused({ ...VALID.delivered, upTo: -3 }, 'upTo');
    expectRefused({ ...VALID.read, upToSeq: Number.NaN }, 'upToSeq');
    expectRefused({ ...VALID['feed.top'], limit: 2.5 }, 'limit');
    expectRefused({ ...VALID['contacts.search'], limit: -1 }, 'limit');
    expectRefused({ ...VALID['settings.set'], mute: { threadId: 'group:g1', until: -5 } }, 'mute.until');
  });

  it('refuses oversize strings', () => {
    expectRefused({ ...VALID.send, text: 'x'.repeat(FRAME_LIMITS.maxTextLength + 1) }, 'text');
    expectRefused(
      { ...VALID['contacts.search'], query: 'q'.repeat(FRAME_LIMITS.maxQueryLength + 1) },
      'query',
    );
    expectRefused({ ...VALID['group.create'], name: 'n'.repeat(101) }, 'name');
    expectRefused({ ...VALID['group.create'], name: '' }, 'name');
  });

  it('refuses an empty group.add', () => {
    expectRefused({ ...VALID['group.add'], userIds: [] }, 'userIds');
  });

  describe('send', () => {
    const photo = { type: 'send', ref: 'r', clientMessageId: 'c', to: 'bob', kind: 'photo', media: MEDIA };

    it('needs exactly one of to and groupId', () => {
      expectRefused(without(VALID.send, 'to'), 'to');
      expectRefused({ ...VALID.send, groupId: 'g1' }, 'groupId');
    });

    it('needs media on a photo and refuses it on a text', () => {
      expectRefused(without(photo, 'media'), 'media');
      expectRefused({ ...VALID.send, media: MEDIA }, 'media');
      expectRefused({ ...VALID.send, kind: 'text', media: MEDIA }, 'media');
      expectRefused({ ...VALID.send, kind: 'video' }, 'kind');
    });

    it('checks every field of the media reference', () => {
      expectRefused({ ...photo, media: { ...MEDIA, mimeType: 'image/svg+xml' } }, 'media.mimeType');
      expectRefused({ ...photo, media: { ...MEDIA, mediaId: '../x' } }, 'media.mediaId');
      expectRefused({ ...photo, media: { ...MEDIA, mediaId: 'a:b' } }, 'media.mediaId');
      expectRefused({ ...photo, media: without(MEDIA, 'thumbnailId') }, 'media.thumbnailId');
      expectRefused({ ...photo, media: { ...MEDIA, bytes: 0 } }, 'media.bytes');
      expectRefused({ ...photo, media: { ...MEDIA, width: 1.5 } }, 'media.width');
      expectRefused({ ...photo, media: { ...MEDIA, height: '480' } }, 'media.height');
      expectRefused({ ...photo, media: 'm-1' }, 'media');
      expectRefused({ ...photo, media: [MEDIA] }, 'media');
    });
  });

  describe('settings.set', () => {
    it('needs exactly one change', () => {
      const none = expectRefused({ type: 'settings.set', ref: 'r' }, 'frame');
      expect(none.message).toContain('settings.set frame');
      const two = expectRefused({ type: 'settings.set', ref: 'r', previews: true, block: 'bob' }, 'block');
      expect(two.message).toContain('one change per frame');
    });

    it('takes each change on its own', () => {
      const changes: Record<string, unknown>[] = [
        { readReceipts: false },
        { previews: true },
        { lastSeen: 'contacts' },
        { discoverable: true },
        { discoverable: false },
        { mute: { threadId: 'dm:alice:bob' } },
        { unmute: { threadId: 'dm:alice:bob' } },
        { block: 'bob' },
        { unblock: 'bob' },
      ];
      for (const change of changes) {
        const frame = { type: 'settings.set', ref: 'r', ...change };
        expect(parseClientFrame(frame)).toEqual(frame);
      }
    });

    it('checks each change', () => {
      expectRefused({ type: 'settings.set', ref: 'r', lastSeen: 'friends' }, 'lastSeen');
      expectRefused({ type: 'settings.set', ref: 'r', mute: {} }, 'mute.threadId');
      expectRefused({ type: 'settings.set', ref: 'r', block: 'not an id' }, 'block');
      expectRefused({ type: 'settings.set', ref: 'r', previews: 'on' }, 'previews');
      expectRefused({ type: 'settings.set', ref: 'r', discoverable: 'yes' }, 'discoverable');
      expectRefused(
        { type: 'settings.set', ref: 'r', discoverable: true, lastSeen: 'nobody' },
        'discoverable',
      );
    });
  });

  it('lists every fault in details.issues', () => {
    const error = expectRefused({ type: 'group.remove', ref: 'r' }, 'groupId');
    expect(error.details.issues).toEqual([
      { field: 'groupId', message: 'is required' },
      { field: 'userId', message: 'is required' },
    ]);
  });
});

describe('refOf', () => {
  it('finds the ref of a malformed frame', () => {
    expect(refOf({ type: 'nope', ref: 'r9' })).toBe('r9');
    expect(refOf({ type: 'sync', ref: 'r9' })).toBe('r9');
    expect(refOf({ ref: 'r9', userIds: 'x' })).toBe('r9');
    expect(refOf({ type: 'send', ref: 'with space and ünicode' })).toBe('with space and ünicode');
  });

  it('gives nothing for an unusable ref or a non-object', () => {
    expect(refOf({ type: 'sync' })).toBeUndefined();
    expect(refOf({ type: 'sync', ref: '' })).toBeUndefined();
    expect(refOf({ type: 'sync', ref: 'r'.repeat(129) })).toBeUndefined();
    expect(refOf({ type: 'sync', ref: 12 })).toBeUndefined();
    expect(refOf({ type: 'sync', ref: { a: 1 } })).toBeUndefined();
    for (const raw of [null, undefined, 'r1', 7, [{ ref: 'r1' }]]) expect(refOf(raw)).toBeUndefined();
  });

  it('agrees with parseClientFrame on a valid frame', () => {
    for (const type of TYPES) {
      const example = VALID[type] as { ref?: string };
      expect(refOf(example)).toBe(example.ref);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip: random valid frames survive JSON and parsing unchanged.
// ---------------------------------------------------------------------------------------------

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_REST = `${ALNUM}_.:@-`;
const MEDIA_REST = `${ALNUM}_-`;
const TEXT_CHARS = `${ALNUM} _.,!?'"\\\n\t{}[]éü中文😀`;

function generator(seed: number) {
  const rnd = seededRandom(seed);
  const int = (min: number, max: number): number => min + Math.floor(rnd() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  const maybe = (): boolean => rnd() < 0.5;
  const chars = (alphabet: string, length: number): string =>
    Array.from({ length }, () => pick(Array.from(alphabet))).join('');
  const length = (max: number): number => (rnd() < 0.9 ? int(1, Math.min(12, max)) : int(1, max));
  const id = (): string => pick(Array.from(ALNUM)) + chars(ID_REST, length(128) - 1);
  const mediaId = (): string => pick(Array.from(ALNUM)) + chars(MEDIA_REST, length(128) - 1);
  const escape = (userId: string): string => userId.replaceAll('%', '%25').replaceAll(':', '%3A');
  const threadId = (): string => (maybe() ? `dm:${escape(id())}:${escape(id())}` : `group:${id()}`);
  const text = (max: number): string => chars(TEXT_CHARS, rnd() < 0.95 ? int(0, 40) : int(0, max));
  const ref = (): string => text(128).slice(0, 127) + 'r';
  const seq = (): number => (rnd() < 0.9 ? int(0, 1000) : int(0, Number.MAX_SAFE_INTEGER));
  const ids = (min: number): string[] =>
    Array.from({ length: rnd() < 0.95 ? int(min, 5) : int(min, 1024) }, id);
  const limit = (): number => int(1, FRAME_LIMITS.maxPageLimit);
  const messageId = (): string => `${threadId()}#${int(1, 1_000_000)}`;
  const opt = <T>(key: string, make: () => T): Record<string, T> => (maybe() ? { [key]: make() } : {});
  const media = () => ({
    mediaId: mediaId(),
    mimeType: pick(IMAGE_MIMES),
    bytes: int(1, 16 * 1024 * 1024),
    width: int(1, 8000),
    height: int(1, 8000),
    thumbnailId: mediaId(),
  });

  const make: { readonly [K in ClientFrameType]: () => Record<string, unknown> } = {
    send: () => ({
      type: 'send',
      ref: ref(),
      clientMessageId: id(),
      ...(maybe() ? { to: id() } : { groupId: id() }),
      ...(maybe()
        ? { kind: 'photo', media: media(), ...opt('text', () => text(FRAME_LIMITS.maxTextLength)) }
        : { ...(maybe() ? { kind: 'text' } : {}), text: text(FRAME_LIMITS.maxTextLength) }),
      ...(rnd() < 0.2 ? { replyTo: messageId() } : {}),
    }),
    sync: () => ({ type: 'sync', ref: ref(), after: seq(), ...opt('limit', limit) }),
    delivered: () => ({ type: 'delivered', ...opt('ref', ref), upTo: seq() }),
    read: () => ({ type: 'read', ...opt('ref', ref), threadId: threadId(), upToSeq: seq() }),
    state: () => ({ type: 'state', ...opt('ref', ref), foreground: maybe() }),
    subscribe: () => ({ type: 'subscribe', ref: ref(), userIds: ids(0) }),
    active: () => ({ type: 'active', ...opt('ref', ref) }),
    ping: () => ({ type: 'ping', ...opt('ref', ref) }),
    typing: () => ({ type: 'typing', ...opt('ref', ref), threadId: threadId(), typing: maybe() }),
    'group.create': () => ({
      type: 'group.create',
      ref: ref(),
      name: 'n' + text(99).slice(0, 99),
      memberIds: ids(0),
    }),
    'group.add': () => ({ type: 'group.add', ref: ref(), groupId: id(), userIds: ids(1) }),
    'group.remove': () => ({ type: 'group.remove', ref: ref(), groupId: id(), userId: id() }),
    'group.leave': () => ({ type: 'group.leave', ref: ref(), groupId: id() }),
    'group.promote': () => ({ type: 'group.promote', ref: ref(), groupId: id(), userId: id() }),
    'contacts.add': () => ({ type: 'contacts.add', ref: ref(), userId: id() }),
    'contacts.search': () => ({
      type: 'contacts.search',
      ref: ref(),
      query: text(FRAME_LIMITS.maxQueryLength).slice(0, FRAME_LIMITS.maxQueryLength),
      ...opt('limit', limit),
      ...opt('global', maybe),
    }),
    'settings.get': () => ({ type: 'settings.get', ref: ref() }),
    'settings.set': () => {
      const changes: (() => Record<string, unknown>)[] = [
        () => ({ readReceipts: maybe() }),
        () => ({ previews: maybe() }),
        () => ({ lastSeen: pick(['everyone', 'contacts', 'nobody']) }),
        () => ({ discoverable: maybe() }),
        () => ({ mute: { threadId: threadId(), ...opt('until', seq) } }),
        () => ({ unmute: { threadId: threadId() } }),
        () => ({ block: id() }),
        () => ({ unblock: id() }),
      ];
      return { type: 'settings.set', ref: ref(), ...pick(changes)() };
    },
    'feed.top': () => ({ type: 'feed.top', ref: ref(), ...opt('limit', limit), ...opt('archived', maybe) }),
    'feed.pin': () => ({ type: 'feed.pin', ref: ref(), threadId: threadId(), pinned: maybe() }),
    'feed.unread': () => ({ type: 'feed.unread', ref: ref(), threadId: threadId(), unread: maybe() }),
    'feed.archive': () => ({ type: 'feed.archive', ref: ref(), threadId: threadId(), archived: maybe() }),
    edit: () => ({
      type: 'edit',
      ref: ref(),
      messageId: messageId(),
      text: text(FRAME_LIMITS.maxTextLength),
      ...opt('clientChangeId', id),
    }),
    delete: () => ({
      type: 'delete',
      ref: ref(),
      messageId: messageId(),
      forEveryone: maybe(),
      ...opt('clientChangeId', id),
    }),
    react: () => ({
      type: 'react',
      ref: ref(),
      messageId: messageId(),
      emoji: maybe() ? null : pick(['👍', '❤️', '😂', '🇵🇹', '1️⃣', 'ok']),
      ...opt('clientChangeId', id),
    }),
    history: () => ({
      type: 'history',
      ref: ref(),
      threadId: threadId(),
      ...opt('before', () => int(1, Number.MAX_SAFE_INTEGER)),
      ...opt('limit', limit),
    }),
  };
  return (): Record<string, unknown> => make[pick(TYPES)]();
}

describe('round trip (property)', () => {
  it.each([1, 42, 20260101])('parses 400 random valid frames (seed %i) back to themselves', (seed) => {
    const next = generator(seed);
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const frame = next();
      seen.add(String(frame.type));
      const wire = JSON.parse(JSON.stringify({ ...frame, from: 'mallory' })) as unknown;
      const parsed = parseClientFrame(wire);
      expect(parsed).toEqual(frame);
      expect(refOf(wire)).toBe(frame.ref);
      expect(JSON.parse(JSON.stringify(parsed))).toEqual(frame);
    }
    expect(seen.size).toBe(TYPES.length);
  });

  it('is deterministic for a seed', () => {
    const a = generator(7);
    const b = generator(7);
    for (let i = 0; i < 20; i++) expect(a()).toEqual(b());
  });
});

describe('the hand-written check of send and delivered (property)', () => {
  // parseClientFrame checks the two frames of every message by hand first; it must agree with the schemas.
  const values: readonly unknown[] = [
    undefined,
    null,
    '',
    'bob',
    'dm:x',
    ' bob',
    'a'.repeat(128),
    'a'.repeat(129),
    'x'.repeat(FRAME_LIMITS.maxTextLength + 1),
    0,
    -0,
    -1,
    3,
    2.5,
    Number.MAX_SAFE_INTEGER + 2,
    true,
    [],
    {},
    'text',
    'photo',
    MEDIA,
  ];
  const keys = ['ref', 'clientMessageId', 'to', 'groupId', 'kind', 'text', 'media', 'upTo', 'from'] as const;

  it.each([3, 99, 2026])('agrees with the schema on 3 000 mutated frames (seed %i)', (seed) => {
    const random = seededRandom(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    let fast = 0;
    for (let i = 0; i < 3_000; i++) {
      const base: Record<string, unknown> = { ...(random() < 0.7 ? VALID.send : VALID.delivered) };
      if (random() < 0.3) delete base.ref;
      if (random() < 0.2) base.v = random() < 0.8 ? PROTOCOL_VERSION : undefined;
      for (let n = Math.floor(random() * 3); n > 0; n--) {
        const key = pick(keys);
        if (random() < 0.25) delete base[key];
        else base[key] = pick(values);
      }
      const schema = CLIENT_FRAME_SCHEMAS[base.type as 'send' | 'delivered'];
      const expected = schema.safeParse(base);
      let got: ClientFrame | ValidationError;
      try {
        got = parseClientFrame(base);
      } catch (e) {
        got = e as ValidationError;
      }
      if (expected.success) {
        expect(got).toEqual(expected.data);
        fast++;
      } else {
        expect(got).toBeInstanceOf(ValidationError);
      }
    }
    // Both sides are exercised: many frames are accepted, many refused.
    expect(fast).toBeGreaterThan(300);
    expect(fast).toBeLessThan(2_700);
  });

  it('takes the frames of every message without calling the schema', () => {
    const send = jest.spyOn(CLIENT_FRAME_SCHEMAS.send, 'safeParse');
    const delivered = jest.spyOn(CLIENT_FRAME_SCHEMAS.delivered, 'safeParse');
    try {
      expect(
        parseClientFrame({ type: 'send', ref: 'r', clientMessageId: 'c', to: 'bob', text: 'hi' }),
      ).toEqual({
        type: 'send',
        ref: 'r',
        clientMessageId: 'c',
        to: 'bob',
        text: 'hi',
      });
      parseClientFrame({
        type: 'send',
        v: PROTOCOL_VERSION,
        ref: 'r',
        clientMessageId: 'c',
        groupId: 'g',
        kind: 'text',
        text: '',
      });
      parseClientFrame({ type: 'delivered', upTo: 3 });
      parseClientFrame({ type: 'delivered', ref: 'r', upTo: 0 });
      expect(send).not.toHaveBeenCalled();
      expect(delivered).not.toHaveBeenCalled();
      // Anything else goes to the schema: here an unknown key, which it strips.
      expect(parseClientFrame({ type: 'delivered', upTo: 3, from: 'mallory' })).toEqual({
        type: 'delivered',
        upTo: 3,
      });
      expect(delivered).toHaveBeenCalledTimes(1);
    } finally {
      send.mockRestore();
      delivered.mockRestore();
    }
  });
});

describe('parseClientFrame: the conversation frames', () => {
  it('takes a reply (send with replyTo) through the schema', () => {
    const reply = { ...VALID.send, replyTo: 'dm:alice:bob#3' };
    expect(parseClientFrame(reply)).toEqual(reply);
    expectRefused({ ...VALID.send, replyTo: 'dm:alice:bob' }, 'replyTo');
    expectRefused({ ...VALID.send, replyTo: 'dm:alice:bob#0' }, 'replyTo');
  });

  it('takes back a reaction with null, and leaves the one-emoji rule to the service', () => {
    expect(parseClientFrame({ ...VALID.react, emoji: null })).toEqual({ ...VALID.react, emoji: null });
    expect(parseClientFrame({ ...VALID.react, emoji: 'ok' })).toEqual({ ...VALID.react, emoji: 'ok' });
    expectRefused({ ...VALID.react, emoji: 'x'.repeat(FRAME_LIMITS.maxReactionLength + 1) }, 'emoji');
  });

  it('refuses a message id that is not `<thread id>#<seq>`', () => {
    for (const messageId of ['', 'dm:alice:bob', '#3', 'dm:alice:bob#-1', 'dm alice#3', 'dm:alice:bob#03']) {
      expectRefused({ ...VALID.edit, messageId }, 'messageId');
    }
  });

  it('refuses a history page that starts at 0 or asks for nothing', () => {
    expectRefused({ ...VALID.history, before: 0 }, 'before');
    expectRefused({ ...VALID.history, limit: 0 }, 'limit');
  });
});
