import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CameraController, CameraPermission, CapturedImage } from 'chat-room';
import { FakeCamera, NotFoundError, PermissionError, StorageError, ValidationError } from 'chat-room';
import { FileCamera } from 'chat-room/fs';

/** Small fake images: the cameras hand bytes over as they are, so they need not decode. */
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 4, 5]);
const GIF = Uint8Array.from([...Buffer.from('GIF89a'), 6, 7]);

const IMAGES: readonly CapturedImage[] = [
  { bytes: JPEG, fileName: 'a.jpg', claimedType: 'image/jpeg' },
  { bytes: PNG, fileName: 'b.png', claimedType: 'image/png' },
  { bytes: GIF, fileName: 'c.gif', claimedType: 'image/gif' },
];

type Make = (permission: CameraPermission, answer: 'granted' | 'denied') => Promise<CameraController>;

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function folderWith(
  images: readonly CapturedImage[],
  extra: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chat-room-camera-'));
  dirs.push(dir);
  for (const image of images) await writeFile(join(dir, image.fileName), image.bytes);
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}

const cameras: Array<[string, Make]> = [
  [
    'FakeCamera',
    async (permission, answer) => new FakeCamera({ permission, answer, pictures: IMAGES, gallery: IMAGES }),
  ],
  [
    'FileCamera',
    async (permission, answer) => new FileCamera({ dir: await folderWith(IMAGES), permission, answer }),
  ],
];

describe.each(cameras)('%s as a CameraController', (_name, make) => {
  test('granted: pictures come in turn, starting over after the last', async () => {
    const camera = await make('granted', 'granted');
    expect(camera.permission()).toBe('granted');
    const shots = [];
    for (let i = 0; i < 4; i++) shots.push(await camera.takePicture());
    expect(shots.map((s) => s.fileName)).toEqual(['a.jpg', 'b.png', 'c.gif', 'a.jpg']);
    expect(Array.from(shots[1]!.bytes)).toEqual(Array.from(PNG));
    expect(shots[1]!.claimedType).toBe('image/png');
  });

  test('granted: the gallery gives every image, or up to a limit', async () => {
    const camera = await make('granted', 'granted');
    expect((await camera.selectFromGallery()).map((i) => i.fileName)).toEqual(['a.jpg', 'b.png', 'c.gif']);
    expect((await camera.selectFromGallery({ limit: 2 })).map((i) => i.fileName)).toEqual(['a.jpg', 'b.png']);
    await expect(camera.selectFromGallery({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
  });

  test('denied: taking a picture and opening the gallery throw PermissionError, and asking does not ask', async () => {
    const camera = await make('denied', 'granted');
    await expect(camera.takePicture()).rejects.toBeInstanceOf(PermissionError);
    await expect(camera.selectFromGallery()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await camera.requestPermission()).toBe('denied');
    expect(camera.permission()).toBe('denied');
  });

  test('prompt: requestPermission asks once, and the answer sticks', async () => {
    const camera = await make('prompt', 'granted');
    expect(camera.permission()).toBe('prompt');
    expect(await camera.requestPermission()).toBe('granted');
    expect(camera.permission()).toBe('granted');
    expect((await camera.takePicture()).fileName).toBe('a.jpg');
  });

  test('prompt: using the camera asks first; a "no" throws PermissionError and sticks', async () => {
    const camera = await make('prompt', 'denied');
    await expect(camera.takePicture()).rejects.toBeInstanceOf(PermissionError);
    expect(camera.permission()).toBe('denied');
    expect(await camera.requestPermission()).toBe('denied');
  });

  test('prompt: opening the gallery asks first, and a "yes" opens it', async () => {
    const camera = await make('prompt', 'granted');
    expect(await camera.selectFromGallery({ limit: 1 })).toHaveLength(1);
    expect(camera.permission()).toBe('granted');
  });
});

describe('FakeCamera', () => {
  test('counts the prompts; setPermission plays the user changing the settings', async () => {
    const camera = new FakeCamera({ permission: 'prompt', answer: 'denied', pictures: IMAGES });
    await expect(camera.takePicture()).rejects.toBeInstanceOf(PermissionError);
    await expect(camera.takePicture()).rejects.toBeInstanceOf(PermissionError);
    expect(camera.prompts).toBe(1);
    camera.setPermission('granted');
    expect((await camera.takePicture()).fileName).toBe('a.jpg');
    camera.setPermission('prompt');
    camera.setAnswer('granted');
    expect(await camera.requestPermission()).toBe('granted');
    expect(camera.prompts).toBe(2);
  });

  test('defaults to granted, with nothing to take and an empty gallery', async () => {
    const camera = new FakeCamera();
    expect(camera.permission()).toBe('granted');
    await expect(camera.takePicture()).rejects.toBeInstanceOf(NotFoundError);
    expect(await camera.selectFromGallery()).toEqual([]);
  });

  test('hands out copies: changing a picture changes nothing in the camera', async () => {
    const camera = new FakeCamera({ pictures: [IMAGES[0]!] });
    const shot = await camera.takePicture();
    (shot.bytes as Uint8Array).fill(0);
    expect(Array.from((await camera.takePicture()).bytes)).toEqual(Array.from(JPEG));
  });
});

describe('FileCamera', () => {
  test('the gallery is the image files of the folder, by name; the claimed type comes from the name', async () => {
    const dir = await folderWith([{ bytes: PNG, fileName: 'Z.PNG' }, ...IMAGES], {
      'notes.txt': 'not an image',
      'page.html': '<html></html>',
      'd.webp': 'RIFF....WEBP',
    });
    const gallery = await new FileCamera({ dir }).selectFromGallery();
    expect(gallery.map((i) => [i.fileName, i.claimedType])).toEqual([
      ['Z.PNG', 'image/png'],
      ['a.jpg', 'image/jpeg'],
      ['b.png', 'image/png'],
      ['c.gif', 'image/gif'],
      ['d.webp', 'image/webp'],
    ]);
  });

  test('an SVG renamed .png is handed over as it is, claiming image/png (MediaService refuses it)', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const dir = await folderWith([{ bytes: svg, fileName: 'innocent.png' }]);
    const shot = await new FileCamera({ dir }).takePicture();
    expect(shot.claimedType).toBe('image/png');
    expect(Buffer.from(shot.bytes).toString()).toContain('<svg');
  });

  test('files added later show up', async () => {
    const dir = await folderWith([]);
    const camera = new FileCamera({ dir });
    await expect(camera.takePicture()).rejects.toBeInstanceOf(NotFoundError);
    expect(await camera.selectFromGallery()).toEqual([]);
    await writeFile(join(dir, 'new.jpg'), JPEG);
    expect((await camera.takePicture()).fileName).toBe('new.jpg');
  });

  test('a missing folder is a StorageError; no folder at all a ValidationError', async () => {
    const camera = new FileCamera({ dir: join(tmpdir(), 'chat-room-no-such-folder-4b1e') });
    await expect(camera.takePicture()).rejects.toBeInstanceOf(StorageError);
    expect(() => new FileCamera({ dir: '' })).toThrow(ValidationError);
  });

  test('setPermission plays the user changing the settings', async () => {
    const camera = new FileCamera({ dir: await folderWith(IMAGES), permission: 'denied' });
    await expect(camera.takePicture()).rejects.toBeInstanceOf(PermissionError);
    camera.setPermission('granted');
    expect((await camera.takePicture()).fileName).toBe('a.jpg');
  });
});
