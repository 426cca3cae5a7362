/**
 * Copy-on-write lists for small per-user collections (a user's sessions): replaced, never changed, so each is
 * exactly as long as it needs to be. A `Set`, or an array pushed to, reserves room that an idle connection pays
 * for (~150 bytes for an empty Set; 17 slots for a pushed-to array).
 *
 * @module
 */

/**
 * A copy of a list with one more item at the end.
 *
 * @param list - the list
 * @param item - the item to add
 */
export function withAdded<T>(list: readonly T[], item: T): readonly T[] {
  return list.concat([item]);
}

/**
 * A copy of a list without an item (the list itself when the item is not in it).
 *
 * @param list - the list
 * @param item - the item to drop
 */
export function without<T>(list: readonly T[], item: T): readonly T[] {
  const i = list.indexOf(item);
  return i < 0 ? list : list.slice(0, i).concat(list.slice(i + 1));
}
