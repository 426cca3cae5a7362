import type { ContactMatch } from 'chat-room';
import {
  ChatRoomError,
  ConflictError,
  ContactDirectory,
  normalizeForSearch,
  NotFoundError,
  searchTokens,
  seededRandom,
  User,
  ValidationError,
} from 'chat-room';

const ids = (matches: readonly ContactMatch[]): string[] => matches.map((m) => m.id);
const names = (matches: readonly ContactMatch[]): string[] => matches.map((m) => m.name);
/** A result as one line per match: cheap to compare thousands of them, and readable when they differ. */
const show = (matches: readonly ContactMatch[]): string =>
  matches.map((m) => `${m.id} ${m.rank} ${m.name}`).join('\n');

function directoryOf(...users: [id: string, name: string][]): ContactDirectory {
  const directory = new ContactDirectory();
  for (const [id, name] of users) directory.add({ id, name });
  return directory;
}

/** Everything observable about a directory for a few probe queries, to check that a refused call changed nothing. */
function state(directory: ContactDirectory, probes: readonly string[]): unknown {
  return { size: directory.size, results: probes.map((q) => directory.search(q, { limit: 100 })) };
}

describe('normalizeForSearch', () => {
  it('folds case, accents and letters that do not decompose, and collapses whitespace', () => {
    expect(normalizeForSearch('  José \t ÁLVAREZ ')).toBe('jose alvarez');
    expect(normalizeForSearch('Straße')).toBe('strasse');
    expect(normalizeForSearch('Søren Æbeltoft')).toBe('soren aebeltoft');
    expect(normalizeForSearch('Łukasz Đoković')).toBe('lukasz dokovic');
    expect(normalizeForSearch('İstanbul')).toBe('istanbul');
    expect(normalizeForSearch('ﬁnn Ｊｏ')).toBe('finn jo');
    expect(normalizeForSearch('o’brien')).toBe("o'brien");
    expect(normalizeForSearch('a\u200bb\u0301')).toBe('ab');
  });

  it('changes nothing when applied twice', () => {
    for (const text of [
      'İstanbul ẞ',
      'ΟΔΥΣΣΕΥΣ',
      'Ǆemal Ⅻ',
      'Ω K Å',
      'ﷺ',
      '  Ĳsselmeer\u00a0Œuvre ',
      'がっこう ﾊﾟ',
    ]) {
      const once = normalizeForSearch(text);
      expect(normalizeForSearch(once)).toBe(once);
    }
  });
});

describe('searchTokens', () => {
  it('gives the name words, the whole name, the handle and its parts, once each', () => {
    expect(searchTokens('José Álvarez', 'jose.alvarez_7')).toEqual([
      'jose',
      'alvarez',
      'jose alvarez',
      'jose.alvarez_7',
      '7',
    ]);
    expect(searchTokens('Mary', 'maryj_99')).toEqual(['mary', 'maryj_99', 'maryj', '99']);
  });

  it('splits a punctuated name word into its parts', () => {
    expect(searchTokens("O'Brien-Smith", 'ob')).toEqual(
      expect.arrayContaining(["o'brien-smith", 'brien', 'smith', 'obriensmith', 'ob']),
    );
  });
});

