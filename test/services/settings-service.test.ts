import {
  NotificationCenter,
  SettingsService,
  SystemClock,
  UserDirectory,
  ValidationError,
  requireSettingsRecord,
} from 'chat-room';
import type { SystemEvents } from 'chat-room';

function service() {
  const events = new NotificationCenter();
  const users = new UserDirectory(events);
  for (const id of ['alice', 'bob', 'carol']) users.register({ id, name: id });
  const settings = new SettingsService(new SystemClock(), users, events);
  const recorded: SystemEvents['record-changed'][0][] = [];
  events.on('record-changed', (e) => recorded.push(e));
  return { users, settings, recorded };
}

describe('SettingsService: discoverable', () => {
  test('off by default; on and off again, announced for the store, and in the snapshot', () => {
    const { settings, recorded } = service();
    const alice = settings.controller('alice');
    expect([
      alice.discoverable,
      settings.discoverable('alice'),
      settings.snapshot('alice').discoverable,
    ]).toEqual([false, false, false]);
    alice.setDiscoverable(true);
    expect([alice.discoverable, settings.snapshot('alice').discoverable]).toEqual([true, true]);
    expect([...settings.discoverableUsers()]).toEqual(['alice']);
    expect(settings.record('alice')).toMatchObject({ discoverable: true });
    alice.setDiscoverable(false);
    expect([...settings.discoverableUsers()]).toEqual([]);
    expect(settings.record('alice')).not.toHaveProperty('discoverable'); // absent = false: the old shape
    expect(recorded).toEqual([
      { kind: 'settings', id: 'alice' },
      { kind: 'settings', id: 'alice' },
    ]);
  });

  test('a refused change changes nothing', () => {
    const { settings, recorded } = service();
    expect(() => settings.controller('alice').setDiscoverable('yes' as never)).toThrow(ValidationError);
    expect(settings.discoverable('alice')).toBe(false);
    expect(recorded).toEqual([]);
  });

  test('restores from a record, old or new', () => {
    const { settings } = service();
    const base = { readReceipts: true, previews: true, lastSeen: 'everyone' as const, mutes: [] };
    settings.restore(requireSettingsRecord({ ...base, userId: 'alice', discoverable: true }));
    settings.restore(requireSettingsRecord({ ...base, userId: 'bob' }));
    expect([settings.discoverable('alice'), settings.discoverable('bob')]).toEqual([true, false]);
    expect([...settings.discoverableUsers()]).toEqual(['alice']);
  });
});

describe('SettingsService: blockedBetween', () => {
  test('either way, and for unknown users nothing', () => {
    const { users, settings } = service();
    users.block('alice', 'bob');
    expect(settings.blockedBetween('alice', 'bob')).toBe(true);
    expect(settings.blockedBetween('bob', 'alice')).toBe(true);
    expect(settings.blockedBetween('alice', 'carol')).toBe(false);
    expect(settings.blockedBetween('nobody', 'alice')).toBe(false);
  });
});
