import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { StorageError } from 'chat-room';
import { FsMediaStore } from 'chat-room/fs';
import { mediaStoreSuite } from 'chat-room/testing';

const fresh = (): Promise<string> => mkdtemp(join(tmpdir(), 'chat-room-media-'));

/** Every file under a directory, as paths relative to it. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

mediaStoreSuite('FsMediaStore', async () => {
  const dir = await fresh();
  return { store: new FsMediaStore({ dir }), close: () => rm(dir, { recursive: true, force: true }) };
});

describe('FsMediaStore on disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fresh();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const info = {
    mediaId: 'holiday-photo',
    ownerId: 'alice',
    mimeType: 'image/jpeg',
    bytes: 3,
    width: 1,
    height: 1,
    createdAt: 0,
  } as const;

  test('what one store wrote, another over the same directory reads (it survives a restart)', async () => {
    await new FsMediaStore({ dir }).put(info, new Uint8Array([1, 2, 3]));
    await new FsMediaStore({ dir }).link('holiday-photo', 'dm:alice:bob');
    const again = new FsMediaStore({ dir });
    expect(Array.from((await again.get('holiday-photo'))!.bytes)).toEqual([1, 2, 3]);
    expect(await again.threads('holiday-photo')).toEqual(['dm:alice:bob']);
  });

  test('no file is named after the id, and no temporary file is left behind', async () => {
    const store = new FsMediaStore({ dir });
    await store.put(info, new Uint8Array([1, 2, 3]));
    await store.link('holiday-photo', 'dm:alice:bob');
    const names = await files(dir);
    expect(names).toHaveLength(2); // one .json, one .bin
    expect(names.some((n) => n.includes('holiday'))).toBe(false);
    expect(names.some((n) => n.includes('.tmp'))).toBe(false);
    await store.delete('holiday-photo');
    expect(await files(dir)).toEqual([]);
  });

  test('unsent media are listed by a new store over the same directory (expiry survives a restart)', async () => {
    const before = new FsMediaStore({ dir });
    await before.put(info, new Uint8Array([1, 2, 3]));
    await before.put({ ...info, mediaId: 'sent-photo', bytes: 1 }, new Uint8Array([4]));
    await before.link('sent-photo', 'dm:alice:bob');
    const after = new FsMediaStore({ dir });
    expect(await after.unlinked(1, 10)).toEqual(['holiday-photo']);
    await after.delete('holiday-photo');
    expect(await new FsMediaStore({ dir }).unlinked(1, 10)).toEqual([]);
    // Only the sent photo is left: its two files, and no marker.
    expect((await files(dir)).filter((n) => !n.endsWith('.indexed'))).toHaveLength(2);
  });

  test('a directory written before unsent media were indexed is indexed on the first unlinked()', async () => {
    const store = new FsMediaStore({ dir });
    await store.put(info, new Uint8Array([1, 2, 3]));
    await store.put({ ...info, mediaId: 'sent-photo', bytes: 1 }, new Uint8Array([4]));
    await store.link('sent-photo', 'dm:alice:bob');
    await rm(join(dir, 'unlinked'), { recursive: true }); // as an older version left it
    expect(await new FsMediaStore({ dir }).unlinked(1, 10)).toEqual(['holiday-photo']);
  });

  test('a marker a crash left behind (its image gone, or linked) is removed when met', async () => {
    const store = new FsMediaStore({ dir });
    await store.put(info, new Uint8Array([1, 2, 3]));
    expect(await store.unlinked(1, 10)).toEqual(['holiday-photo']);
    const marker = (await files(dir)).find((n) => n.startsWith('unlinked') && !n.endsWith('.indexed'))!;
    await store.link('holiday-photo', 'dm:alice:bob');
    await writeFile(join(dir, marker), ''); // the link's removal of the marker was lost
    await writeFile(join(dir, 'unlinked', `${'0'.repeat(16)}-${'a'.repeat(64)}`), ''); // a put that never finished
    expect(await store.unlinked(1, 10)).toEqual([]);
    expect((await files(dir)).filter((n) => n.startsWith('unlinked') && !n.endsWith('.indexed'))).toEqual([]);
  });

  test('the directory is created when missing', async () => {
    const store = new FsMediaStore({ dir: join(dir, 'nested', 'media') });
    await store.put(info, new Uint8Array([1, 2, 3]));
    expect(await store.info('holiday-photo')).toEqual(info);
  });

  test('corrupt metadata on disk is a StorageError, not a crash or a silent miss', async () => {
    const store = new FsMediaStore({ dir });
    await store.put(info, new Uint8Array([1, 2, 3]));
    const json = (await files(dir)).find((n) => n.endsWith('.json'))!;
    await writeFile(join(dir, json), '{ not json');
    await expect(store.get('holiday-photo')).rejects.toBeInstanceOf(StorageError);
  });

  test('a directory that cannot be written is a StorageError with the cause kept', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'not a directory');
    const store = new FsMediaStore({ dir: blocker });
    const error = await store.put(info, new Uint8Array([1, 2, 3])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).cause).toBeDefined();
  });
});