describe('ContactDirectory', () => {
  const people = (): ContactDirectory =>
    directoryOf(
      ['jose', 'José Álvarez'],
      ['maryj_99', 'Mary Jones'],
      ['ajoke', 'Ajoke Bello'],
      ['sam', 'Sam Smith'],
    );

  describe('matching', () => {
    it('finds a prefix of any name word, and not a substring', () => {
      expect(names(people().search('jo'))).toEqual(['Mary Jones', 'José Álvarez']);
    });

    it('ignores case and accents in both the query and the name', () => {
      const directory = people();
      for (const q of ['ÁLV', 'alv', 'Alv', 'álvarez', 'JOSÉ', 'jose']) {
        expect(ids(directory.search(q))).toEqual(['jose']);
      }
      const accentless = directoryOf(['z', 'Zoe Muller']);
      expect(ids(accentless.search('MÜL'))).toEqual(['z']);
      expect(ids(accentless.search('zoë'))).toEqual(['z']);
    });

    it('finds users by their handle and by the parts of their handle', () => {
      const directory = people();
      expect(ids(directory.search('maryj'))).toEqual(['maryj_99']);
      expect(ids(directory.search('MARYJ_9'))).toEqual(['maryj_99']);
      expect(ids(directory.search('99'))).toEqual(['maryj_99']);
    });

    it('requires every word of a multi-word query to begin some token, in any order', () => {
      const directory = directoryOf(['maryj_99', 'Mary Jones'], ['maryk', 'Mary Kay'], ['jon', 'Jon Snow']);
      expect(ids(directory.search('mary jo'))).toEqual(['maryj_99']);
      expect(ids(directory.search('jo   MARY'))).toEqual(['maryj_99']);
      expect(ids(directory.search('mary 99'))).toEqual(['maryj_99']);
      expect(directory.search('mary snow')).toEqual([]);
    });

    it('lists each user once, even when several tokens match', () => {
      const directory = directoryOf(['jojo', 'Jo Jones'], ['joe', 'Joe']);
      expect(directory.search('jo')).toEqual([
        { id: 'jojo', name: 'Jo Jones', rank: 'exact' },
        { id: 'joe', name: 'Joe', rank: 'prefix' },
      ]);
    });

    it('finds nothing for a query that folds to nothing', () => {
      expect(people().search('\u0301')).toEqual([]);
    });
  });

  describe('ranking', () => {
    it('puts exact word, name and handle matches before prefix matches', () => {
      const directory = directoryOf(
        ['maryj_99', 'Mary Jones'],
        ['jose', 'José Álvarez'],
        ['jo1', 'Jo'],
        ['longname', 'Jo Long-Name Person'],
      );
      expect(directory.search('jo')).toEqual([
        { id: 'jo1', name: 'Jo', rank: 'exact' },
        { id: 'longname', name: 'Jo Long-Name Person', rank: 'exact' },
        { id: 'maryj_99', name: 'Mary Jones', rank: 'prefix' },
        { id: 'jose', name: 'José Álvarez', rank: 'prefix' },
      ]);
      expect(directory.search('Jose')[0]).toEqual({ id: 'jose', name: 'José Álvarez', rank: 'exact' });
      expect(directory.search('mary jones')[0]?.rank).toBe('exact');
      expect(directory.search('maryj_99')[0]?.rank).toBe('exact');
    });

    it('hands out the best of a long range, exact matches first', () => {
      const directory = new ContactDirectory();
      for (let i = 0; i < 2000; i++) directory.add({ id: `p${i}`, name: `Joanna ${i}` });
      for (let i = 0; i < 2000; i++) directory.add({ id: `q${i}`, name: `Jo ${i}` });
      expect(directory.search('jo', { limit: 3 })).toEqual([
        { id: 'q0', name: 'Jo 0', rank: 'exact' },
        { id: 'q1', name: 'Jo 1', rank: 'exact' },
        { id: 'q2', name: 'Jo 2', rank: 'exact' },
      ]);
      expect(ids(directory.search('JOA', { limit: 2 }))).toEqual(['p0', 'p1']);
      directory.remove('q0');
      directory.rename('q1', 'Zed');
      expect(ids(directory.search('jo', { limit: 2 }))).toEqual(['q2', 'q3']);
      expect(ids(directory.search('jo 1', { limit: 3 }))).toEqual(['q10', 'q11', 'q12']);
    });

    it('orders a rank by shorter name, then folded name, then id', () => {
      const directory = directoryOf(['b2', 'Ann Bé'], ['b1', 'Ann Be'], ['a', 'Ann Zed'], ['c', 'Anna']);
      expect(ids(directory.search('an'))).toEqual(['c', 'b1', 'b2', 'a']);
      const greek = directoryOf(['s3', 'Σωκράτης'], ['s2', 'Σοφία'], ['s1', 'Σαρία'], ['s0', 'Σάββας']);
      expect(ids(greek.search('σ'))).toEqual(['s1', 's2', 's0', 's3']);
    });
  });

  describe('limit, within and where', () => {
    const many = (): ContactDirectory => {
      const directory = new ContactDirectory();
      for (let i = 0; i < 150; i++)
        directory.add({ id: `user${i}`, name: `Kim ${String(i).padStart(3, '0')}` });
      return directory;
    };

    it('returns at most `limit` matches, 20 by default, the best ones', () => {
      const directory = many();
      expect(directory.search('kim')).toHaveLength(20);
      expect(ids(directory.search('kim', { limit: 3 }))).toEqual(['user0', 'user1', 'user2']);
      expect(directory.search('kim', { limit: 100 })).toHaveLength(100);
    });

    it('restricts the search to the given ids, ignoring unknown ones', () => {
      const directory = many();
      const within = new Set(['user7', 'user3', 'user120', 'ghost']);
      expect(ids(directory.search('kim', { within }))).toEqual(['user3', 'user7', 'user120']);
      expect(ids(directory.search('kim 12', { within }))).toEqual(['user120']);
      expect(directory.search('kim', { within: new Set() })).toEqual([]);
    });

    it('leaves out whoever `where` refuses, with or without `within`, and still fills the limit', () => {
      const directory = many();
      const odd = (id: string): boolean => Number(id.slice(4)) % 2 === 1;
      expect(ids(directory.search('kim', { limit: 3, where: odd }))).toEqual(['user1', 'user3', 'user5']);
      const within = new Set(['user7', 'user3', 'user120', 'ghost']);
      expect(ids(directory.search('kim', { within, where: odd }))).toEqual(['user3', 'user7']);
      expect(directory.search('kim', { where: () => false })).toEqual([]);
      expect(() => directory.search('kim', { where: 'odd' as never })).toThrow(
        expect.objectContaining({ code: 'VALIDATION', details: { field: 'where' } }),
      );
    });

    it('answers the same with a large `within` as with a small one', () => {
      const directory = many();
      const all = new Set(Array.from({ length: 150 }, (_, i) => `user${i}`));
      expect(directory.search('kim 1', { within: all, limit: 100 })).toEqual(
        directory.search('kim 1', { limit: 100 }),
      );
    });
  });

  describe('changes', () => {
    it('finds a renamed user by the new name only', () => {
      const directory = people();
      directory.rename('maryj_99', 'Mary Smith');
      expect(ids(directory.search('jones'))).toEqual([]);
      expect(ids(directory.search('smi'))).toEqual(['sam', 'maryj_99']);
      expect(directory.search('mary')).toEqual([{ id: 'maryj_99', name: 'Mary Smith', rank: 'exact' }]);
      directory.rename('maryj_99', 'Mary Jones');
      expect(ids(directory.search('jones'))).toEqual(['maryj_99']);
    });

    it('forgets a removed user, and may add the id again', () => {
      const directory = people();
      expect(directory.remove('jose')).toBe(true);
      expect(directory.remove('jose')).toBe(false);
      expect(directory.has('jose')).toBe(false);
      expect(directory.size).toBe(3);
      expect(ids(directory.search('jo'))).toEqual(['maryj_99']);
      directory.add({ id: 'jose', name: 'Pepe' });
      expect(ids(directory.search('jo'))).toEqual(['jose', 'maryj_99']);
      expect(ids(directory.search('alv'))).toEqual([]);
    });

    it('answers the same whether or not changes were flushed first', () => {
      const flushed = people();
      const lazy = people();
      for (const d of [flushed, lazy]) {
        d.rename('sam', 'Joanna Sam');
        d.remove('jose');
        d.add({ id: 'jo', name: 'Jo' });
      }
      flushed.flush();
      expect(flushed.search('jo')).toEqual(lazy.search('jo'));
      expect(ids(flushed.search('jo'))).toEqual(['jo', 'sam', 'maryj_99']); // 'joanna sam' < 'mary jones'
    });

    it('takes a User as the profile, and keeps names trimmed', () => {
      const directory = new ContactDirectory();
      directory.add(new User({ id: 'x', name: 'Xavier' }));
      directory.add({ id: 'y', name: '  Yannick  ' });
      expect(directory.search('xav')).toEqual([{ id: 'x', name: 'Xavier', rank: 'prefix' }]);
      expect(directory.search('yan')).toEqual([{ id: 'y', name: 'Yannick', rank: 'prefix' }]);
    });
  });

  describe('validation', () => {
    const probes = ['jo', 'mary', 'sam'];

    it.each([
      ['an empty query', ''],
      ['a blank query', ' \t '],
      ['a query over 100 characters', 'a'.repeat(101)],
      ['a query that is not a string', 42],
    ])('refuses %s', (_what, query) => {
      const directory = people();
      const before = state(directory, probes);
      expect(() => directory.search(query as string)).toThrow(ValidationError);
      expect(state(directory, probes)).toEqual(before);
    });

    it('accepts 100 characters once trimmed', () => {
      expect(people().search(`  ${'a'.repeat(100)}  `)).toEqual([]);
    });

    it.each([0, 101, 2.5, -1, '5', null])('refuses limit %p', (limit) => {
      expect(() => people().search('jo', { limit: limit as number })).toThrow(ValidationError);
    });

    it('refuses a within that is not a set', () => {
      expect(() => people().search('jo', { within: ['jose'] as unknown as Set<string> })).toThrow(
        ValidationError,
      );
    });

    it('refuses malformed, duplicate and unknown users without changing anything', () => {
      const directory = people();
      const before = state(directory, probes);
      expect(() => directory.add({ id: 'bad id', name: 'Bad' })).toThrow(ValidationError);
      expect(() => directory.add({ id: 'ok', name: '   ' })).toThrow(ValidationError);
      expect(() => directory.add({ id: 'ok', name: 'x'.repeat(101) })).toThrow(ValidationError);
      expect(() => directory.add({ id: 'sam', name: 'Another Sam' })).toThrow(ConflictError);
      expect(() => directory.rename('nobody', 'Jo')).toThrow(NotFoundError);
      expect(() => directory.rename('sam', '')).toThrow(ValidationError);
      expect(() => directory.remove('bad id')).toThrow(ValidationError);
      expect(state(directory, probes)).toEqual(before);
      let error: unknown;
      try {
        directory.search('');
      } catch (e) {
        error = e;
      }
      expect(ChatRoomError.is(error) && error.code).toBe('VALIDATION');
    });
  });

  describe('against a linear scan', () => {
    const FIRST = [
      'José',
      'Mary',
      'Zoë',
      'Łukasz',
      'Søren',
      'Jo',
      'Joan',
      'Ana',
      'Anaïs',
      'Björn',
      'Chloé',
      'Ömer',
    ];
    const LAST = ['Álvarez', 'Jones', 'Smith', 'Straße', 'Æsir', 'Đoković', 'Núñez', "O'Brien", 'Kay', 'Li'];
    const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

    interface Row {
      id: string;
      name: string;
      key: string;
      tokens: string[];
    }

    /** The specification, written the slow and obvious way. */
    function naive(
      rows: Iterable<Row>,
      query: string,
      limit: number,
      within?: ReadonlySet<string>,
      admitted?: ReadonlySet<string>,
    ): ContactMatch[] {
      const words = normalizeForSearch(query).split(' ');
      const hits: (ContactMatch & { key: string })[] = [];
      for (const row of rows) {
        if (within !== undefined && !within.has(row.id)) continue;
        if (admitted !== undefined && !admitted.has(row.id)) continue;
        const tokens = row.tokens;
        if (!words.every((w) => tokens.some((t) => t.startsWith(w)))) continue;
        const exact = words.every((w) => tokens.includes(w));
        hits.push({ id: row.id, name: row.name, rank: exact ? 'exact' : 'prefix', key: row.key });
      }
      const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
      hits.sort(
        (a, b) =>
          Number(a.rank === 'prefix') - Number(b.rank === 'prefix') ||
          a.key.length - b.key.length ||
          cmp(a.key, b.key) ||
          cmp(a.id, b.id),
      );
      return hits.slice(0, limit).map(({ id, name, rank }) => ({ id, name, rank }));
    }

    it('agrees on random prefixes through adds, renames and removals (seeded)', () => {
      const rand = seededRandom(0x5eed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const randomName = (): string =>
        rand() < 0.3
          ? `${pick(FIRST)} ${pick(LAST)}`
          : Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
              Array.from({ length: 2 + Math.floor(rand() * 6) }, () =>
                pick([...ALPHABET, 'é', 'ø', 'ж', 'σ']),
              ).join(''),
            ).join(' ');
      const directory = new ContactDirectory();
      const rows = new Map<string, Row>();
      const put = (id: string, name: string): void => {
        // Queries have no spaces inside a word, so the whole multi-word name never decides a match.
        const tokens = searchTokens(name, id).filter((t) => !t.includes(' '));
        const key = normalizeForSearch(name);
        expect(normalizeForSearch(key)).toBe(key); // folding is idempotent
        rows.set(id, { id, name, key, tokens });
      };
      let next = 0;
      const addSome = (n: number): void => {
        for (let i = 0; i < n; i++) {
          const id = `${pick(['u', 'x.', 'q_'])}${next++}`;
          const name = randomName();
          directory.add({ id, name });
          put(id, name);
        }
      };
      const randomQuery = (): string => {
        const row = pick([...rows.values()]);
        const token = pick(row.tokens);
        const prefix = token.slice(0, 1 + Math.floor(rand() * 4));
        const r = rand();
        if (r < 0.15) return prefix.toUpperCase();
        if (r < 0.3) return `${prefix} ${pick(ALPHABET.split(''))}`;
        if (r < 0.4)
          return Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(ALPHABET.split(''))).join('');
        return prefix;
      };
      const check = (rounds: number): void => {
        const everyone = [...rows.keys()];
        const got: string[] = [];
        const want: string[] = [];
        for (let i = 0; i < rounds; i++) {
          const q = randomQuery();
          const limit = pick([1, 5, 20, 100]);
          got.push(`${q} / ${limit}\n${show(directory.search(q, { limit }))}`);
          want.push(`${q} / ${limit}\n${show(naive(rows.values(), q, limit))}`);
          const within = new Set(everyone.filter(() => rand() < pick([0.01, 0.5])));
          got.push(`${q} / ${limit} within ${within.size}\n${show(directory.search(q, { limit, within }))}`);
          want.push(`${q} / ${limit} within ${within.size}\n${show(naive(rows.values(), q, limit, within))}`);
          // `where` filters as `within` does, whether the search walks the index or the given ids.
          const admitted = new Set(everyone.filter(() => rand() < pick([0.05, 0.7])));
          const where = (id: string): boolean => admitted.has(id);
          got.push(`${q} / ${limit} where\n${show(directory.search(q, { limit, where }))}`);
          want.push(`${q} / ${limit} where\n${show(naive(rows.values(), q, limit, undefined, admitted))}`);
          got.push(`${q} / ${limit} both\n${show(directory.search(q, { limit, within, where }))}`);
          want.push(`${q} / ${limit} both\n${show(naive(rows.values(), q, limit, within, admitted))}`);
        }
        expect(got).toEqual(want);
      };

      addSome(3000); // one large batch, merged on the first search
      check(150);
      addSome(200); // a small unsorted tail beside the main run
      check(100);
      for (const id of [...rows.keys()].filter(() => rand() < 0.2)) {
        const name = randomName();
        directory.rename(id, name);
        put(id, name);
      }
      check(100);
      for (const id of [...rows.keys()].filter(() => rand() < 0.6)) {
        expect(directory.remove(id)).toBe(true);
        rows.delete(id);
      }
      addSome(300); // reuses freed slots
      check(150);
      expect(directory.size).toBe(rows.size);
    });

    it('agrees on every prefix of many tokens that share a long start', () => {
      const directory = new ContactDirectory();
      const rows: Row[] = [];
      for (let i = 0; i < 3000; i++) {
        const id = `member-${(i * 7919) % 3000}`;
        const name = `Constantinople ${i % 2 === 0 ? 'Σ' : 'Ж'}${String((i * 31) % 1000).padStart(3, '0')}`;
        directory.add({ id, name });
        const tokens = searchTokens(name, id).filter((t) => !t.includes(' '));
        rows.push({ id, name, key: normalizeForSearch(name), tokens });
      }
      const got: string[] = [];
      const want: string[] = [];
      for (const token of ['member-2718', 'constantinople', 'σ123', 'ж456', 'member-1000']) {
        for (let length = 1; length <= token.length; length++) {
          const q = token.slice(0, length);
          got.push(`${q}\n${show(directory.search(q, { limit: 100 }))}`);
          want.push(`${q}\n${show(naive(rows, q, 100))}`);
        }
      }
      expect(got).toEqual(want);
    });

    it('keeps the best first through many merges of similar names (seeded)', () => {
      const rand = seededRandom(0xab1e);
      // Names of a three-letter alphabet: long ranges, many ties on length and first letters.
      const name = (): string =>
        Array.from({ length: 1 + Math.floor(rand() * 2) }, () =>
          Array.from({ length: 2 + Math.floor(rand() * 4) }, () => 'abc'[Math.floor(rand() * 3)]).join(''),
        ).join(' ');
      const directory = new ContactDirectory();
      const rows = new Map<string, Row>();
      const put = (id: string, n: string): void => {
        const tokens = searchTokens(n, id).filter((t) => !t.includes(' '));
        rows.set(id, { id, name: n, key: normalizeForSearch(n), tokens });
      };
      let next = 0;
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < (round === 0 ? 1500 : 400); i++) {
          const id = `${'abc'[i % 3]}${next++}`;
          const n = name();
          directory.add({ id, name: n });
          put(id, n);
        }
        for (const id of [...rows.keys()].filter(() => rand() < 0.03)) {
          const n = name();
          directory.rename(id, n);
          put(id, n);
        }
        const got: string[] = [];
        const want: string[] = [];
        for (const q of ['a', 'b', 'c', 'ab', 'ca', 'abc', 'a b', 'b c']) {
          // Every limit: each is a different place for the search to stop.
          const expected = naive(rows.values(), q, 100);
          for (let limit = 1; limit <= 100; limit++) {
            got.push(`${q} / ${limit}\n${show(directory.search(q, { limit }))}`);
            want.push(`${q} / ${limit}\n${show(expected.slice(0, limit))}`);
          }
        }
        expect(got).toEqual(want);
      }
    });
  });
});
