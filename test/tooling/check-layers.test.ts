import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const SCRIPT = path.resolve(__dirname, '../../scripts/check-layers.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { checkLayers } = require(SCRIPT) as { checkLayers: (rootDir: string) => string[] };

/** A small tree that follows every rule; each test adds or overrides files. */
const CLEAN: Record<string, string> = {
  'src/domain/user.ts':
    "import { ChatRoomError } from './errors.js';\nexport class User { e = ChatRoomError; }\n",
  'src/domain/errors.ts': 'export class ChatRoomError extends Error {}\n',
  'src/domain/index.ts': "export * from './user.js';\nexport * from './errors.js';\n",
  'src/ports/transport.ts':
    "import type { User } from '../domain/index.js';\nimport EventEmitter from 'eventemitter3';\nexport interface Transport { u: User; e: EventEmitter }\n",
  'src/protocol/frames.ts':
    "import type { User } from '../domain/user.js';\nexport type Frame = { u: User };\n",
  'src/services/delivery.ts':
    "import { randomUUID } from 'node:crypto';\nimport type { Transport } from '../ports/transport.js';\nexport class DeliveryService { t?: Transport; id = randomUUID(); }\n",
  'src/session/session.ts':
    "import { DeliveryService } from '../services/delivery';\nexport const s = DeliveryService;\n",
  'src/adapters/in-memory/transport.ts':
    "import type { Transport } from '../../ports/transport.js';\nimport { EventEmitter } from 'events';\nexport type T = Transport; export const E = EventEmitter;\n",
  'src/adapters/ws/transport.ts':
    "import { WebSocketServer } from 'ws';\nimport type { Transport } from '../../ports/transport.js';\nexport type T = Transport; export const W = WebSocketServer;\n",
  'src/adapters/postgres/store.ts': "import { Pool } from 'pg';\nexport const P = Pool;\n",
  'src/chat-system.ts':
    "import { DeliveryService } from './services/delivery.js';\nimport { E } from './adapters/in-memory/transport.js';\nexport class ChatSystem { d = DeliveryService; e = E; }\n",
  'src/index.ts': "export * from './domain/index.js';\nexport { ChatSystem } from './chat-system.js';\n",
};

const tmpDirs: string[] = [];

function makeTree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'check-layers-'));
  tmpDirs.push(root);
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
  return root;
}

function check(overrides: Record<string, string>): string[] {
  return checkLayers(makeTree({ ...CLEAN, ...overrides }));
}

afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('checkLayers', () => {
  it('finds no violation in a clean tree', () => {
    expect(check({})).toEqual([]);
  });

  it('reports domain importing services', () => {
    const violations = check({
      'src/domain/feed.ts':
        "import { DeliveryService } from '../services/delivery.js';\nexport const f = 1;\n",
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('src/domain/feed.ts:1');
    expect(violations[0]).toContain('../services/delivery.js');
  });

  it('reports domain importing a package or a node built-in', () => {
    const violations = check({
      'src/domain/feed.ts':
        "export const f = 1;\nimport EventEmitter from 'eventemitter3';\nimport { x } from 'node:fs';\n",
    });
    expect(violations).toHaveLength(2);
    expect(violations[0]).toContain('src/domain/feed.ts:2');
    expect(violations[0]).toContain('eventemitter3');
    expect(violations[1]).toContain('src/domain/feed.ts:3');
  });

  it('reports ports importing services or a non-allowed package', () => {
    const violations = check({
      'src/ports/store.ts':
        "import type { DeliveryService } from '../services/delivery.js';\nimport type { Pool } from 'pg';\nexport type S = DeliveryService | Pool;\n",
    });
    expect(violations).toHaveLength(2);
    expect(violations[0]).toContain('src/ports/store.ts:1');
    expect(violations[1]).toContain('src/ports/store.ts:2');
  });

  it('reports a driver imported from services', () => {
    const violations = check({
      'src/services/presence.ts': "import Redis from 'ioredis';\nexport const r = Redis;\n",
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('src/services/presence.ts:1');
    expect(violations[0]).toContain('ioredis');
  });

  it('reports services importing an adapter or the facade', () => {
    const violations = check({
      'src/services/presence.ts':
        "import { E } from '../adapters/in-memory/transport.js';\nimport { ChatSystem } from '../chat-system';\nexport const r = [E, ChatSystem];\n",
    });
    expect(violations).toHaveLength(2);
    expect(violations[0]).toContain('src/adapters/in-memory/transport.ts');
    expect(violations[1]).toContain('src/chat-system.ts');
  });

  it('lets the conformance suites use the in-memory reference but no other adapter or service', () => {
    const violations = check({
      'src/testing/suite.ts':
        "import { E } from '../adapters/in-memory/transport.js';\nimport type { Transport } from '../ports/transport.js';\nimport { P } from '../adapters/postgres/store.js';\nimport { DeliveryService } from '../services/delivery';\nexport const r = [E, P, DeliveryService];\nexport type T = Transport;\n",
    });
    expect(violations).toHaveLength(2);
    expect(violations[0]).toContain('src/testing/suite.ts:3');
    expect(violations[1]).toContain('src/services/delivery.ts');
  });

  it('reports drivers matched by prefix (pg-*, socket.io*) and package subpaths', () => {
    const violations = check({
      'src/session/live.ts':
        "import Cursor from 'pg-cursor';\nimport { io } from 'socket.io-client';\nimport x from 'ws/lib/stream';\nexport const l = [Cursor, io, x];\n",
    });
    expect(violations).toHaveLength(3);
  });

  it('reports an adapter importing another adapter', () => {
    const violations = check({
      'src/adapters/redis/bus.ts':
        "import { P } from '../postgres/store.js';\nimport Redis from 'ioredis';\nexport const b = [P, Redis];\n",
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('src/adapters/redis/bus.ts:1');
    expect(violations[0]).toContain('src/adapters/postgres/store.ts');
  });

  it('reports the root entry reaching a driver transitively, with the chain', () => {
    const violations = check({
      'src/index.ts': "export * from './domain/index.js';\nexport * from './server/util.js';\n",
      'src/server/util.ts': "export * from './helpers';\n",
      'src/server/helpers.ts': "import { WebSocketServer } from 'ws';\nexport const W = WebSocketServer;\n",
    });
    // the per-file rule (driver outside adapters) and the root-entry rule both fire
    const chain = violations.filter((v) => v.includes('root entry'));
    expect(chain).toHaveLength(1);
    expect(chain[0]).toContain('src/server/helpers.ts:1');
    expect(chain[0]).toContain('src/index.ts -> src/server/util.ts -> src/server/helpers.ts -> ws');
  });

  it('reports the root entry reaching an adapter other than in-memory, even when that adapter is clean', () => {
    const violations = check({
      'src/chat-system.ts': "import { T } from './adapters/ws/transport.js';\nexport type X = T;\n",
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('src/chat-system.ts:1');
    expect(violations[0]).toContain('src/index.ts -> src/chat-system.ts -> src/adapters/ws/transport.ts');
  });

  it('reports the root entry reaching a driver through the in-memory adapter', () => {
    const violations = check({
      'src/adapters/in-memory/transport.ts': "import Redis from 'ioredis';\nexport const E = Redis;\n",
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('root entry');
    expect(violations[0]).toContain('src/adapters/in-memory/transport.ts:1');
  });

  it('does not report commented-out imports or imports inside strings', () => {
    const violations = check({
      'src/domain/feed.ts': [
        "// import { DeliveryService } from '../services/delivery.js';",
        '/*',
        "import Redis from 'ioredis';",
        '*/',
        "/** @example import { ChatSystem } from 'chat-room' */",
        'export const doc = "import x from \'pg\'";',
        "export const tpl = `require('ws')`;",
        "export const re = /from 'ws'/;",
        '',
      ].join('\n'),
    });
    expect(violations).toEqual([]);
  });

  it('sees a multi-line import and reports its line', () => {
    const violations = check({
      'src/domain/feed.ts': [
        'export const f = 1;',
        'import {',
        '  DeliveryService,',
        '  type Other,',
        "} from '../services/delivery.js';",
        '',
      ].join('\n'),
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('src/domain/feed.ts:2');
  });

  it('sees import type, export from, require and dynamic import', () => {
    const violations = check({
      'src/domain/feed.ts': [
        "import type { A } from '../ports/transport.js';",
        "export { B } from 'eventemitter3';",
        "import fs = require('fs');",
        "export const load = () => import('../services/delivery.js');",
        '',
      ].join('\n'),
    });
    expect(violations).toHaveLength(4);
  });

  it('resolves the self-reference chat-room into src/', () => {
    const violations = check({
      'src/services/presence.ts':
        "import { ChatSystem } from 'chat-room/chat-system.js';\nexport const c = ChatSystem;\n",
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('src/chat-system.ts');
  });

  describe('the wings of src/services/', () => {
    const WINGS: Record<string, string> = {
      'src/services/events.ts': 'export class Events {}\n',
      'src/services/directory/users.ts':
        "import { Events } from '../events';\nexport class Users { e = Events; }\n",
      'src/services/directory/index.ts': "export * from './users';\n",
      'src/services/presence/registry.ts':
        "import { Users } from '../directory';\nexport class Registry { u = Users; }\n",
      'src/services/presence/index.ts': "export * from './registry';\n",
      'src/services/sessions/gateway.ts':
        "import { Registry } from '../presence';\nimport { Users } from '../directory/index';\nexport const g = [Registry, Users];\n",
      'src/services/sessions/index.ts': "export * from './gateway';\n",
      'src/services/index.ts': "export * from './directory';\nexport * from './presence';\n",
    };

    it('lets a wing import the wings below it through their index', () => {
      expect(check(WINGS)).toEqual([]);
    });

    it('reports a wing importing a wing above it', () => {
      const violations = check({
        ...WINGS,
        'src/services/directory/users.ts':
          "import { Registry } from '../presence';\nexport class Users { r = Registry; }\n",
      });
      expect(violations).toHaveLength(1);
      expect(violations[0]).toContain('src/services/directory/users.ts:1');
      expect(violations[0]).toContain('wing directory must not import wing presence');
    });

    it("reports a wing reaching past another wing's index", () => {
      const violations = check({
        ...WINGS,
        'src/services/presence/registry.ts':
          "import { Users } from '../directory/users';\nexport class Registry { u = Users; }\n",
      });
      expect(violations).toHaveLength(1);
      expect(violations[0]).toContain('through its index');
    });

    it('reports a shared file importing a wing, and a folder that is no wing', () => {
      const violations = check({
        ...WINGS,
        'src/services/events.ts': "import { Users } from './directory';\nexport const e = Users;\n",
        'src/services/misc/thing.ts': "import { Events } from '../events';\nexport const t = Events;\n",
      });
      expect(violations).toHaveLength(2);
      expect(violations.join('\n')).toContain('a shared file of src/services/ must not import a wing');
      expect(violations.join('\n')).toContain('src/services/misc/ is not a wing');
    });

    it('lets only the sessions wing import the wire protocol', () => {
      const violations = check({
        ...WINGS,
        'src/protocol/frames.ts': 'export type Frame = { type: string };\n',
        'src/services/sessions/gateway.ts':
          "import type { Frame } from '../../protocol/frames';\nimport { Registry } from '../presence';\nexport const g: [unknown, Frame?] = [Registry];\n",
        'src/services/presence/registry.ts':
          "import type { Frame } from '../../protocol/frames';\nimport { Users } from '../directory';\nexport class Registry { u = Users; f?: Frame; }\n",
      });
      expect(violations).toHaveLength(1);
      expect(violations[0]).toContain('src/services/presence/registry.ts:1');
      expect(violations[0]).toContain('only the sessions wing');
    });

    it('reports a service importing the composition root', () => {
      const violations = check({
        ...WINGS,
        'src/compose-system.ts': "import { Users } from './services';\nexport const c = Users;\n",
        'src/services/directory/users.ts':
          "import { c } from '../../compose-system';\nexport class Users { c = c; }\n",
      });
      expect(violations).toHaveLength(1);
      expect(violations[0]).toContain('composition root');
    });
  });

  it('reports an import cycle in the domain, naming its files', () => {
    const violations = check({
      'src/domain/group.ts': "import { r } from './records';\nexport const g = () => r;\n",
      'src/domain/records.ts':
        "import type { g } from './group';\nexport const r = 1; export type G = typeof g;\n",
    });
    expect(violations).toEqual([
      'src/domain/ has an import cycle: src/domain/group.ts -> src/domain/records.ts -> src/domain/group.ts',
    ]);
  });

  it('exits 1 with the violations from the command line, 0 with an OK summary', () => {
    const bad = makeTree({ ...CLEAN, 'src/domain/x.ts': "import 'pg';\n" });
    const failed = spawnSync(process.execPath, [SCRIPT, bad], { encoding: 'utf8' });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('src/domain/x.ts:1');

    const good = makeTree(CLEAN);
    const passed = spawnSync(process.execPath, [SCRIPT, good], { encoding: 'utf8' });
    expect(passed.status).toBe(0);
    expect(passed.stdout).toMatch(/OK.*12 file/);
  });

  it('finds no violation in this repository', () => {
    expect(checkLayers(path.resolve(__dirname, '../..'))).toEqual([]);
  });
});
