/**
 * Benchmarks `ContactDirectory.search` against a linear scan over 1 000 000 directory entries. Names come from
 * seeded first and last name lists (with accents) and seeded syllables; handles are built from the names. The
 * queries are what people type: 1–4 letter prefixes of a word of someone's name or handle, sometimes in capitals
 * or with accents, and a few two-word queries ("mary jo").
 *
 * The linear scan is the strongest naive contender: every user's tokens are folded once up front, then each query
 * walks all users, keeps those whose tokens begin with every query word, and keeps the best 20 in the same order
 * (no full sort). Its cost hardly depends on the query, so it runs a systematic sample of them; the index runs
 * them all. Both must return the same ranked matches on the sample. Absolute numbers depend on the machine; the
 * ratio is the figure to watch. Run with `npm run bench:search` (or
 * `npx ts-node bench/contact-search.bench.ts`).
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ContactMatch } from 'chat-room';
import { ContactDirectory, normalizeForSearch, searchTokens, seededRandom } from 'chat-room';

const USERS = 1_000_000;
const QUERIES = 2_000;
const LIMIT = 20;
/** The scan answers every this-many-th query (it takes about 0.1 s each); both sides must answer it the same. */
const SAMPLE_EVERY = 40;
const INDEX_MS = 3_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const rand = seededRandom(0xc0ffee);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const FIRST = [
  'José',
  'María',
  'Mary',
  'Jo',
  'John',
  'Joan',
  'Zoë',
  'Łukasz',
  'Søren',
  'Björn',
  'Chloé',
  'Ömer',
  'Anaïs',
  'Žofie',
  'Ana',
  'Ahmed',
  'Aïcha',
  'Chen',
  'Wei',
  'Priya',
  'Olúwaseun',
  'Ajoke',
  'Ngozi',
  'Kwame',
  'Dmitri',
  'Yusuf',
  'Elif',
  'Mateo',
  'Lucía',
  'François',
  'Hélène',
  'Jürgen',
  'Ingrid',
  'Åsa',
  'Siobhán',
  'Seán',
  'Tomás',
  'Nuño',
  'Kenji',
  'Yuki',
  'Sofía',
  'Emma',
  'Liam',
  'Noah',
  'Olivia',
  'Ava',
  'Ethan',
  'Mia',
  'Lucas',
];
const LAST = [
  'Álvarez',
  'Jones',
  'Smith',
  'Straße',
  'Æbelø',
  'Đoković',
  'Núñez',
  "O'Brien",
  'García',
  'Müller',
  'Nguyễn',
  'Kowalski',
  'Ødegaard',
  'Ibáñez',
  'Çelik',
  'Yılmaz',
  'Dubois',
  'Lefèvre',
  'Rossi',
  'Bianchi',
  'Kim',
  'Lee',
  'Wang',
  'Zhang',
  'Okafor',
  'Adébáyọ̀',
  'Mensah',
  'Petrov',
  'Ivanova',
  'Novák',
  'Horváth',
  'Schäfer',
  'Weiß',
  'Jansen',
  'de Vries',
  'Johansson',
  'Łęcki',
  'Håkansson',
  'Fernández',
  'Pérez',
  'Silva',
  'Santos',
  'Costa',
  'Tanaka',
  'Suzuki',
  'Patel',
  'Sharma',
  'Khan',
  'Brown',
  'Taylor',
  'Wilson',
  'Moore',
  'Martin',
  'Lambert',
];
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'ne',
  'so',
  'ta',
  'vi',
  'jo',
  'an',
  'el',
  'or',
  'ba',
  'de',
  'fi',
  'gu',
  'ha',
  'is',
  'ju',
  'ke',
  'lé',
  'mo',
  'nu',
  'pa',
  'qui',
  'ri',
  'sé',
  'to',
  'ul',
  'vé',
  'wa',
  'xo',
  'ya',
  'zé',
  'ña',
  'ço',
  'ró',
  'sæ',
  'lø',
  'ðe',
  'tr',
  'st',
  'br',
  'ch',
  'sh',
  'th',
];

/** A made-up word of 2–4 seeded syllables, capitalised. */
function madeUp(): string {
  const word = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => pick(SYLLABLES)).join('');
  return word[0]!.toUpperCase() + word.slice(1);
}

