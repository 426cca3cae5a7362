import { ChatSystem, ManualClock, NotFoundError, RateLimitError, ValidationError } from 'chat-room';
import type { ChatSystemDeps } from 'chat-room';

function makeChat(deps: ChatSystemDeps = {}) {
  const chat = ChatSystem.create(deps);
  for (const [id, name] of [
    ['me', 'Me Myself'],
    ['jose', 'José Álvarez'],
    ['maryj', 'Mary Jones'],
    ['jo', 'Jo'],
    ['ajoke', 'Ajoke Bello'],
    ['john', 'John Smith'],
  ] as const) {
    chat.registerUser({ id, name });
  }
  for (const id of ['jose', 'maryj', 'jo', 'ajoke']) chat.addContact('me', id);
  return chat;
}

describe('searching contacts to start a chat', () => {
  test('"jo" finds name words and handles, accent- and case-insensitive, exact matches first', () => {
    const chat = makeChat();
    const found = chat.searchContacts('me', 'jo');
    expect(found[0]).toMatchObject({ id: 'jo', rank: 'exact' });
    expect(found.map((m) => m.id).sort()).toEqual(['jo', 'jose', 'maryj']);
    expect(chat.searchContacts('me', 'ÁLV').map((m) => m.id)).toEqual(['jose']);
    expect(chat.searchContacts('me', 'alv').map((m) => m.id)).toEqual(['jose']);
  });

  test('only the user’s own contacts, unless the global directory is asked for', () => {
    const chat = makeChat();
    chat.settings('john').setDiscoverable(true);
    expect(chat.searchContacts('me', 'john')).toEqual([]);
    expect(chat.searchContacts('me', 'john', { global: true }).map((m) => m.id)).toEqual(['john']);
  });

  test('results are limited', () => {
    const chat = makeChat();
    expect(chat.searchContacts('me', 'jo', { limit: 1 })).toHaveLength(1);
  });

  test('bad input gets a typed error', () => {
    const chat = makeChat();
    expect(() => chat.searchContacts('me', '   ')).toThrow(ValidationError);
    expect(() => chat.searchContacts('me', 'jo', { limit: 0 })).toThrow(ValidationError);
    expect(() => chat.searchContacts('nobody', 'jo')).toThrow(NotFoundError);
  });
});

describe('global search: only the discoverable, a few at a time', () => {
  test('finds no one until they opt in; never the searcher, nor someone who blocked them', () => {
    const chat = makeChat();
    expect(chat.settings('john').discoverable).toBe(false);
    expect(chat.searchContacts('me', 'smith', { global: true })).toEqual([]);
    chat.settings('john').setDiscoverable(true);
    chat.settings('me').setDiscoverable(true);
    expect(chat.searchContacts('me', 'smith', { global: true }).map((m) => m.id)).toEqual(['john']);
    expect(chat.searchContacts('me', 'myself', { global: true })).toEqual([]);
    expect(chat.searchContacts('john', 'myself', { global: true }).map((m) => m.id)).toEqual(['me']);
    chat.block('john', 'me');
    expect(chat.searchContacts('me', 'smith', { global: true })).toEqual([]);
    // Whom one blocked stays findable (to unblock them); who blocked one does not.
    expect(chat.searchContacts('john', 'myself', { global: true }).map((m) => m.id)).toEqual(['me']);
  });

  test('refuses short queries and bad options with the field at fault, spending nothing', () => {
    const chat = makeChat({ clock: new ManualClock(0), globalSearch: { searches: 1 } });
    chat.settings('john').setDiscoverable(true);
    for (const query of ['jo', 'j o h', '  ', 42 as never]) {
      expect(() => chat.searchContacts('me', query, { global: true })).toThrow(ValidationError);
    }
    expect(() => chat.searchContacts('me', 'jo', { global: true })).toThrow(
      expect.objectContaining({ details: { field: 'query', min: 3 } }),
    );
    expect(() => chat.searchContacts('me', 'john', { global: 'yes' as never })).toThrow(ValidationError);
    expect(() => chat.searchContacts('me', 'john', { global: true, limit: 0 })).toThrow(ValidationError);
    expect(() => chat.searchContacts('nobody', 'john', { global: true })).toThrow(NotFoundError);
    // The one search the budget holds is still there.
    expect(chat.searchContacts('me', 'john', { global: true }).map((m) => m.id)).toEqual(['john']);
    expect(() => chat.searchContacts('me', 'john', { global: true })).toThrow(RateLimitError);
  });

  test('a budget per user, on the injected clock, with retryAfterMs', () => {
    const clock = new ManualClock(0);
    const chat = makeChat({ clock });
    chat.settings('john').setDiscoverable(true);
    for (let i = 0; i < 30; i++) chat.searchContacts('me', 'john', { global: true });
    let refused: unknown;
    try {
      chat.searchContacts('me', 'john', { global: true });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(RateLimitError);
    expect(refused).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 2_000,
      details: { retryAfterMs: 2_000 },
    });
    // Another user has a budget of their own; contacts search has none.
    expect(chat.searchContacts('jose', 'john', { global: true })).toHaveLength(1);
    expect(chat.searchContacts('me', 'jo')).toHaveLength(3);
    clock.advance(2_000);
    expect(chat.searchContacts('me', 'john', { global: true })).toHaveLength(1);
  });

  test('its limits are checked when the system is made', () => {
    expect(() => ChatSystem.create({ globalSearch: { searches: 0 } })).toThrow(ValidationError);
    expect(() => ChatSystem.create({ globalSearch: { maxResults: 1.5 } })).toThrow(ValidationError);
  });
});
