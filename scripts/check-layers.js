#!/usr/bin/env node
/**
 * Enforces the layering of /work/shared/DESIGN.md ("Layers") on every `.ts` file under `<root>/src`.
 *
 *   node scripts/check-layers.js [rootDir]
 *
 * Exports `checkLayers(rootDir) -> string[]` (one human-readable line per violation).
 * Plain CommonJS, Node built-ins only.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { builtinModules } = require('node:module');

/**
 * Packages that are "drivers": only `src/adapters/<tech>/**` may import them.
 * A trailing `*` matches any suffix (`pg-*` matches `pg-pool`, `socket.io*` matches `socket.io-client`).
 */
const DRIVER_PACKAGES = Object.freeze([
  'ws',
  'pg',
  'pg-*',
  'ioredis',
  'redis',
  '@redis/*',
  'better-sqlite3',
  'sharp',
  'web-push',
  'socket.io*',
  '@socket.io/*',
  'mysql2',
  'mongodb',
]);

/** Packages `src/ports/` and `src/protocol/` may import. */
const PORTS_ALLOWED_PACKAGES = Object.freeze(['eventemitter3']);

/** Packages `src/protocol/` may import besides those: the schema library its frames are checked with. */
const PROTOCOL_ALLOWED_PACKAGES = Object.freeze([...PORTS_ALLOWED_PACKAGES, 'zod']);

/** The only adapter the root entry may reach. */
const ROOT_ALLOWED_ADAPTERS = Object.freeze(['in-memory']);

/**
 * The wings of `src/services/`, lowest first: a wing imports only the wings below it, and only through their
 * `index.ts`. Files directly in `src/services/` are shared by every wing and import none.
 */
const SERVICE_WINGS = Object.freeze(['directory', 'presence', 'delivery', 'media', 'sessions']);

/** The wing that turns what services publish into frames: the only one that imports `src/protocol/`. */
const EDGE_WING = 'sessions';

/** The package's own name: `chat-room` and `chat-room/x` resolve into `src/` (tsconfig `paths`). */
const SELF_PACKAGE = 'chat-room';

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

// ---------------------------------------------------------------------------------------------
// Source scanning
// ---------------------------------------------------------------------------------------------

const REGEX_PRECEDING_CHARS = new Set('(,=:[!&|?{};+-*%<>~^'.split(''));
const REGEX_PRECEDING_WORDS = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

/**
 * Blanks comments, template-literal text, regex literals and the contents of string literals,
 * keeping the length and every newline so offsets and line numbers stay valid.
 * Returns the masked text and a map from the offset of each string's opening quote to its value.
 */
