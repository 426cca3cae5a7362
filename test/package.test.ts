import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
};

describe('the package', () => {
  test('its dependencies are the core’s eventemitter3 and zod, and the drivers of the server subpath', () => {
    // The root entry must not load the drivers (see below); `chat-room serve` needs them installed.
    expect(Object.keys(pkg.dependencies).sort()).toEqual([
      'better-sqlite3',
      'eventemitter3',
      'jsonwebtoken',
      'ws',
      'zod',
    ]);
  });

  test('every code entry of the exports map names its types first, then the CommonJS file', () => {
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (entry === './package.json') continue;
      expect(typeof target).toBe('object');
      const conditions = Object.keys(target as Record<string, string>);
      expect([entry, conditions[0]]).toEqual([entry, 'types']);
      expect((target as Record<string, string>).types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
      expect((target as Record<string, string>).default).toMatch(/^\.\/dist\/.*\.js$/);
    }
  });

  test('loading the root entry loads no driver: no package but eventemitter3 (and zod, for frames)', () => {
    const script = `
      const before = new Set(Object.keys(require.cache));
      require('./src/index.ts');
      const loaded = Object.keys(require.cache).filter((p) => !before.has(p) && p.includes('node_modules'));
      console.log(JSON.stringify([...new Set(loaded.map((p) => p.split('node_modules/')[1].split('/')[0]))]));
    `;
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    const loaded = JSON.parse(run.stdout.trim()) as string[];
    expect(loaded.filter((name) => name !== 'eventemitter3' && name !== 'zod')).toEqual([]);
  });
});
