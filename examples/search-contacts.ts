/**
 * Intent: find someone to message the way a chat app's search box does — type a few letters and get people whose
 * name words or handle begin with them, whatever the case and accents, exact matches first; your own contacts
 * by default, and with `global` the people who chose to be found (a word of 3 letters or more, 20 at most).
 *
 * Run it with `npx ts-node examples/search-contacts.ts`; its output is `search-contacts.out.txt`.
 *
 * @module
 */
import { ChatRoomError, ChatSystem } from 'chat-room';

const chat = ChatSystem.create();
for (const [id, name] of [
  ['me', 'Me'],
  ['jose.alvarez', 'José Álvarez'],
  ['mary_jones', 'Mary Jones'],
  ['jo', 'Jo'],
  ['ajoke', 'Ajoke Bello'],
  ['zoe', 'Zoë Ångström'],
  ['johann', 'Johann Strauß'],
  ['richard', 'Richard Strauss'],
] as const) {
  chat.registerUser({ id, name });
}
for (const id of ['jose.alvarez', 'mary_jones', 'jo', 'ajoke', 'zoe']) chat.addContact('me', id);

function search(query: string, options: { global?: boolean } = {}): void {
  const where = `${JSON.stringify(query).padEnd(10)}${options.global === true ? ' everyone' : ' contacts'}`;
  try {
    const found = chat.searchContacts('me', query, options);
    const shown = found.map((m) => `${m.name} (@${m.id}${m.rank === 'exact' ? ', exact' : ''})`).join('; ');
    console.log(`${where} → ${shown || '—'}`);
  } catch (error) {
    if (!ChatRoomError.is(error)) throw error;
    console.log(`${where} → refused (${error.code}: ${error.message})`);
  }
}

search('jo');
search('JOS');
search('alv');
search('zoe');
search('ang');
search('mary jo');
search('jones');
search('strauss');
// Nobody outside one's contacts is found until they choose to be.
search('strauss', { global: true });
chat.settings('johann').setDiscoverable(true);
console.log('— johann lets people find him (discoverable); richard does not —');
search('strauss', { global: true });
search('jo', { global: true });
