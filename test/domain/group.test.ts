import type { ChatRoomError } from 'chat-room';
import {
  ConflictError,
  DEFAULT_GROUP_SIZE_LIMIT,
  Group,
  NotFoundError,
  PermissionError,
  ValidationError,
} from 'chat-room';

type ErrorClass = new (...args: never[]) => ChatRoomError;

/** alice owns it; bob, carol and dave are members, in that join order. */
function trip(): Group {
  return new Group({ id: 'g1', name: 'Trip', ownerId: 'alice', memberIds: ['bob', 'carol', 'dave'] });
}

/** Asserts that a call is refused with the given error and leaves the group exactly as it was. */
function expectRefused(group: Group, call: () => unknown, error: ErrorClass): void {
  const before = group.toJSON();
  const size = group.size;
  expect(call).toThrow(error);
  expect(group.toJSON()).toEqual(before);
  expect(group.size).toBe(size);
}

const others = (n: number, prefix = 'u'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('Group', () => {
  describe('creation', () => {
    it('makes the creator owner and admin, and lists members in join order', () => {
      const g = trip();
      expect(g.ownerId).toBe('alice');
      expect(g.adminIds).toEqual(['alice']);
      expect(g.memberIds).toEqual(['alice', 'bob', 'carol', 'dave']);
      expect(g.size).toBe(4);
      expect(g.name).toBe('Trip');
      expect(g.isMember('bob')).toBe(true);
      expect(g.isAdmin('bob')).toBe(false);
      expect(g.isMember('mallory')).toBe(false);
    });

    it('accepts the owner listed among the members once', () => {
      const g = new Group({ id: 'g1', name: 'Trip', ownerId: 'alice', memberIds: ['alice', 'bob'] });
      expect(g.memberIds).toEqual(['alice', 'bob']);
    });

    it('a group of one is just its owner', () => {
      const g = new Group({ id: 'g1', name: 'Notes', ownerId: 'alice' });
      expect(g.memberIds).toEqual(['alice']);
      expect(g.toJSON()).toEqual({
        id: 'g1',
        name: 'Notes',
        ownerId: 'alice',
        adminIds: ['alice'],
        memberIds: ['alice'],
      });
    });

    it.each([
      ['a member listed twice', { memberIds: ['bob', 'bob'] }],
      ['a malformed member id', { memberIds: ['bob', 'no spaces'] }],
      ['a blank name', { name: '  ' }],
      ['a malformed owner id', { ownerId: '' }],
      ['a malformed group id', { id: 'g 1' }],
      ['a size limit of 0', { sizeLimit: 0 }],
      ['a fractional size limit', { sizeLimit: 2.5 }],
    ])('refuses %s', (_label, patch) => {
      expect(() => new Group({ id: 'g1', name: 'Trip', ownerId: 'alice', ...patch })).toThrow(
        ValidationError,
      );
    });
  });

  describe('size limit', () => {
    it('is 1024 members by default, owner included', () => {
      expect(DEFAULT_GROUP_SIZE_LIMIT).toBe(1024);
      const full = new Group({ id: 'g1', name: 'Big', ownerId: 'alice', memberIds: others(1023) });
      expect(full.sizeLimit).toBe(1024);
      expect(full.size).toBe(1024);
      expectRefused(full, () => full.add('alice', ['one-too-many']), ValidationError);
    });

    it('refuses to create a default group of 1025', () => {
      expect(() => new Group({ id: 'g1', name: 'Big', ownerId: 'alice', memberIds: others(1024) })).toThrow(
        ValidationError,
      );
    });

    it('can be set per group', () => {
      const g = new Group({ id: 'g1', name: 'Small', ownerId: 'alice', memberIds: ['bob'], sizeLimit: 3 });
      expect(g.sizeLimit).toBe(3);
      g.add('alice', ['carol']);
      expect(g.size).toBe(3);
      expectRefused(g, () => g.add('alice', ['dave']), ValidationError);
      expect(
        () => new Group({ id: 'g2', name: 'Small', ownerId: 'alice', memberIds: others(3), sizeLimit: 3 }),
      ).toThrow(ValidationError);
    });

    it('adds nobody when a batch would overflow, even if part of it would fit', () => {
      const g = new Group({ id: 'g1', name: 'Small', ownerId: 'alice', memberIds: ['bob'], sizeLimit: 4 });
      expectRefused(g, () => g.add('alice', ['carol', 'dave', 'erin']), ValidationError);
      expect(g.isMember('carol')).toBe(false);
    });

    it('frees a place when someone leaves', () => {
      const g = new Group({ id: 'g1', name: 'Small', ownerId: 'alice', memberIds: ['bob'], sizeLimit: 2 });
      g.leave('bob');
      expect(g.add('alice', ['carol'])).toEqual(['carol']);
    });
  });

  describe('adding members', () => {
    it('lets an admin add members, who join at the end', () => {
      const g = trip();
      expect(g.add('alice', ['erin', 'frank'])).toEqual(['erin', 'frank']);
      expect(g.memberIds).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
      expect(g.isAdmin('erin')).toBe(false);
    });

    it('lets a promoted admin add members', () => {
      const g = trip();
      g.promote('alice', 'bob');
      g.add('bob', ['erin']);
      expect(g.isMember('erin')).toBe(true);
    });

    it('refuses a member who is not an admin', () => {
      const g = trip();
      expectRefused(g, () => g.add('bob', ['erin']), PermissionError);
    });

    it('refuses someone who is not in the group', () => {
      const g = trip();
      expectRefused(g, () => g.add('mallory', ['erin']), PermissionError);
    });

    it('is all or nothing: one existing member in the batch and nobody is added', () => {
      const g = trip();
      let error: unknown;
      const before = g.toJSON();
      try {
        g.add('alice', ['erin', 'carol', 'frank']);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).details).toEqual({ already: ['carol'] });
      expect(g.toJSON()).toEqual(before);
      expect(g.isMember('erin')).toBe(false);
    });

    it('refuses a batch naming someone twice', () => {
      const g = trip();
      expectRefused(g, () => g.add('alice', ['erin', 'frank', 'erin']), ValidationError);
    });

    it('refuses a batch with a malformed id', () => {
      const g = trip();
      expectRefused(g, () => g.add('alice', ['erin', 'not valid']), ValidationError);
    });

    it('refuses an empty batch', () => {
      const g = trip();
      expectRefused(g, () => g.add('alice', []), ValidationError);
    });
  });

  describe('removing members', () => {
    it('lets an admin remove a member', () => {
      const g = trip();
      g.promote('alice', 'bob');
      g.remove('bob', 'carol');
      expect(g.memberIds).toEqual(['alice', 'bob', 'dave']);
      expect(g.isMember('carol')).toBe(false);
    });

    it('refuses a member who is not an admin', () => {
      const g = trip();
      expectRefused(g, () => g.remove('bob', 'carol'), PermissionError);
    });

    it('refuses someone outside the group', () => {
      const g = trip();
      expectRefused(g, () => g.remove('mallory', 'carol'), PermissionError);
    });

    it('lets only the owner remove an admin', () => {
      const g = trip();
      g.promote('alice', 'bob');
      g.promote('alice', 'carol');
      expectRefused(g, () => g.remove('bob', 'carol'), PermissionError);
      g.remove('alice', 'carol');
      expect(g.isMember('carol')).toBe(false);
      expect(g.isAdmin('carol')).toBe(false);
    });

    it('a removed admin who is added back is a plain member', () => {
      const g = trip();
      g.promote('alice', 'bob');
      g.remove('alice', 'bob');
      g.add('alice', ['bob']);
      expect(g.isAdmin('bob')).toBe(false);
      expect(g.adminIds).toEqual(['alice']);
    });

    it('never removes the owner', () => {
      const g = trip();
      g.promote('alice', 'bob');
      expectRefused(g, () => g.remove('bob', 'alice'), PermissionError);
      expect(g.ownerId).toBe('alice');
    });

    it('refuses to remove someone who is not a member', () => {
      const g = trip();
      expectRefused(g, () => g.remove('alice', 'mallory'), NotFoundError);
    });

    it('refuses an admin removing themself (that is leaving)', () => {
      const g = trip();
      g.promote('alice', 'bob');
      expectRefused(g, () => g.remove('bob', 'bob'), ValidationError);
      expectRefused(g, () => g.remove('alice', 'alice'), ValidationError);
    });

    it('refuses a malformed user id', () => {
      const g = trip();
      expectRefused(g, () => g.remove('alice', 'bad id'), ValidationError);
    });
  });

  describe('promoting', () => {
    it('makes a member an admin, and promoting again changes nothing', () => {
      const g = trip();
      expect(g.promote('alice', 'bob')).toBe(true);
      const after = g.toJSON();
      expect(g.promote('alice', 'bob')).toBe(false);
      expect(g.toJSON()).toEqual(after);
      expect(g.adminIds).toEqual(['alice', 'bob']);
    });

    it('promoting the owner changes nothing', () => {
      const g = trip();
      const before = g.toJSON();
      expect(g.promote('alice', 'alice')).toBe(false);
      expect(g.toJSON()).toEqual(before);
    });

    it('refuses a member who is not an admin', () => {
      const g = trip();
      expectRefused(g, () => g.promote('bob', 'carol'), PermissionError);
      expectRefused(g, () => g.promote('bob', 'bob'), PermissionError);
    });

    it('refuses to promote someone outside the group', () => {
      const g = trip();
      expectRefused(g, () => g.promote('alice', 'mallory'), NotFoundError);
    });
  });

  describe('leaving', () => {
    it('a member leaves; the owner stays', () => {
      const g = trip();
      g.leave('carol');
      expect(g.memberIds).toEqual(['alice', 'bob', 'dave']);
      expect(g.ownerId).toBe('alice');
    });

    it('an admin who leaves is no longer an admin', () => {
      const g = trip();
      g.promote('alice', 'bob');
      g.leave('bob');
      expect(g.adminIds).toEqual(['alice']);
    });

    it('an owner who leaves hands the group to the longest-serving admin, not to an earlier plain member', () => {
      const g = trip();
      g.promote('alice', 'carol');
      g.promote('alice', 'dave');
      g.leave('alice');
      expect(g.ownerId).toBe('carol');
      expect(g.isAdmin('carol')).toBe(true);
      expect(g.isMember('alice')).toBe(false);
      expect(g.isAdmin('alice')).toBe(false);
      expect(g.isAdmin('bob')).toBe(false);
    });

    it('with no other admin, the longest-serving member becomes owner and admin', () => {
      const g = trip();
      g.leave('alice');
      expect(g.ownerId).toBe('bob');
      expect(g.adminIds).toEqual(['bob']);
    });

    it('longest-serving counts from the last join: someone who left and came back is newest', () => {
      const g = trip();
      g.leave('bob');
      g.add('alice', ['bob']);
      g.leave('alice');
      expect(g.ownerId).toBe('carol');
    });

    it('the new owner has the owner’s powers', () => {
      const g = trip();
      g.leave('alice');
      g.promote('bob', 'carol');
      g.remove('bob', 'carol'); // only an owner removes an admin
      expect(g.isMember('carol')).toBe(false);
      expectRefused(g, () => g.remove('dave', 'bob'), PermissionError);
    });

    it('when the last member leaves the group has no owner', () => {
      const g = new Group({ id: 'g1', name: 'Duo', ownerId: 'alice', memberIds: ['bob'] });
      g.leave('alice');
      g.leave('bob');
      expect(g.size).toBe(0);
      expect(g.ownerId).toBeUndefined();
      expect(g.adminIds).toEqual([]);
    });

    it('refuses someone who is not a member', () => {
      const g = trip();
      expectRefused(g, () => g.leave('mallory'), NotFoundError);
      g.leave('bob');
      expectRefused(g, () => g.leave('bob'), NotFoundError);
    });
  });

  describe('renaming', () => {
    it('lets an admin rename the group', () => {
      const g = trip();
      g.rename('alice', '  Trip 2026 ');
      expect(g.name).toBe('Trip 2026');
    });

    it('refuses a non-admin and a blank name', () => {
      const g = trip();
      expectRefused(g, () => g.rename('bob', 'Mine'), PermissionError);
      expectRefused(g, () => g.rename('alice', ' '), ValidationError);
    });
  });

  it('hands out copies of its member and admin lists', () => {
    const g = trip();
    (g.memberIds as string[]).push('mallory');
    (g.adminIds as string[]).push('mallory');
    g.toJSON().memberIds.push('mallory');
    expect(g.isMember('mallory')).toBe(false);
    expect(g.isAdmin('mallory')).toBe(false);
    expect(g.size).toBe(4);
  });
});