/** A handle built from a name, the way people pick them, made unique with the row number. */
function handleFor(first: string, last: string, i: number): string {
  const plain = (s: string): string => normalizeForSearch(s).replace(/[^a-z0-9]/g, '');
  const f = plain(first) || 'user';
  const l = plain(last) || 'x';
  const n = i.toString(36);
  switch (Math.floor(rand() * 4)) {
    case 0:
      return `${f}.${l}${n}`;
    case 1:
      return `${f}${l[0]}_${n}`;
    case 2:
      return `${f}-${n}`;
    default:
      return `${l}${f[0]}${n}`;
  }
}

interface Entry {
  readonly id: string;
  readonly name: string;
}

function generate(): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < USERS; i++) {
    const first = rand() < 0.6 ? pick(FIRST) : madeUp();
    const last = rand() < 0.5 ? pick(LAST) : madeUp();
    const name = rand() < 0.1 ? first : rand() < 0.1 ? `${first} ${madeUp()} ${last}` : `${first} ${last}`;
    entries.push({ id: handleFor(first, last, i), name });
  }
  return entries;
}

/** Queries people type: prefixes of a word of someone's name (as written, or folded) or handle. */
function makeQueries(entries: readonly Entry[]): string[] {
  const queries: string[] = [];
  while (queries.length < QUERIES) {
    const entry = pick(entries);
    const words = entry.name.split(' ');
    const length = 1 + Math.floor(rand() * 4);
    const r = rand();
    if (r < 0.1 && words.length > 1) {
      queries.push(`${words[0]} ${words[words.length - 1]!.slice(0, length)}`); // "mary jo"
    } else if (r < 0.2) {
      queries.push(entry.id.slice(0, length));
    } else {
      const word = pick(words);
      const prefix = [...word].slice(0, length).join(''); // as written: capitals and accents
      queries.push(r < 0.6 ? prefix : normalizeForSearch(prefix));
    }
  }
  return queries;
}

/** The linear scan: tokens folded once up front, then a pass over every user per query. */
class LinearScan {
  readonly #ids: string[] = [];
  readonly #names: string[] = [];
  readonly #keys: string[] = [];
  readonly #tokens: string[][] = [];

  constructor(entries: readonly Entry[]) {
    for (const { id, name } of entries) {
      this.#ids.push(id);
      this.#names.push(name);
      this.#keys.push(normalizeForSearch(name));
      this.#tokens.push(searchTokens(name, id).filter((t) => !t.includes(' ')));
    }
  }

  search(query: string, limit: number): ContactMatch[] {
    const words = [...new Set(normalizeForSearch(query).split(' '))];
    const best: { i: number; exact: boolean }[] = [];
    const better = (a: { i: number; exact: boolean }, b: { i: number; exact: boolean }): boolean => {
      if (a.exact !== b.exact) return a.exact;
      const x = this.#keys[a.i]!;
      const y = this.#keys[b.i]!;
      if (x.length !== y.length) return x.length < y.length;
      if (x !== y) return x < y;
      return this.#ids[a.i]! < this.#ids[b.i]!;
    };
    for (let i = 0; i < this.#tokens.length; i++) {
      const tokens = this.#tokens[i]!;
      let exact = true;
      let all = true;
      for (const w of words) {
        const some = tokens.some((t) => t.startsWith(w));
        if (!some) {
          all = false;
          break;
        }
        if (!tokens.includes(w)) exact = false;
      }
      if (!all) continue;
      const hit = { i, exact };
      if (best.length === limit && !better(hit, best[limit - 1]!)) continue;
      let at = best.length;
      while (at > 0 && better(hit, best[at - 1]!)) at--;
      best.splice(at, 0, hit);
      if (best.length > limit) best.pop();
    }
    return best.map(({ i, exact }) => ({
      id: this.#ids[i]!,
      name: this.#names[i]!,
      rank: exact ? ('exact' as const) : ('prefix' as const),
    }));
  }
}

