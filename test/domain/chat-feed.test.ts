import type { FeedEntry } from 'chat-room';
import {
  ChatFeed,
  ChatRoomError,
  MAX_THREAD_ID_LENGTH,
  NotFoundError,
  seededRandom,
  ValidationError,
} from 'chat-room';

const ids = (entries: readonly FeedEntry[]): string[] => entries.map((e) => e.threadId);

/** Everything observable about a feed, to check that a refused call changed nothing. */
function state(feed: ChatFeed): unknown {
  return {
    entries: [...feed],
    size: feed.size,
    totalUnread: feed.totalUnread(),
    unreadThreads: feed.unreadThreads(),
  };
}

function msg(seq: number, at: number, extra: { incoming?: boolean; preview?: string; title?: string } = {}) {
  return { seq, at, preview: extra.preview ?? `m${seq}`, incoming: extra.incoming ?? true, ...extra };
}

describe('ChatFeed', () => {
  describe('ordering', () => {
    it('lists threads by latest activity, newest first', () => {
      const feed = new ChatFeed();
      feed.upsert('a', { title: 'A', lastActivityAt: 100 });
      feed.upsert('b', { title: 'B', lastActivityAt: 300 });
      feed.upsert('c', { title: 'C', lastActivityAt: 200 });
      feed.upsert('d', { title: 'D' });
      expect(ids(feed.top(10))).toEqual(['b', 'c', 'a', 'd']);
      expect(feed.get('d')?.lastActivityAt).toBe(0);
    });

    it('moves a thread to the top when a message lands in it', () => {
      const feed = new ChatFeed();
      for (let i = 0; i < 50; i++) feed.upsert(`t${i}`, { title: `T${i}`, lastActivityAt: 1000 + i });
      expect(feed.top(1)[0]?.threadId).toBe('t49');
      feed.recordMessage('t3', msg(1, 5000));
      expect(ids(feed.top(3))).toEqual(['t3', 't49', 't48']);
    });

    it('keeps activity monotonic: an older message does not move a thread down', () => {
      const feed = new ChatFeed();
      feed.upsert('a', { title: 'A', lastActivityAt: 500 });
      feed.upsert('b', { title: 'B', lastActivityAt: 400 });
      feed.recordMessage('a', msg(1, 10));
      expect(feed.get('a')?.lastActivityAt).toBe(500);
      feed.upsert('a', { title: 'A', lastActivityAt: 1 });
      expect(feed.get('a')?.lastActivityAt).toBe(500);
      expect(ids(feed.top(2))).toEqual(['a', 'b']);
    });

    it('breaks activity ties by the most recent update', () => {
      const feed = new ChatFeed();
      feed.upsert('a', { title: 'A', lastActivityAt: 7 });
      feed.upsert('b', { title: 'B', lastActivityAt: 7 });
      feed.upsert('c', { title: 'C', lastActivityAt: 7 });
      expect(ids(feed.top(3))).toEqual(['c', 'b', 'a']);
      feed.recordMessage('a', msg(1, 7));
      expect(ids(feed.top(3))).toEqual(['a', 'c', 'b']);
    });

    it('puts pinned threads first, and unpin returns a thread to its place', () => {
      const feed = new ChatFeed();
      feed.upsert('old', { title: 'Old', lastActivityAt: 1 });
      feed.upsert('older', { title: 'Older', lastActivityAt: 0 });
      feed.upsert('new', { title: 'New', lastActivityAt: 9 });
      feed.upsert('mid', { title: 'Mid', lastActivityAt: 5 });
      expect(feed.pin('older').pinned).toBe(true);
      feed.pin('old');
      expect(ids(feed.top(4))).toEqual(['old', 'older', 'new', 'mid']);
      feed.recordMessage('mid', msg(1, 100));
      expect(ids(feed.top(4))).toEqual(['old', 'older', 'mid', 'new']);
      expect(feed.unpin('old').pinned).toBe(false);
      expect(ids(feed.top(4))).toEqual(['older', 'mid', 'new', 'old']);
    });
  });

  describe('top', () => {
    it('does not drain the feed: calling it twice gives the same answer', () => {
      const feed = new ChatFeed();
      for (let i = 0; i < 30; i++) feed.upsert(`t${i}`, { title: `T${i}`, lastActivityAt: (i * 7) % 30 });
      const first = feed.top(10);
      expect(feed.top(10)).toEqual(first);
      expect(feed.size).toBe(30);
      expect(feed.top(30)).toHaveLength(30);
    });

    it('returns everything for a k above the size, and nothing for 0 or an empty feed', () => {
      const feed = new ChatFeed();
      expect(feed.top(5)).toEqual([]);
      feed.upsert('a', { title: 'A', lastActivityAt: 1 });
      feed.upsert('b', { title: 'B', lastActivityAt: 2 });
      expect(ids(feed.top(100))).toEqual(['b', 'a']);
      expect(feed.top(0)).toEqual([]);
    });

    it('iterates in feed order', () => {
      const feed = new ChatFeed();
      feed.upsert('a', { title: 'A', lastActivityAt: 1 });
      feed.upsert('b', { title: 'B', lastActivityAt: 2 });
      expect([...feed].map((e) => e.threadId)).toEqual(['b', 'a']);
      expect(ids([...feed.entries()])).toEqual(['b', 'a']);
    });
  });

  describe('unread counts', () => {
    it('counts each incoming seq once, skips outgoing ones and follows the read watermark', () => {
      const feed = new ChatFeed();
      feed.recordMessage('a', msg(1, 10, { title: 'A' }));
      feed.recordMessage('a', msg(2, 11));
      feed.recordMessage('a', msg(2, 11)); // re-delivered
      feed.recordMessage('a', msg(3, 12, { incoming: false }));
      feed.recordMessage('a', msg(5, 13));
      feed.recordMessage('a', msg(4, 12)); // late arrival
      expect(feed.unreadCount('a')).toBe(4);
      expect(feed.markRead('a', 2)).toBe(2);
      expect(feed.get('a')?.readUpTo).toBe(2);
      expect(feed.markRead('a', 1)).toBe(2); // lower watermark: no-op
      expect(feed.get('a')?.readUpTo).toBe(2);
      feed.recordMessage('a', msg(2, 11)); // at or below the watermark: already read
      feed.recordMessage('a', msg(1, 10));
      expect(feed.unreadCount('a')).toBe(2);
      expect(feed.markRead('a', 5)).toBe(0);
      expect(feed.markRead('a', 1000)).toBe(0);
      feed.recordMessage('a', msg(6, 14));
      expect(feed.unreadCount('a')).toBe(0);
    });

    it('counts seq 0 as unread until it is read', () => {
      const feed = new ChatFeed();
      const entry = feed.recordMessage('a', msg(0, 0, { title: 'A' }));
      expect(entry).toMatchObject({ unread: 1, lastSeq: 0, readUpTo: -1, preview: 'm0' });
      expect(feed.markRead('a', 0)).toBe(0);
    });

    it('keeps running totals across threads', () => {
      const feed = new ChatFeed();
      feed.recordMessage('a', msg(1, 1, { title: 'A' }));
      feed.recordMessage('a', msg(2, 2));
      feed.recordMessage('b', msg(1, 3, { title: 'B' }));
      feed.recordMessage('c', msg(1, 4, { title: 'C', incoming: false }));
      expect(feed.totalUnread()).toBe(3);
      expect(feed.unreadThreads()).toBe(2);
      feed.markRead('a', 1);
      expect([feed.totalUnread(), feed.unreadThreads()]).toEqual([2, 2]);
      feed.markRead('b', 1);
      expect([feed.totalUnread(), feed.unreadThreads()]).toEqual([1, 1]);
      expect(feed.unreadCount('nobody')).toBe(0);
    });

    it('shows the preview of the highest seq, whatever the arrival order', () => {
      const feed = new ChatFeed();
      feed.recordMessage('a', msg(5, 50, { title: 'A', preview: 'five' }));
      feed.recordMessage('a', msg(3, 30, { preview: 'three' }));
      expect(feed.get('a')).toMatchObject({ lastSeq: 5, preview: 'five', lastActivityAt: 50 });
    });
  });

  describe('threads', () => {
    it('renames a thread through upsert or a message title', () => {
      const feed = new ChatFeed();
      feed.upsert('a', { title: 'Alice' });
      expect(feed.upsert('a', { title: 'Alice B.' }).title).toBe('Alice B.');
      feed.recordMessage('a', msg(1, 1, { title: 'Alice C.' }));
      expect(feed.get('a')?.title).toBe('Alice C.');
      expect(feed.size).toBe(1);
    });

    it('removes a thread with its unread messages', () => {
      const feed = new ChatFeed();
      for (let i = 0; i < 10; i++) feed.recordMessage(`t${i}`, msg(1, i, { title: `T${i}` }));
      expect(feed.remove('t9')).toBe(true);
      expect(feed.remove('t0')).toBe(true);
      expect(feed.remove('t4')).toBe(true);
      expect(feed.remove('t4')).toBe(false);
      expect(feed.has('t4')).toBe(false);
      expect(feed.get('t4')).toBeUndefined();
      expect(feed.size).toBe(7);
      expect(feed.totalUnread()).toBe(7);
      expect(feed.unreadThreads()).toBe(7);
      expect(ids(feed.top(10))).toEqual(['t8', 't7', 't6', 't5', 't3', 't2', 't1']);
    });

    it('hands out frozen snapshots that later changes do not alter', () => {
      const feed = new ChatFeed();
      const before = feed.recordMessage('a', msg(1, 1, { title: 'A' }));
      feed.recordMessage('a', msg(2, 2));
      expect(before.unread).toBe(1);
      expect(Object.isFrozen(before)).toBe(true);
      expect(feed.get('a')?.unread).toBe(2);
    });
  });

  describe('validation', () => {
    const seeded = (): ChatFeed => {
      const feed = new ChatFeed();
      feed.recordMessage('a', msg(1, 10, { title: 'A' }));
      feed.recordMessage('b', msg(4, 20, { title: 'B' }));
      feed.pin('a');
      return feed;
    };
    const bad = <T>(value: unknown): T => value as T;

    const refusals: [string, (feed: ChatFeed) => unknown][] = [
      ['empty thread id', (f) => f.upsert('', { title: 'x' })],
      ['thread id over the limit', (f) => f.upsert('x'.repeat(MAX_THREAD_ID_LENGTH + 1), { title: 'x' })],
      ['non-string thread id', (f) => f.get(bad(42))],
      ['title over 200 characters', (f) => f.upsert('a', { title: 'x'.repeat(201) })],
      ['non-string title', (f) => f.upsert('a', { title: bad(7) })],
      ['missing init', (f) => f.upsert('a', bad(undefined))],
      ['negative lastActivityAt', (f) => f.upsert('a', { title: 'A', lastActivityAt: -1 })],
      ['infinite at', (f) => f.recordMessage('a', msg(9, Infinity))],
      ['NaN at', (f) => f.recordMessage('a', msg(9, NaN))],
      ['negative seq', (f) => f.recordMessage('a', msg(-1, 30))],
      ['fractional seq', (f) => f.recordMessage('a', msg(1.5, 30))],
      ['unsafe seq', (f) => f.recordMessage('a', msg(2 ** 53, 30))],
      ['non-boolean incoming', (f) => f.recordMessage('a', { ...msg(9, 30), incoming: bad('yes') })],
      ['non-string preview', (f) => f.recordMessage('a', { ...msg(9, 30), preview: bad(null) })],
      ['new thread without a title', (f) => f.recordMessage('c', msg(1, 30))],
      ['oversized title on a message', (f) => f.recordMessage('b', msg(9, 30, { title: 'x'.repeat(201) }))],
      ['negative upToSeq', (f) => f.markRead('a', -1)],
      ['fractional upToSeq', (f) => f.markRead('a', 0.5)],
      ['negative k', (f) => f.top(-1)],
      ['fractional k', (f) => f.top(1.5)],
      ['bad id on pin', (f) => f.pin('')],
      ['bad id on remove', (f) => f.remove('')],
      ['bad id on unreadCount', (f) => f.unreadCount(bad(undefined))],
      ['bad id on archive', (f) => f.archive('')],
      ['bad id on markUnread', (f) => f.markUnread(bad(7))],
      ['bad id on clearUnreadMark', (f) => f.clearUnreadMark('x'.repeat(MAX_THREAD_ID_LENGTH + 1))],
      ['non-boolean archived option on top', (f) => f.top(5, { archived: bad('yes') })],
      ['non-object options on top', (f) => f.top(5, bad(null))],
      ['negative seq on updatePreview', (f) => f.updatePreview('a', -1, 'x')],
      ['non-string preview on updatePreview', (f) => f.updatePreview('a', 1, bad(3))],
    ];

    it.each(refusals)('refuses %s with a ValidationError and changes nothing', (_name, call) => {
      const feed = seeded();
      const before = state(feed);
      let caught: unknown;
      try {
        call(feed);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect(ChatRoomError.is(caught) && caught.code).toBe('VALIDATION');
      expect(state(feed)).toEqual(before);
    });

    it('reports unknown threads with a NotFoundError and changes nothing', () => {
      const feed = seeded();
      const before = state(feed);
      expect(() => feed.markRead('zz', 1)).toThrow(NotFoundError);
      expect(() => feed.pin('zz')).toThrow(NotFoundError);
      expect(() => feed.unpin('zz')).toThrow(NotFoundError);
      expect(() => feed.archive('zz')).toThrow(NotFoundError);
      expect(() => feed.unarchive('zz')).toThrow(NotFoundError);
      expect(() => feed.markUnread('zz')).toThrow(NotFoundError);
      expect(() => feed.clearUnreadMark('zz')).toThrow(NotFoundError);
      expect(state(feed)).toEqual(before);
    });

    it('accepts the limits themselves', () => {
      const feed = new ChatFeed();
      const id = 'i'.repeat(MAX_THREAD_ID_LENGTH);
      feed.upsert(id, { title: 't'.repeat(200) });
      feed.recordMessage(id, msg(Number.MAX_SAFE_INTEGER, 0));
      expect(feed.unreadCount(id)).toBe(1);
    });
  });

  describe('pins, the archive and unread marks', () => {
    /** Four threads by activity: d (40), c (30), b (20), a (10). */
    const four = (): ChatFeed => {
      const feed = new ChatFeed();
      for (const [i, id] of ['a', 'b', 'c', 'd'].entries())
        feed.recordMessage(id, msg(1, 10 * (i + 1), { title: id }));
      return feed;
    };

    it('takes an archived thread out of the main list; top lists it only when asked for the archive', () => {
      const feed = four();
      const entry = feed.archive('c');
      expect(entry).toMatchObject({ threadId: 'c', archived: true, pinned: false });
      expect(ids(feed.top(10))).toEqual(['d', 'b', 'a']);
      expect(ids(feed.top(10, { archived: true }))).toEqual(['c']);
      feed.archive('a');
      expect(ids(feed.top(10, { archived: true }))).toEqual(['c', 'a']); // the archive keeps feed order too
      expect(ids(feed.top(1, { archived: false }))).toEqual(['d']);
      expect(feed.size).toBe(4);
      expect(ids([...feed])).toEqual(['d', 'b', 'c', 'a']); // the main list, then the archive
      expect(ids(feed.unarchive('c') && feed.top(10))).toEqual(['d', 'c', 'b']);
    });

    it('keeps an archived thread archived when a new message lands in it (WhatsApp: keep chats archived)', () => {
      const feed = four();
      feed.archive('a');
      const entry = feed.recordMessage('a', msg(2, 100, { preview: 'still there?' }));
      expect(entry).toMatchObject({
        archived: true,
        unread: 2,
        preview: 'still there?',
        lastActivityAt: 100,
      });
      expect(ids(feed.top(10))).toEqual(['d', 'c', 'b']);
      expect(ids(feed.top(10, { archived: true }))).toEqual(['a']);
      expect(feed.totalUnread()).toBe(5); // archived threads still count in the totals
    });

    it('unpins a thread it archives, and brings back from the archive a thread it pins', () => {
      const feed = four();
      feed.pin('a');
      expect(ids(feed.top(2))).toEqual(['a', 'd']);
      expect(feed.archive('a')).toMatchObject({ pinned: false, archived: true });
      expect(ids(feed.top(10))).toEqual(['d', 'c', 'b']);
      expect(feed.pin('a')).toMatchObject({ pinned: true, archived: false });
      expect(ids(feed.top(10))).toEqual(['a', 'd', 'c', 'b']);
      expect(feed.top(10, { archived: true })).toEqual([]);
      feed.archive('b');
      expect(feed.unpin('b')).toMatchObject({ pinned: false, archived: true }); // unpin leaves the archive alone
      expect(feed.unarchive('d')).toMatchObject({ archived: false }); // so does unarchive of a listed thread
    });

    it('shows a thread marked unread with at least 1 unread until it is read again', () => {
      const feed = four();
      feed.markRead('b', 1);
      expect(feed.markUnread('b')).toMatchObject({ unread: 1, markedUnread: true, readUpTo: 1 });
      expect([feed.totalUnread(), feed.unreadThreads(), feed.unreadCount('b')]).toEqual([4, 4, 1]);
      feed.recordMessage('b', msg(2, 50));
      expect(feed.get('b')).toMatchObject({ unread: 1, markedUnread: true }); // the message, not 2
      feed.recordMessage('b', msg(3, 51));
      expect(feed.get('b')?.unread).toBe(2);
      // Opening the thread reads it, whatever the watermark: the mark goes with it.
      expect(feed.markRead('b', 3)).toBe(0);
      expect(feed.get('b')).toMatchObject({ unread: 0, markedUnread: false });
      feed.markUnread('b');
      expect(feed.markRead('b', 1)).toBe(0); // a lower watermark still clears the mark
      expect(feed.get('b')).toMatchObject({ unread: 0, markedUnread: false, readUpTo: 3 });
      expect([feed.totalUnread(), feed.unreadThreads()]).toEqual([3, 3]);
    });

    it('clears a mark without reading, and forgets it with the thread', () => {
      const feed = four();
      feed.markUnread('a'); // a has one unread message: still 1
      expect(feed.get('a')).toMatchObject({ unread: 1, markedUnread: true });
      expect(feed.clearUnreadMark('a')).toMatchObject({ unread: 1, markedUnread: false });
      feed.markRead('c', 1);
      feed.markUnread('c');
      expect(feed.clearUnreadMark('c')).toMatchObject({ unread: 0, markedUnread: false });
      feed.markUnread('c');
      expect(feed.remove('c')).toBe(true);
      expect([feed.totalUnread(), feed.unreadThreads()]).toEqual([3, 3]);
    });

    it('lists the choices to keep, in the order the threads entered the feed', () => {
      const feed = four();
      feed.pin('c');
      feed.pin('a');
      feed.archive('b');
      feed.markUnread('d');
      feed.markUnread('b');
      expect(feed.preferences()).toEqual({ pinned: ['a', 'c'], archived: ['b'], markedUnread: ['b', 'd'] });
      expect(new ChatFeed().preferences()).toEqual({ pinned: [], archived: [], markedUnread: [] });
    });

    it('shows an edited latest message without moving the thread or its unread count', () => {
      const feed = four();
      expect(feed.updatePreview('b', 1, 'fixed')).toMatchObject({ preview: 'fixed', unread: 1 });
      expect(feed.updatePreview('b', 0, 'older')?.preview).toBe('fixed'); // not the latest: no change
      expect(feed.updatePreview('zz', 1, 'x')).toBeUndefined();
      expect(ids(feed.top(10))).toEqual(['d', 'c', 'b', 'a']);
    });
  });

  describe('against a naive model', () => {
    interface ModelThread {
      threadId: string;
      title: string;
      lastActivityAt: number;
      lastSeq: number;
      preview: string;
      pinned: boolean;
      archived: boolean;
      markedUnread: boolean;
      readUpTo: number;
      incomingSeqs: Set<number>;
      tick: number;
    }

    const unreadOf = (t: ModelThread): number => {
      const count = [...t.incomingSeqs].filter((s) => s > t.readUpTo).length;
      return t.markedUnread ? Math.max(1, count) : count;
    };
    const view = (t: ModelThread): FeedEntry => ({
      threadId: t.threadId,
      title: t.title,
      lastActivityAt: t.lastActivityAt,
      lastSeq: t.lastSeq,
      preview: t.preview,
      unread: unreadOf(t),
      pinned: t.pinned,
      archived: t.archived,
      markedUnread: t.markedUnread,
      readUpTo: t.readUpTo,
    });
    const sorted = (model: Map<string, ModelThread>, archived = false): FeedEntry[] =>
      [...model.values()]
        .filter((t) => t.archived === archived)
        .sort(
          (a, b) =>
            Number(b.pinned) - Number(a.pinned) || b.lastActivityAt - a.lastActivityAt || b.tick - a.tick,
        )
        .map(view);
    const fresh = (threadId: string, title: string, lastActivityAt: number): ModelThread => ({
      threadId,
      title,
      lastActivityAt,
      lastSeq: -1,
      preview: '',
      pinned: false,
      archived: false,
      markedUnread: false,
      readUpTo: -1,
      incomingSeqs: new Set<number>(),
      tick: 0,
    });

    it.each([1, 2, 3])('agrees with a sorted array over 3000 random operations (seed %i)', (seed) => {
      const rand = seededRandom(seed);
      const int = (n: number): number => Math.floor(rand() * n);
      const feed = new ChatFeed();
      const model = new Map<string, ModelThread>();
      let tick = 0;

      for (let step = 0; step < 3000; step++) {
        const id = `t${int(40)}`;
        const known = model.get(id);
        const roll = rand();
        if (roll < 0.4) {
          const m = { seq: int(30), at: int(60), preview: `p${step}`, incoming: rand() < 0.7 };
          const title = rand() < 0.5 ? `T${step}` : undefined;
          if (!known && title === undefined) {
            expect(() => feed.recordMessage(id, m)).toThrow(ValidationError);
            continue;
          }
          feed.recordMessage(id, title === undefined ? m : { ...m, title });
          const t = known ?? fresh(id, '', m.at);
          if (title !== undefined) t.title = title;
          t.lastActivityAt = Math.max(t.lastActivityAt, m.at);
          if (m.seq >= t.lastSeq) [t.lastSeq, t.preview] = [m.seq, m.preview];
          if (m.incoming) t.incomingSeqs.add(m.seq);
          t.tick = ++tick;
          model.set(id, t);
        } else if (roll < 0.5) {
          const at = rand() < 0.5 ? int(60) : undefined;
          const title = `U${step}`;
          feed.upsert(id, at === undefined ? { title } : { title, lastActivityAt: at });
          const t = known ?? fresh(id, title, 0);
          t.title = title;
          t.lastActivityAt = Math.max(t.lastActivityAt, at ?? 0);
          t.tick = ++tick;
          model.set(id, t);
        } else if (roll < 0.65) {
          const upTo = int(32);
          if (!known) {
            expect(() => feed.markRead(id, upTo)).toThrow(NotFoundError);
            continue;
          }
          known.readUpTo = Math.max(known.readUpTo, upTo);
          known.markedUnread = false;
          expect(feed.markRead(id, upTo)).toBe(unreadOf(known));
        } else if (roll < 0.73) {
          const pinned = rand() < 0.4;
          if (!known) {
            expect(() => (pinned ? feed.pin(id) : feed.unpin(id))).toThrow(NotFoundError);
            continue;
          }
          known.pinned = pinned;
          if (pinned) known.archived = false;
          expect(pinned ? feed.pin(id) : feed.unpin(id)).toEqual(view(known));
        } else if (roll < 0.8) {
          const archived = rand() < 0.6;
          if (!known) {
            expect(() => (archived ? feed.archive(id) : feed.unarchive(id))).toThrow(NotFoundError);
            continue;
          }
          known.archived = archived;
          if (archived) known.pinned = false;
          expect(archived ? feed.archive(id) : feed.unarchive(id)).toEqual(view(known));
        } else if (roll < 0.86) {
          const marked = rand() < 0.6;
          if (!known) {
            expect(() => (marked ? feed.markUnread(id) : feed.clearUnreadMark(id))).toThrow(NotFoundError);
            continue;
          }
          known.markedUnread = marked;
          expect(marked ? feed.markUnread(id) : feed.clearUnreadMark(id)).toEqual(view(known));
        } else if (roll < 0.9) {
          expect(feed.remove(id)).toBe(model.delete(id));
        } else if (roll < 0.95) {
          const before = state(feed);
          expect(() =>
            feed.recordMessage(id, { seq: -1 - int(3), at: 1, preview: '', incoming: true, title: 'x' }),
          ).toThrow(ValidationError);
          expect(state(feed)).toEqual(before);
        } else {
          const k = int(model.size + 5);
          const archived = rand() < 0.3;
          expect(feed.top(k, { archived })).toEqual(sorted(model, archived).slice(0, k));
        }

        const entries = sorted(model);
        const archive = sorted(model, true);
        const all = [...entries, ...archive];
        const expected = {
          step,
          entries,
          archive,
          size: model.size,
          touched: model.has(id) ? view(model.get(id)!) : null,
          totalUnread: all.reduce((sum, e) => sum + e.unread, 0),
          unreadThreads: all.filter((e) => e.unread > 0).length,
        };
        const actual = {
          step,
          entries: feed.top(feed.size),
          archive: feed.top(feed.size, { archived: true }),
          size: feed.size,
          touched: feed.get(id) ?? null,
          totalUnread: feed.totalUnread(),
          unreadThreads: feed.unreadThreads(),
        };
        // Compare cheaply on every step; let toEqual print the diff (and the step) only on a mismatch.
        if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual).toEqual(expected);
      }
    });
  });
});
