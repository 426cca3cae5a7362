/**
 * Search keys: the text folding and the tokens that make contact search case- and accent-insensitive.
 *
 * @module
 */

/** Letters that Unicode decomposition leaves alone but a reader expects to match their plain spelling. */
const FOLDS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
  ħ: 'h',
  ŧ: 't',
  ŋ: 'n',
  ς: 'σ',
  '\u2018': "'",
  '\u2019': "'",
  '\u02bc': "'",
};
const FOLD_PATTERN = new RegExp(`[${Object.keys(FOLDS).join('')}]`, 'gu');
/** Printable ASCII with no run of spaces: the common case, which needs no Unicode work. */
const PLAIN_ASCII = /^[\x20-\x7e]*$/;
/** Accents (nonspacing and enclosing marks) and invisible format characters (zero-width joiners, bidi marks). */
const IGNORED = /[\p{Mn}\p{Me}\p{Cf}]+/gu;
/** Characters that split a name word into parts: anything but letters, digits and the marks that spell them. */
const WORD_PUNCTUATION = /[^\p{L}\p{N}\p{M}]+/u;
/** The separators of a handle's parts. */
const HANDLE_SEPARATORS = /[._\-@:]+/;

/**
 * Folds a text for search: compatibility-decomposed (NFKD), lower-cased, accents removed, letters such as ß, ø,
 * æ, ł and đ spelled plainly, whitespace collapsed to single spaces and trimmed.
 *
 * NFKD rather than NFD so that ligatures (ﬁ), full-width letters (Ｊ) and the like also fold to what they look like.
 *
 * @param text - any text: a name, a handle, a query
 * @example
 * ```ts
 * import { normalizeForSearch } from 'chat-room'
 * normalizeForSearch('  José   ÁLVAREZ ') // 'jose alvarez'
 * normalizeForSearch('Straße Øresund') // 'strasse oresund'
 * ```
 */
export function normalizeForSearch(text: string): string {
  if (PLAIN_ASCII.test(text)) return text.toLowerCase().replace(/ {2,}/g, ' ').trim();
  return text
    .normalize('NFKD')
    .toLowerCase() // after NFKD: some compatibility characters decompose to capitals (Ⅻ → XII)
    .replace(IGNORED, '') // after lower-casing: İ lower-cases to i plus a combining dot
    .replace(FOLD_PATTERN, (c) => FOLDS[c] ?? c)
    .replace(/\s+/gu, ' ')
    .trim();
}

/**
 * The normalized tokens a user is found by, without duplicates: each word of the name (and, for a word with
 * punctuation such as `o'brien` or `jean-luc`, its parts and the parts run together), the whole name when it has
 * several words, the handle, and the handle's parts split on `. _ - @ :`.
 *
 * @param name - the display name
 * @param handle - the user's id
 * @example
 * ```ts
 * import { searchTokens } from 'chat-room'
 * searchTokens('José Álvarez', 'jose.alvarez_7')
 * // ['jose', 'alvarez', 'jose alvarez', 'jose.alvarez_7', '7'] (the handle's parts jose and alvarez are already in)
 * ```
 */
export function searchTokens(name: string, handle: string): string[] {
  const tokens = new Set<string>();
  const whole = normalizeForSearch(name);
  for (const word of whole.split(' ')) {
    if (word === '') continue;
    tokens.add(word);
    if (WORD_PUNCTUATION.test(word)) {
      const parts = word.split(WORD_PUNCTUATION).filter((part) => part !== '');
      for (const part of parts) tokens.add(part);
      if (parts.length > 0) tokens.add(parts.join(''));
    }
  }
  if (whole.includes(' ')) tokens.add(whole);
  const key = normalizeForSearch(handle);
  if (key !== '') {
    tokens.add(key);
    for (const part of key.split(HANDLE_SEPARATORS)) if (part !== '') tokens.add(part);
  }
  return [...tokens];
}