const heapMiB = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Runs the queries in order, round after round, for about `ms`; returns queries per second. */
function time(search: (q: string) => ContactMatch[], queries: readonly string[], ms: number): number {
  let ran = 0;
  let sink = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    sink += search(queries[ran % queries.length]!).length;
    ran++;
    elapsed = performance.now() - start;
  }
  if (sink < 0) console.log(sink); // keeps the work observable
  return (ran / elapsed) * 1000;
}

function main(): void {
  let t = performance.now();
  const entries = generate();
  const queries = makeQueries(entries);
  console.log(`generated ${fmt(USERS)} entries in ${fmt((performance.now() - t) / 1000, 1)} s`);
  const heapBefore = heapMiB();

  t = performance.now();
  const directory = new ContactDirectory();
  for (const entry of entries) directory.add(entry);
  const addMs = performance.now() - t;
  t = performance.now();
  directory.flush(); // sorts the batch into the index (the first search would do it otherwise)
  const mergeMs = performance.now() - t;
  const indexMiB = heapMiB() - heapBefore;
  console.log(
    `ContactDirectory: ${fmt(USERS)} × add() ${fmt(addMs / 1000, 1)} s, flush() (sort + merge) ` +
      `${fmt(mergeMs / 1000, 1)} s, heap ${fmt(indexMiB)} MiB (ids and names shared with the input)`,
  );

  t = performance.now();
  const scan = new LinearScan(entries);
  const scanMiB = heapMiB() - heapBefore - indexMiB;
  console.log(
    `linear scan: tokens folded up front in ${fmt((performance.now() - t) / 1000, 1)} s, heap ${fmt(scanMiB)} MiB`,
  );

  // The scan costs about the same for every query (it visits every user), so a systematic sample of the queries
  // gives its rate; the index, whose cost depends on the query, runs them all. Both answers are compared.
  const sample = queries.filter((_, i) => i % SAMPLE_EVERY === 0);
  t = performance.now();
  const scanned = sample.map((q) => scan.search(q, LIMIT));
  const scanQps = (sample.length / (performance.now() - t)) * 1000;
  sample.forEach((q, i) => {
    if (JSON.stringify(directory.search(q, { limit: LIMIT })) !== JSON.stringify(scanned[i])) {
      throw new Error(`the index and the scan disagree on "${q}"`);
    }
  });
  console.log(`both sides return the same ranked matches for all ${sample.length} sampled queries\n`);
  const indexQps = time((q) => directory.search(q, { limit: LIMIT }), queries, INDEX_MS);

  const row = (label: string, value: string): void => console.log(`${label.padEnd(50)}${value.padStart(14)}`);
  console.log(`n = ${fmt(USERS)} entries; limit ${LIMIT}; ${fmt(QUERIES)} seeded queries`);
  row('contender', 'queries/sec');
  row(`ContactDirectory.search (all ${fmt(QUERIES)} queries)`, fmt(indexQps));
  row(`linear scan (every ${SAMPLE_EVERY}th query: ${sample.length})`, fmt(scanQps, 1));
  row('ratio (ContactDirectory / linear scan)', `${fmt(indexQps / scanQps)}x`);

  // Where the index spends its time: two-word queries whose words are each common but rare together.
  console.log('\nContactDirectory by query shape (folded):');
  const shapes = new Map<string, string[]>();
  for (const q of queries) {
    const words = normalizeForSearch(q).split(' ');
    const shape =
      words.length > 1
        ? 'two words'
        : `${Math.min(words[0]!.length, 4)}${words[0]!.length >= 4 ? '+' : ''} letters`;
    shapes.set(shape, [...(shapes.get(shape) ?? []), q]);
  }
  for (const [shape, qs] of [...shapes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const qps = time((q) => directory.search(q, { limit: LIMIT }), qs, 500);
    console.log(`  ${shape.padEnd(10)} ${fmt(qs.length).padStart(5)} queries ${fmt(qps).padStart(10)} q/s`);
  }

  // What a chat app does most: search one user's contacts.
  const contacts = new Set(Array.from({ length: 500 }, () => pick(entries).id));
  const withinQps = time((q) => directory.search(q, { limit: LIMIT, within: contacts }), queries, 1_000);
  console.log(`\nContactDirectory.search within 500 contacts (all queries): ${fmt(withinQps)} queries/sec`);
}

main();
