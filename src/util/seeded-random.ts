/**
 * A small, fast seeded random generator (mulberry32): the same seed gives the same sequence, so a simulation, a
 * randomized test or a fault schedule (`InMemoryTransport`'s `faults.random`) can be replayed exactly.
 *
 * @param seed - any 32-bit integer
 * @returns a function giving numbers in [0, 1)
 *
 * @example
 * ```ts
 * import { seededRandom } from 'chat-room'
 * const random = seededRandom(42)
 * random() // the same first number on every run
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
