#!/usr/bin/env node
/**
 * The `chat-room` command. Runs the compiled CLI (`dist/cli/main.js`); in a checkout without a build (or with
 * CHAT_ROOM_FROM_SOURCE=1) it runs `src/cli/main.ts` through ts-node, a dev dependency.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'cli', 'main.js');
const source = path.join(root, 'src', 'cli', 'main.ts');

let cli;
if (fs.existsSync(compiled) && process.env.CHAT_ROOM_FROM_SOURCE !== '1') {
  cli = require(compiled);
} else if (fs.existsSync(source)) {
  require('ts-node').register({ project: path.join(root, 'tsconfig.json'), transpileOnly: true });
  cli = require(source);
} else {
  process.stderr.write('chat-room: dist/cli/main.js is missing; run "npm run build"\n');
  process.exit(1);
}
void cli.main(process.argv.slice(2));