function maskSource(src) {
  const out = src.split('');
  const strings = new Map();
  const n = src.length;
  let i = 0;
  let lastSig = ''; // last significant (non-space, non-comment) char in code
  let lastWord = ''; // last identifier-ish word, if the last significant token was a word
  // Stack of contexts: 'code' entries carry a brace depth; 'template' means inside `...`.
  const stack = [{ kind: 'code', depth: 0 }];

  const blank = (from, to) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n' && out[k] !== '\r') out[k] = ' ';
  };

  while (i < n) {
    const top = stack[stack.length - 1];
    const c = src[i];

    if (top.kind === 'template') {
      if (c === '\\') {
        blank(i, Math.min(i + 2, n));
        i += 2;
      } else if (c === '`') {
        stack.pop();
        lastSig = '`';
        lastWord = '';
        i++;
      } else if (c === '$' && src[i + 1] === '{') {
        stack.push({ kind: 'code', depth: 0 });
        lastSig = '{';
        lastWord = '';
        i += 2;
      } else {
        blank(i, i + 1);
        i++;
      }
      continue;
    }

    // code context
    if (c === '/' && src[i + 1] === '/') {
      let j = i;
      while (j < n && src[j] !== '\n') j++;
      blank(i, j);
      i = j;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const j = end === -1 ? n : end + 2;
      blank(i, j);
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let value = '';
      while (j < n && src[j] !== c && src[j] !== '\n') {
        if (src[j] === '\\' && j + 1 < n) {
          value += src[j + 1] === '\n' ? '' : src[j + 1];
          j += 2;
        } else {
          value += src[j];
          j++;
        }
      }
      blank(i + 1, Math.min(j, n));
      strings.set(i, value);
      i = j < n && src[j] === c ? j + 1 : j;
      lastSig = c;
      lastWord = '';
      continue;
    }
    if (c === '`') {
      stack.push({ kind: 'template' });
      i++;
      continue;
    }
    if (c === '/') {
      const regexAllowed =
        lastSig === '' || REGEX_PRECEDING_CHARS.has(lastSig) || REGEX_PRECEDING_WORDS.has(lastWord);
      if (regexAllowed) {
        // Scan a regex literal on this line; if it does not close, it was a division after all.
        let j = i + 1;
        let inClass = false;
        let closed = false;
        while (j < n && src[j] !== '\n') {
          const d = src[j];
          if (d === '\\') {
            j += 2;
            continue;
          }
          if (d === '[') inClass = true;
          else if (d === ']') inClass = false;
          else if (d === '/' && !inClass) {
            closed = true;
            break;
          }
          j++;
        }
        if (closed) {
          j++;
          while (j < n && /[A-Za-z]/.test(src[j])) j++;
          blank(i, j);
          i = j;
          lastSig = '/';
          lastWord = 'regex';
          continue;
        }
      }
      lastSig = '/';
      lastWord = '';
      i++;
      continue;
    }
    if (c === '{') {
      top.depth++;
    } else if (c === '}') {
      if (top.depth === 0 && stack.length > 1) {
        // end of a `${...}` expression: back to the template text
        stack.pop();
        i++;
        continue;
      }
      top.depth--;
    }
    if (/[A-Za-z0-9_$]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_$]/.test(src[j])) j++;
      lastWord = src.slice(i, j);
      lastSig = src[j - 1];
      i = j;
      continue;
    }
    if (!/\s/.test(c)) {
      lastSig = c;
      lastWord = '';
    }
    i++;
  }
  return { masked: out.join(''), strings };
}

// In the masked text a string literal is its quotes around blanks; its value comes from `strings`.
const STR = `(?<q>['"])[^'"\\n]*\\k<q>`;
const NOT_MEMBER = '(?<![.\\w$])';
const CLAUSE = '[\\w$\\s{},*]*?';
const IMPORT_PATTERNS = [
  // import x from '...'; import type { a } from '...'; import * as ns from '...'; multi-line clauses
  { kind: 'import', re: `${NOT_MEMBER}import(?![\\w$])${CLAUSE}(?<![\\w$])from\\s*${STR}` },
  // import '...'
  { kind: 'import', re: `${NOT_MEMBER}import\\s*${STR}` },
  // export * from '...'; export { a } from '...'; export type { a } from '...'
  { kind: 'export', re: `${NOT_MEMBER}export(?![\\w$])${CLAUSE}(?<![\\w$])from\\s*${STR}` },
  // import('...'), typeof import('...')
  { kind: 'dynamic import', re: `${NOT_MEMBER}import\\s*\\(\\s*${STR}` },
  // require('...'), import x = require('...')
  { kind: 'require', re: `${NOT_MEMBER}require\\s*\\(\\s*${STR}` },
].map((p) => ({ kind: p.kind, re: new RegExp(p.re, 'gd') }));

/**
 * The module specifiers a TypeScript source imports, with 1-based line numbers, in source order.
 * Comments do not count; multi-line statements are seen.
 */
function extractImports(source) {
  const { masked, strings } = maskSource(source);
  const lineStarts = [0];
  for (let k = 0; k < masked.length; k++) if (masked[k] === '\n') lineStarts.push(k + 1);
  const lineOf = (offset) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };

  const found = new Map(); // quote offset -> import
  for (const { kind, re } of IMPORT_PATTERNS) {
    re.lastIndex = 0;
    let m;
    while ((m = re.exec(masked)) !== null) {
      const quoteAt = m.indices.groups.q[0];
      if (found.has(quoteAt) || !strings.has(quoteAt)) continue;
      found.set(quoteAt, { specifier: strings.get(quoteAt), line: lineOf(m.index), kind, offset: m.index });
    }
  }
  return [...found.values()].sort((a, b) => a.offset - b.offset).map(({ offset: _offset, ...rest }) => rest);
}

// ---------------------------------------------------------------------------------------------
// Classification and resolution
// ---------------------------------------------------------------------------------------------

