/**
 * `npm run bench:uploads`: what concurrent uploads of a 40-megapixel PNG cost a real server — its peak RSS, its
 * CPU time and the wall time until the last answer — with the limits off and at their defaults, in the same run.
 * Each configuration runs in a fresh server process (so its peak RSS is its own); this process makes the image
 * (a 6000 × 6666 gradient, about 3 MB of PNG that decodes to 120 MB of pixels) and sends the uploads over HTTP.
 *
 * Scenarios:
 * - `spread`: `--uploads` (16) at once from `--users` (8) users — within the per-user limits, so only the decode
 *   bound of `SharpImageProcessor` differs: `maxConcurrent: 1000` against the default 2.
 * - `one-user`: 64 at once from one user, the report that started this: every limit off (decode bound, uploads in
 *   flight, bytes per minute) against the defaults (2 decode, 2 in flight per user; the rest get 429 at once).
 *
 *   npm run bench:uploads -- [--uploads 16] [--users 8] [--scenarios spread,one-user] [--interlaced]
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ChatSystem } from 'chat-room';
import type { UploadLimits } from 'chat-room/server';
import { createChatServer } from 'chat-room/server';
import { SharpImageProcessor } from 'chat-room/sharp';
import { createTokenAuth } from 'chat-room/ws';

/** What the server process is started with. */
interface ServerConfig {
  readonly secret: string;
  readonly users: number;
  readonly maxConcurrent: number;
  readonly uploadLimits: UploadLimits;
}

type ServerMessage =
  { type: 'ready'; port: number; rssMiB: number } | { type: 'report'; maxRssMiB: number; cpuMs: number };

interface Row {
  readonly scenario: string;
  readonly config: string;
  readonly created: number;
  /** 429, or a connection the server closed after refusing (the client was still sending the body). */
  readonly refused: number;
  readonly wallMs: number;
  readonly idleRssMiB: number;
  readonly maxRssMiB: number;
  readonly cpuMs: number;
}

const OFF: UploadLimits = { maxInFlightPerUser: 1_000, maxBytesPerMinutePerUser: 2 ** 40 };

// ---------------------------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------------------------

async function serve(config: ServerConfig): Promise<void> {
  const chat = ChatSystem.create({
    imageProcessor: new SharpImageProcessor({ maxConcurrent: config.maxConcurrent }),
  });
  for (let i = 0; i < config.users; i++) chat.registerUser({ id: `user-${i}`, name: `User ${i}` });
  const server = await createChatServer({
    system: chat,
    auth: createTokenAuth({ secret: config.secret }).verify,
    uploadLimits: config.uploadLimits,
  });
  const send = (message: ServerMessage): void => void process.send?.(message);
  send({ type: 'ready', port: server.port, rssMiB: process.memoryUsage().rss / 2 ** 20 });
  process.on('message', (message) => {
    if (message !== 'report') return;
    const usage = process.resourceUsage(); // maxRSS in KiB, CPU times in µs
    send({
      type: 'report',
      maxRssMiB: usage.maxRSS / 1024,
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    });
    void server
      .close()
      .then(() => chat.close())
      .then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// This process: the image, the uploads, the table
// ---------------------------------------------------------------------------------------------------------------

/**
 * A 6000 × 6666 RGB gradient as PNG: 39,996,000 pixels, just under the default 40-megapixel limit. Interlaced
 * (Adam7), libvips cannot stream it: each decode then holds the whole 120 MB of pixels, an attacker's best choice.
 */
async function bigPng(interlaced: boolean): Promise<Buffer> {
  const [width, height] = [6000, 6666];
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      raw[at] = (x * 255) / width;
      raw[at + 1] = (y * 255) / height;
      raw[at + 2] = ((x + y) * 255) / (width + height);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png({ progressive: interlaced })
    .toBuffer();
}

function next(child: ChildProcess, type: ServerMessage['type']): Promise<ServerMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ServerMessage): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null): void => reject(new Error(`the server exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function run(
  scenario: string,
  label: string,
  config: ServerConfig,
  png: Buffer,
  uploads: number,
  users: number,
): Promise<Row> {
  // ts-node in the child too (tsconfig.json's `ts-node` section registers the `chat-room` paths).
  const child = fork(__filename, ['--serve', JSON.stringify(config)], {
    execArgv: ['-r', 'ts-node/register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = (await next(child, 'ready')) as Extract<ServerMessage, { type: 'ready' }>;
    const tokens = createTokenAuth({ secret: config.secret });
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: uploads }, async (_, i) => {
        try {
          const response = await fetch(`http://127.0.0.1:${ready.port}/media`, {
            method: 'POST',
            headers: {
              Authorization: `Bearer ${tokens.sign(`user-${i % users}`)}`,
              'Content-Type': 'image/png',
            },
            body: png,
          });
          await response.arrayBuffer();
          return response.status;
        } catch {
          // A refusal answered before the body was read closes the connection under the body being sent.
          return 0;
        }
      }),
    );
    const wallMs = performance.now() - started;
    child.send('report');
    const report = (await next(child, 'report')) as Extract<ServerMessage, { type: 'report' }>;
    return {
      scenario,
      config: label,
      created: statuses.filter((s) => s === 201).length,
      refused: statuses.filter((s) => s !== 201).length,
      wallMs,
      idleRssMiB: ready.rssMiB,
      maxRssMiB: report.maxRssMiB,
      cpuMs: report.cpuMs,
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      uploads: { type: 'string', default: '16' },
      users: { type: 'string', default: '8' },
      scenarios: { type: 'string', default: 'spread,one-user' },
      interlaced: { type: 'boolean', default: false },
    },
  });
  const uploads = Number(values.uploads);
  const users = Number(values.users);
  const scenarios = values.scenarios.split(',');
  const secret = randomBytes(32).toString('hex');
  const png = await bigPng(values.interlaced);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `machine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
      `Node ${process.version}, libvips ${sharp.versions.vips} with ${sharp.concurrency()} threads per image`,
  );
  const kind = values.interlaced ? 'interlaced PNG' : 'PNG';
  console.log(`image: 6000 × 6666 ${kind}, ${(png.length / 2 ** 20).toFixed(1)} MiB\n`);

  const rows: Row[] = [];
  if (scenarios.includes('spread')) {
    const name = `${uploads} uploads from ${users} users`;
    for (const [label, maxConcurrent] of [
      ['maxConcurrent: 1000', 1_000],
      ['default (maxConcurrent: 2)', 2],
    ] as const) {
      rows.push(
        await run(name, label, { secret, users, maxConcurrent, uploadLimits: {} }, png, uploads, users),
      );
    }
  }
  if (scenarios.includes('one-user')) {
    const name = '64 uploads from one user';
    rows.push(
      await run(
        name,
        'every limit off',
        { secret, users: 1, maxConcurrent: 1_000, uploadLimits: OFF },
        png,
        64,
        1,
      ),
    );
    rows.push(
      await run(name, 'defaults', { secret, users: 1, maxConcurrent: 2, uploadLimits: {} }, png, 64, 1),
    );
  }

  console.log('| scenario | server | 201 | refused | wall | server CPU | RSS idle | peak RSS |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.config} | ${r.created} | ${r.refused} | ${(r.wallMs / 1000).toFixed(1)} s | ` +
        `${(r.cpuMs / 1000).toFixed(1)} s | ${r.idleRssMiB.toFixed(0)} MiB | ${r.maxRssMiB.toFixed(0)} MiB |`,
    );
  }
}

if (process.argv[2] === '--serve') {
  void serve(JSON.parse(process.argv[3] ?? '{}') as ServerConfig);
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
