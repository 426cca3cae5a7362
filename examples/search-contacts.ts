/**
 * Intent: find someone to message the way a chat app's search box does — type a few letters and get people whose
 * name words or handle begin with them, whatever the case and accents, exact matches first; your own contacts
 * by default, the whole directory when asked.
 *
 * Run it with `npx ts-node examples/search-contacts.ts`; its output is `search-contacts.out.txt`.
 *
 * @module
 */
import { ChatSystem } from 'chat-room';

const chat = ChatSystem.create();
for (const [id, name] of [
  ['me', 'Me'],
  ['jose.alvarez', 'José Álvarez'],
  ['mary_jones', 'Mary Jones'],
  ['jo', 'Jo'],
  ['ajoke', 'Ajoke Bello'],
  ['zoe', 'Zoë Ångström'],
  ['johann', 'Johann Strauß'],
] as const) {
  chat.registerUser({ id, name });
}
for (const id of ['jose.alvarez', 'mary_jones', 'jo', 'ajoke', 'zoe']) chat.addContact('me', id);

function search(query: string, options: { global?: boolean } = {}): void {
  const found = chat.searchContacts('me', query, options);
  const shown = found.map((m) => `${m.name} (@${m.id}${m.rank === 'exact' ? ', exact' : ''})`).join('; ');
  console.log(
    `${JSON.stringify(query).padEnd(10)}${options.global === true ? ' everyone' : ' contacts'} → ${shown || '—'}`,
  );
}

search('jo');
search('JOS');
search('alv');
search('zoe');
search('ang');
search('mary jo');
search('jones');
search('strauss');
search('strauss', { global: true });