const toPosix = (p) => p.split(path.sep).join('/');

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function isBuiltin(specifier) {
  if (specifier.startsWith('node:')) return true;
  return BUILTINS.has(specifier) || BUILTINS.has(packageName(specifier));
}

function isDriver(pkg) {
  return DRIVER_PACKAGES.some((pattern) =>
    pattern.endsWith('*') ? pkg.startsWith(pattern.slice(0, -1)) : pkg === pattern,
  );
}

/** Resolves a path (without or with extension) to an existing `.ts` file, or null. */
function resolveFile(absNoExt) {
  const bases = [absNoExt];
  const jsExt = /\.(m|c)?jsx?$/.exec(absNoExt);
  if (jsExt) bases.unshift(absNoExt.slice(0, -jsExt[0].length));
  const candidates = [];
  for (const base of bases) {
    if (/\.(m|c)?tsx?$/.test(base)) candidates.push(base);
    candidates.push(`${base}.ts`, `${base}.tsx`, `${base}.d.ts`, `${base}.mts`, `${base}.cts`);
    candidates.push(path.join(base, 'index.ts'), path.join(base, 'index.tsx'), path.join(base, 'index.d.ts'));
  }
  for (const candidate of candidates) {
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * Classifies one specifier imported by `fromFile`:
 * `{ type: 'internal', rel, exists }` (rel is a posix path relative to the root, e.g. `src/domain/user.ts`),
 * `{ type: 'builtin' }` or `{ type: 'package', name }`.
 */
function classify(specifier, fromFile, rootDir) {
  let target = null;
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..') {
    target = path.resolve(path.dirname(fromFile), specifier);
  } else if (specifier.startsWith('/')) {
    target = path.resolve(specifier);
  } else if (specifier === SELF_PACKAGE) {
    target = path.join(rootDir, 'src', 'index');
  } else if (specifier.startsWith(`${SELF_PACKAGE}/`)) {
    target = path.join(rootDir, 'src', specifier.slice(SELF_PACKAGE.length + 1));
  }
  if (target !== null) {
    const resolved = resolveFile(target);
    const abs = resolved || target.replace(/\.(m|c)?jsx?$/, '');
    return { type: 'internal', abs: resolved, rel: toPosix(path.relative(rootDir, abs)), exists: !!resolved };
  }
  if (isBuiltin(specifier)) return { type: 'builtin' };
  return { type: 'package', name: packageName(specifier) };
}

/**
 * The layer of a root-relative posix path: `{ layer, tech? }`.
 * Layers: domain, ports, protocol, services, session, adapters, server, client, chat-system, index, other.
 */
function layerOf(rel) {
  const parts = rel.split('/');
  if (parts[0] !== 'src') return { layer: 'outside' };
  const top = parts[1] || '';
  if (parts.length === 2) {
    if (/^chat-system\.(d\.)?ts$/.test(top)) return { layer: 'chat-system' };
    if (/^compose-system\.(d\.)?ts$/.test(top)) return { layer: 'composition' };
    if (/^index\.(d\.)?ts$/.test(top)) return { layer: 'index' };
    return { layer: 'other' };
  }
  if (top === 'adapters') return { layer: 'adapters', tech: parts.length > 3 ? parts[2] : null };
  if (top === 'services') {
    const wing = parts.length > 3 ? parts[2] : null;
    const isIndex = /^index\.(d\.)?ts$/.test(parts[parts.length - 1]);
    return { layer: 'services', wing, isIndex, wingIndex: wing !== null && parts.length === 4 && isIndex };
  }
  if (['domain', 'ports', 'protocol', 'services', 'session', 'server', 'client', 'testing'].includes(top)) {
    return { layer: top };
  }
  return { layer: 'other' };
}

function describeTarget(t) {
  if (t.type === 'internal') return t.rel;
  if (t.type === 'builtin') return 'a Node built-in';
  return `package ${t.name}`;
}

/** The rule an import breaks, as a sentence, or null. */
function ruleViolation(fromLayer, target) {
  const { layer, tech } = fromLayer;
  const to = target.type === 'internal' ? layerOf(target.rel) : null;

  if (layer === 'domain') {
    if (to && to.layer === 'domain') return null;
    return `src/domain/ may import only src/domain/ (imports ${describeTarget(target)})`;
  }
  if (layer === 'ports' || layer === 'protocol') {
    if (to) {
      if (['domain', 'ports', 'protocol'].includes(to.layer)) return null;
      return `src/${layer}/ may import only src/domain/, src/ports/, src/protocol/ (imports ${target.rel})`;
    }
    const allowed = layer === 'protocol' ? PROTOCOL_ALLOWED_PACKAGES : PORTS_ALLOWED_PACKAGES;
    if (target.type === 'package' && allowed.includes(target.name)) return null;
    return `src/${layer}/ may not import ${describeTarget(target)} (allowed packages: ${allowed.join(', ')})`;
  }
  if (layer === 'testing' && to) {
    const reference = to.layer === 'adapters' && to.tech === 'in-memory';
    if (!reference && !TESTING_ALLOWED.includes(to.layer)) {
      return `src/testing/ may import only ${TESTING_ALLOWED.map((l) => LAYER_PATHS[l]).join(', ')} and the in-memory adapters (imports ${target.rel})`;
    }
  }
  if (target.type === 'package' && isDriver(target.name) && !(layer === 'adapters' && tech)) {
    return `driver package ${target.name} may be imported only from src/adapters/<tech>/`;
  }
  if ((layer === 'services' || layer === 'session') && to) {
    if (['adapters', 'server', 'client', 'chat-system', 'composition', 'index'].includes(to.layer)) {
      return `src/${layer}/ must not import ${target.rel} (adapters, server, client, the composition root, chat-system and the root entry are above it)`;
    }
  }
  if (layer === 'services' && to && to.layer === 'protocol' && fromLayer.wing !== EDGE_WING) {
    return `only the ${EDGE_WING} wing of src/services/ speaks the wire protocol (imports ${target.rel}): other services publish events or use the DeviceOutbox`;
  }
  if (layer === 'services' && to && to.layer === 'services') {
    const why = wingViolation(fromLayer, to, target.rel);
    if (why) return why;
  }
  if (layer === 'adapters' && tech && to && to.layer === 'adapters' && to.tech !== tech) {
    return `adapter ${tech} must not import another adapter (${target.rel})`;
  }
  return null;
}

/** Layers the conformance suites may use: what an adapter's contract is stated in, and the system they drive. */
const TESTING_ALLOWED = Object.freeze(['domain', 'ports', 'protocol', 'session', 'chat-system', 'testing']);

const LAYER_PATHS = Object.freeze({
  domain: 'src/domain/',
  ports: 'src/ports/',
  protocol: 'src/protocol/',
  session: 'src/session/',
  'chat-system': 'src/chat-system.ts',
  testing: 'src/testing/',
});

/** The rule an import between two files of `src/services/` breaks, or null. */
function wingViolation(from, to, rel) {
  if (from.wing !== null && !SERVICE_WINGS.includes(from.wing)) {
    return `src/services/${from.wing}/ is not a wing (wings: ${SERVICE_WINGS.join(', ')}; scripts/check-layers.js)`;
  }
  if (from.wing === null) {
    // The services' index gathers the wings; the other shared files sit below every wing.
    if (from.isIndex || to.wing === null) return null;
    return `a shared file of src/services/ must not import a wing (imports ${rel})`;
  }
  if (to.wing === null || to.wing === from.wing) return null;
  const own = SERVICE_WINGS.indexOf(from.wing);
  const other = SERVICE_WINGS.indexOf(to.wing);
  if (other === -1 || other > own) {
    return `wing ${from.wing} must not import wing ${to.wing} (${rel}): a wing imports only the wings below it (${SERVICE_WINGS.join(' < ')})`;
  }
  if (!to.wingIndex) {
    return `wing ${from.wing} imports ${rel}: another wing is imported through its index (src/services/${to.wing}/index.ts)`;
  }
  return null;
}

/** The import cycles among `files` (one line per cycle, each cycle once), following internal imports only. */
function cyclesAmong(files, graph, root) {
  const inSet = new Set(files);
  const state = new Map(); // file -> 'open' | 'done'
  const stack = [];
  const cycles = [];
  const visit = (file) => {
    state.set(file, 'open');
    stack.push(file);
    for (const { target } of graph.get(file) || []) {
      if (target.type !== 'internal' || !target.exists || !inSet.has(target.abs)) continue;
      const seen = state.get(target.abs);
      if (seen === 'open') {
        const loop = stack.slice(stack.indexOf(target.abs)).map((f) => toPosix(path.relative(root, f)));
        cycles.push(`${loop.join(' -> ')} -> ${loop[0]}`);
      } else if (seen === undefined) visit(target.abs);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return cycles;
}

function listTsFiles(dir) {
  const result = [];
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.(m|c)?tsx?$/.test(e.name)) result.push(p);
    }
  };
  walk(dir);
  return result;
}

