/**
 * Keeps the docs true: the README's quick start runs and prints what the README says, the source files the docs
 * name exist, the classes the patterns table names are exported, the code the patterns page quotes is still in
 * its file, and the README opens with the set-up commands.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as api from 'chat-room';

const ROOT = resolve(__dirname, '..');
const TIMEOUT_MS = 60_000;

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
const README = read('README.md');
const DOCS = ['docs/patterns.md', 'docs/architecture.md'] as const;

interface Fence {
  /** The info string after the opening backticks (`ts`, `text`, or empty). */
  readonly lang: string;
  readonly body: string;
  /** Offsets of the opening and just past the closing fence line. */
  readonly start: number;
  readonly end: number;
}

/** The fenced code blocks of a Markdown text, in order. */
function fences(markdown: string): Fence[] {
  const out: Fence[] = [];
  const re = /^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = re.exec(markdown); m !== null; m = re.exec(markdown)) {
    out.push({ lang: m[1]!.trim(), body: m[2]!, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** Every `src/...ts` path written in backticks. */
function sourcePaths(markdown: string): string[] {
  return [...new Set([...markdown.matchAll(/`(src\/[^`\s]+\.ts)`/g)].map((m) => m[1]!))];
}

/** The cells of each body row of the first table whose header has a column named `column`. */
function tableColumn(markdown: string, column: string): string[] {
  const lines = markdown.split('\n');
  const splitRow = (line: string): string[] =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim());
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.trim().startsWith('|') || !/^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1]!)) continue;
    const at = splitRow(lines[i]!).findIndex((h) => h.toLowerCase() === column);
    if (at === -1) continue;
    const cells: string[] = [];
    for (let j = i + 2; j < lines.length && lines[j]!.trim().startsWith('|'); j++) {
      cells.push(splitRow(lines[j]!)[at] ?? '');
    }
    return cells;
  }
  throw new Error(`no table with a "${column}" column`);
}

describe('README quick start', () => {
  const blocks = fences(README);
  const code = blocks.findIndex((b) => b.lang === 'ts');

  test('is a ts block importing from chat-room, followed at once by a text block', () => {
    expect(code).toBeGreaterThanOrEqual(0);
    expect(blocks[code]!.body).toMatch(/from 'chat-room'/);
    const next = blocks[code + 1];
    expect(next?.lang).toBe('text');
    expect(README.slice(blocks[code]!.end, next!.start).trim()).toBe('');
  });

  test(
    'prints exactly the text block that follows it',
    () => {
      // A directory of its own inside the repository, so that `chat-room` resolves through tsconfig paths and no
      // other test (examples.test.ts lists examples/) sees the file.
      const dir = mkdtempSync(join(ROOT, '.readme-quickstart-'));
      try {
        const file = join(dir, 'quickstart.ts');
        writeFileSync(file, blocks[code]!.body);
        const run = spawnSync(process.execPath, ['-r', 'ts-node/register', file], {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: TIMEOUT_MS,
          env: { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0' },
        });
        if (run.error !== undefined) throw run.error;
        if (run.status !== 0)
          throw new Error(`the quick start exited with ${run.status ?? run.signal}:\n${run.stderr}`);
        expect(run.stdout).toBe(blocks[code + 1]!.body);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS + 5_000,
  );
});

describe('README set-up', () => {
  test('the first fenced block runs npm install, npm run demo and npm test, in that order', () => {
    const first = fences(README)[0]!.body;
    const at = ['npm install', 'npm run demo', 'npm test'].map((command) => first.indexOf(command));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });
});

describe.each(DOCS)('%s', (doc) => {
  const text = read(doc);

  test('every src/ file it names exists', () => {
    const paths = sourcePaths(text);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });
});

describe('docs/patterns.md', () => {
  const text = read('docs/patterns.md');

  test('every class in the table is exported from chat-room', () => {
    const cells = tableColumn(text, 'class');
    expect(cells.length).toBeGreaterThan(0);
    const names = cells.map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    expect(names.filter((row) => row.length === 0)).toEqual([]);
    expect(names.flat().filter((name) => !(name in api))).toEqual([]);
  });

  test('every quoted block is still in the file named before it (or before the previous block)', () => {
    const blocks = fences(text).filter((b) => b.lang === 'ts');
    expect(blocks.length).toBeGreaterThan(0);
    const trimmed = (s: string): string[] =>
      s
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
    const stale: string[] = [];
    let from = 0;
    let previous: string | undefined;
    for (const block of fences(text)) {
      const before = text.slice(from, block.start);
      from = block.end;
      if (block.lang !== 'ts') continue;
      const file = [...before.matchAll(/`(src\/[^`\s]+\.ts)`/g)].pop()?.[1] ?? previous;
      previous = file;
      if (file === undefined) {
        stale.push(`a quote with no file named before it:\n${block.body}`);
        continue;
      }
      const source = existsSync(join(ROOT, file)) ? trimmed(read(file)) : [];
      const quote = trimmed(block.body);
      const found = source.some((_, i) => quote.every((line, k) => source[i + k] === line));
      if (!found) stale.push(`${file} no longer contains:\n${block.body}`);
    }
    expect(stale).toEqual([]);
  });
});

describe('docs/security.md', () => {
  const text = read('docs/security.md');

  /** Every test file under test/, with its text. */
  function testSources(dir = join(ROOT, 'test')): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return testSources(path);
      return entry.name.endsWith('.ts') ? [readFileSync(path, 'utf8')] : [];
    });
  }

  test('every test file it names exists', () => {
    const files = [...new Set([...text.matchAll(/`(test\/[^`\s]+\.ts)`/g)].map((m) => m[1]!))];
    expect(files.length).toBeGreaterThan(5);
    expect(files.filter((f) => !existsSync(join(ROOT, f)))).toEqual([]);
  });

  test('every test it quotes is still there (a quote ending in … is the start of a title)', () => {
    const sources = testSources().join('\n');
    const quotes = [...text.matchAll(/"([^"\n]{12,})"/g)].map((m) => m[1]!.split('…')[0]!);
    expect(quotes.length).toBeGreaterThan(20);
    expect(quotes.filter((q) => !sources.includes(q))).toEqual([]);
  });
});
