import { ChatSystem, NotFoundError, ValidationError } from 'chat-room';

function makeChat() {
  const chat = ChatSystem.create();
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
