import { MAX_NAME_LENGTH, User, ValidationError } from 'chat-room';

/** Everything observable about a user, to check that a refused call changed nothing. */
function state(user: User): unknown {
  return { profile: user.toJSON(), contacts: user.contacts, blocked: user.blocked };
}

describe('User', () => {
  describe('creation', () => {
    it('keeps the id and the trimmed display name', () => {
      const alice = new User({ id: 'alice', name: '  Alice Liddell ' });
      expect(alice.id).toBe('alice');
      expect(alice.name).toBe('Alice Liddell');
      expect(alice.toJSON()).toEqual({ id: 'alice', name: 'Alice Liddell' });
      expect(alice.contacts).toEqual([]);
      expect(alice.blocked).toEqual([]);
    });

    it.each([
      ['an empty id', { id: '', name: 'A' }],
      ['an id with a space', { id: 'al ice', name: 'A' }],
      ['an id starting with a dash', { id: '-alice', name: 'A' }],
      ['an id of 129 characters', { id: 'a'.repeat(129), name: 'A' }],
      ['a blank name', { id: 'alice', name: '   ' }],
      ['a name over the limit', { id: 'alice', name: 'x'.repeat(MAX_NAME_LENGTH + 1) }],
    ])('refuses %s', (_label, profile) => {
      expect(() => new User(profile)).toThrow(ValidationError);
    });

    it('accepts the longest id and name', () => {
      const u = new User({ id: 'a'.repeat(128), name: 'x'.repeat(MAX_NAME_LENGTH) });
      expect(u.name).toHaveLength(MAX_NAME_LENGTH);
    });

    it('refuses something that is not a profile', () => {
      expect(() => new User(null as never)).toThrow(ValidationError);
    });
  });

  describe('contacts', () => {
    it('adds contacts in order; adding one twice changes nothing', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      expect(alice.addContact('bob')).toBe(true);
      expect(alice.addContact('carol')).toBe(true);
      expect(alice.addContact('bob')).toBe(false);
      expect(alice.contacts).toEqual(['bob', 'carol']);
      expect(alice.hasContact('bob')).toBe(true);
      expect(alice.hasContact('dave')).toBe(false);
    });

    it('removes a contact, and says whether it was one', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      alice.addContact('bob');
      expect(alice.removeContact('bob')).toBe(true);
      expect(alice.removeContact('bob')).toBe(false);
      expect(alice.hasContact('bob')).toBe(false);
      expect(alice.contacts).toEqual([]);
    });

    it('refuses the user as their own contact and changes nothing', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      alice.addContact('bob');
      const before = state(alice);
      expect(() => alice.addContact('alice')).toThrow(ValidationError);
      expect(state(alice)).toEqual(before);
    });

    it('refuses a malformed contact id and changes nothing', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      const before = state(alice);
      expect(() => alice.addContact('not an id')).toThrow(ValidationError);
      expect(state(alice)).toEqual(before);
    });

    it('hands out a copy of the contact list', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      alice.addContact('bob');
      (alice.contacts as string[]).push('mallory');
      expect(alice.contacts).toEqual(['bob']);
      expect(alice.hasContact('mallory')).toBe(false);
    });
  });

  describe('blocking', () => {
    it('blocks and unblocks, each saying whether it changed anything', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      expect(alice.block('mallory')).toBe(true);
      expect(alice.block('mallory')).toBe(false);
      expect(alice.hasBlocked('mallory')).toBe(true);
      expect(alice.blocked).toEqual(['mallory']);
      expect(alice.unblock('mallory')).toBe(true);
      expect(alice.unblock('mallory')).toBe(false);
      expect(alice.hasBlocked('mallory')).toBe(false);
    });

    it('is separate from contacts: blocking a contact keeps the contact', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      alice.addContact('bob');
      alice.block('bob');
      expect(alice.hasContact('bob')).toBe(true);
      expect(alice.hasBlocked('bob')).toBe(true);
    });

    it('refuses to block oneself and changes nothing', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      alice.block('mallory');
      const before = state(alice);
      expect(() => alice.block('alice')).toThrow(ValidationError);
      expect(state(alice)).toEqual(before);
      expect(alice.hasBlocked('alice')).toBe(false);
    });

    it('hands out a copy of the blocked list', () => {
      const alice = new User({ id: 'alice', name: 'Alice' });
      alice.block('mallory');
      (alice.blocked as string[]).length = 0;
      expect(alice.hasBlocked('mallory')).toBe(true);
    });
  });
});
