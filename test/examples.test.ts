/**
 * Runs every example the way a user would (`node -r ts-node/register examples/<name>.ts` from the repository
 * root) and compares what it prints with its committed transcript, `examples/<name>.out.txt`. A teaching example
 * that is run and checked cannot rot. To refresh a transcript after an intended change:
 * `npx ts-node examples/<name>.ts > examples/<name>.out.txt`, then read it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const EXAMPLES = join(ROOT, 'examples');
const TIMEOUT_MS = 60_000;

const names = readdirSync(EXAMPLES)
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();

describe('examples', () => {
  it('finds the examples', () => {
    expect(names).toEqual(expect.arrayContaining(['hello-gainlo']));
  });

  describe.each(names)('%s', (name) => {
    const transcript = join(EXAMPLES, `${name}.out.txt`);

    it('has a committed transcript', () => {
      if (!existsSync(transcript)) {
        throw new Error(
          `examples/${name}.ts has no transcript: run \`npx ts-node examples/${name}.ts > examples/${name}.out.txt\`, ` +
            'read it, and commit it',
        );
      }
    });

    it(
      'prints exactly its transcript',
      () => {
        expect(existsSync(transcript)).toBe(true);
        const run = spawnSync(process.execPath, ['-r', 'ts-node/register', join('examples', `${name}.ts`)], {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: TIMEOUT_MS,
          env: { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0' },
        });
        if (run.error !== undefined) throw run.error;
        if (run.status !== 0) {
          throw new Error(`examples/${name}.ts exited with ${run.status ?? run.signal}:\n${run.stderr}`);
        }
        expect(run.stdout).toBe(readFileSync(transcript, 'utf8'));
      },
      TIMEOUT_MS + 5_000,
    );
  });
});
