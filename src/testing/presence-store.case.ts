/// <reference types="jest" />
/**
 * The conformance suite of the `PresenceStore` port: every presence store (in-memory, Redis, a third party's)
 * runs it. The store must measure expiry on the clock it is given, so the suite can move time by hand.
 *
 * @module
 */
import type { PresenceRecord } from '../domain';
import type { PresenceStore } from '../ports';
import { ManualClock } from '../adapters/in-memory';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

function record(userId: string, status: PresenceRecord['status'], at = T0): PresenceRecord {
  return { userId, status, lastActiveAt: at, lastSeenAt: at };
}

/**
 * Registers the `PresenceStore` conformance tests for one adapter.
 *
 * @param name - the adapter's name, shown in the test titles
 * @param make - makes a fresh, empty store on the given clock, with an optional `close`
 */
export function presenceStoreSuite(
  name: string,
  make: (clock: ManualClock) => Promise<{ store: PresenceStore; close?: () => Promise<void> }>,
): void {
  describe(`PresenceStore conformance: ${name}`, () => {
    let clock: ManualClock;
    let store: PresenceStore;
    let close: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      clock = new ManualClock(T0);
      ({ store, close } = await make(clock));
    });
    afterEach(async () => {
      await close?.();
    });

    test('a user never seen has no record', async () => {
      expect(await store.get('nobody')).toBeUndefined();
      expect((await store.getMany(['nobody'])).size).toBe(0);
    });

    test('a record reads back as written, alone and in bulk', async () => {
      await store.set(record('bob', 'online'), 90_000);
      await store.set({ ...record('carol', 'idle'), idleMinutes: 5 }, 90_000);
      expect(await store.get('bob')).toEqual(record('bob', 'online'));
      const many = await store.getMany(['bob', 'carol', 'nobody']);
      expect([...many.keys()].sort()).toEqual(['bob', 'carol']);
      expect(many.get('carol')).toEqual({ ...record('carol', 'idle'), idleMinutes: 5 });
    });

    test('a later write replaces the record', async () => {
      await store.set(record('bob', 'online'), 90_000);
      await store.set(record('bob', 'away', T0 + 5), 90_000);
      expect(await store.get('bob')).toEqual(record('bob', 'away', T0 + 5));
    });

    test('past its expiry a record reads as offline, last seen at its last write', async () => {
      await store.set(record('bob', 'online'), 90_000);
      clock.advance(90_001);
      expect(await store.get('bob')).toEqual({
        userId: 'bob',
        status: 'offline',
        lastActiveAt: T0,
        lastSeenAt: T0,
      });
      expect((await store.getMany(['bob'])).get('bob')?.status).toBe('offline');
    });

    test('a heartbeat keeps a record fresh and moves its last-seen time', async () => {
      await store.set(record('bob', 'online'), 90_000);
      clock.advance(60_000);
      expect(await store.heartbeat('bob', 90_000)).toBe(true);
      clock.advance(60_000);
      expect((await store.get('bob'))?.status).toBe('online');
      clock.advance(30_001);
      expect(await store.get('bob')).toMatchObject({ status: 'offline', lastSeenAt: T0 + 60_000 });
    });

    test('a heartbeat for an expired or unknown record says so and revives nothing', async () => {
      expect(await store.heartbeat('nobody', 90_000)).toBe(false);
      await store.set(record('bob', 'online'), 1_000);
      clock.advance(1_001);
      expect(await store.heartbeat('bob', 90_000)).toBe(false);
      expect((await store.get('bob'))?.status).toBe('offline');
    });

    test('an offline record, or a TTL of 0, never expires', async () => {
      await store.set(record('bob', 'offline'), 0);
      await store.set(record('carol', 'online'), 0);
      clock.advance(365 * 24 * 3_600_000);
      expect((await store.get('bob'))?.status).toBe('offline');
      expect((await store.get('carol'))?.status).toBe('online');
    });

    test('changing the object written, or one read back, changes nothing stored', async () => {
      const written = { ...record('bob', 'online') };
      await store.set(written, 90_000);
      (written as { status: string }).status = 'away';
      const read = await store.get('bob');
      try {
        (read as { status: string }).status = 'idle';
      } catch {
        // frozen: fine
      }
      expect((await store.get('bob'))?.status).toBe('online');
    });
  });
}