/** Scans `<rootDir>/src` and returns the violations plus the number of files checked. */
function analyze(rootDir) {
  const root = path.resolve(rootDir);
  const files = listTsFiles(path.join(root, 'src'));
  const violations = [];
  const graph = new Map(); // abs file -> [{ imp, target }]

  for (const file of files) {
    const rel = toPosix(path.relative(root, file));
    const fromLayer = layerOf(rel);
    const imports = extractImports(fs.readFileSync(file, 'utf8'));
    const edges = [];
    for (const imp of imports) {
      const target = classify(imp.specifier, file, root);
      edges.push({ imp, target });
      const why = ruleViolation(fromLayer, target);
      if (why) violations.push(`${rel}:${imp.line}: import '${imp.specifier}' — ${why}`);
    }
    graph.set(file, edges);
  }

  // The root entry, followed through internal imports, must load no driver and no adapter but in-memory.
  const domainFiles = files.filter((f) => layerOf(toPosix(path.relative(root, f))).layer === 'domain');
  for (const cycle of cyclesAmong(domainFiles, graph, root)) {
    violations.push(`src/domain/ has an import cycle: ${cycle}`);
  }

  const entry = resolveFile(path.join(root, 'src', 'index'));
  if (entry && graph.has(entry)) {
    const parent = new Map([[entry, null]]);
    const queue = [entry];
    const chainTo = (file) => {
      const chain = [];
      for (let f = file; f !== null; f = parent.get(f)) chain.unshift(toPosix(path.relative(root, f)));
      return chain.join(' -> ');
    };
    while (queue.length > 0) {
      const file = queue.shift();
      for (const { imp, target } of graph.get(file) || []) {
        const rel = toPosix(path.relative(root, file));
        if (target.type === 'package' && isDriver(target.name)) {
          violations.push(
            `${rel}:${imp.line}: import '${imp.specifier}' — the root entry reaches driver ${target.name}: ${chainTo(file)} -> ${target.name}`,
          );
          continue;
        }
        if (target.type !== 'internal' || !target.exists || parent.has(target.abs)) continue;
        const to = layerOf(target.rel);
        if (to.layer === 'adapters' && to.tech && !ROOT_ALLOWED_ADAPTERS.includes(to.tech)) {
          violations.push(
            `${rel}:${imp.line}: import '${imp.specifier}' — the root entry reaches ${target.rel} (only src/adapters/${ROOT_ALLOWED_ADAPTERS.join(', ')}/ allowed): ${chainTo(file)} -> ${target.rel}`,
          );
          parent.set(target.abs, file); // report once, do not walk further into it
          continue;
        }
        parent.set(target.abs, file);
        if (graph.has(target.abs)) queue.push(target.abs);
      }
    }
  }

  return { violations, filesChecked: files.length };
}

/**
 * Checks the layering rules of DESIGN.md on `<rootDir>/src`.
 *
 * @param {string} rootDir - the repository root (the directory holding `src/`)
 * @returns {string[]} one line per violation, naming file, line and import
 */
function checkLayers(rootDir) {
  return analyze(rootDir).violations;
}

module.exports = { checkLayers, extractImports, DRIVER_PACKAGES };

if (require.main === module) {
  const root = path.resolve(process.argv[2] || path.join(__dirname, '..'));
  if (!fs.existsSync(path.join(root, 'src'))) {
    console.error(`check-layers: no src/ directory under ${root}`);
    process.exit(2);
  }
  const { violations, filesChecked } = analyze(root);
  if (violations.length > 0) {
    for (const v of violations) console.error(v);
    console.error(`check-layers: ${violations.length} violation(s) in ${filesChecked} file(s)`);
    process.exit(1);
  }
  console.log(`check-layers: OK, ${filesChecked} file(s) under src/ checked`);
}
