import { ValidationError, requireSettingsRecord } from 'chat-room';

const legacy = { userId: 'alice', readReceipts: true, previews: false, lastSeen: 'contacts', mutes: [] };

describe('settings records', () => {
  test('a record written before `discoverable` existed still reads, without the field (false)', () => {
    const record = requireSettingsRecord(legacy);
    expect(record).toEqual(legacy);
    expect(record).not.toHaveProperty('discoverable');
  });

  test('`discoverable` is kept when present, and must be a boolean', () => {
    expect(requireSettingsRecord({ ...legacy, discoverable: true })).toMatchObject({ discoverable: true });
    expect(requireSettingsRecord({ ...legacy, discoverable: false })).toMatchObject({ discoverable: false });
    expect(() => requireSettingsRecord({ ...legacy, discoverable: 'yes' })).toThrow(ValidationError);
    expect(() => requireSettingsRecord({ ...legacy, discoverable: null })).toThrow(ValidationError);
  });
});
