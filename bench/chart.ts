/**
 * The benchmark results file (docs/benchmarks-results.json) and its charts: `bench:server` and `bench:memory`
 * each write their section, then redraw docs/benchmarks-throughput.svg (messages per second, and p99 latency at
 * the paced rate) and docs/benchmarks-memory.svg (heap and RSS per idle connection). Hand-written SVG, no
 * dependencies, as bench/presence/chart.ts.
 *
 *   npx ts-node bench/chart.ts            # redraw both charts from docs/benchmarks-results.json
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One server's figures in a throughput or paced run (medians over the rounds). */
export interface LoadSummary {
  readonly server: string;
  readonly deliveredPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpu: number;
  readonly loadCpu: number;
  /** The server's write system calls per delivered message (NaN where the system does not count them). */
  readonly serverWritesPerMessage?: number;
  /** Bytes the server allocated on its heap per delivered message. */
  readonly serverAllocatedPerMessage?: number;
  /** How late the server's event loop ran (ms past due: p99.9 of a 1 ms timer and the worst; paced only). */
  readonly serverLoopP999Ms?: number;
  readonly serverLoopMaxMs?: number;
  /** How late the load generator's event loop ran (p99.9, ms; paced only). */
  readonly loadLoopP999Ms?: number;
  readonly errors: number;
}

/** One server's memory per idle connection. */
export interface MemorySummary {
  readonly server: string;
  readonly connections: number;
  readonly heapPerConnection: number;
  readonly rssPerConnection: number;
  readonly baselineHeap: number;
  readonly baselineRss: number;
}

/** A section: what was run, where, and the figures. */
export interface Section<T> {
  readonly command: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly node: string;
    readonly pinned: boolean;
  };
  readonly date: string;
  readonly params: Record<string, number | string>;
  readonly summary: readonly T[];
  readonly runs?: readonly unknown[];
}

/** What docs/benchmarks-results.json holds. */
export interface BenchResults {
  throughput?: Section<LoadSummary>;
  paced?: Section<LoadSummary>;
  memory?: Section<MemorySummary>;
}

const DOCS = resolve(__dirname, '..', 'docs');
export const RESULTS_FILE = join(DOCS, 'benchmarks-results.json');

/** Display names of the server kinds. */
export const LABELS: Record<string, string> = {
  'ours-memory': 'chat-room (memory)',
  'ours-sqlite': 'chat-room (SQLite)',
  socketio: 'Socket.IO',
  ws: 'raw ws',
  'ws-history': 'raw ws + history',
  'ws-sqlite': 'raw ws + SQLite',
  'ws-receipts': 'raw ws + receipts',
};
const COLOURS: Record<string, string> = {
  'ours-memory': '#0072B2',
  'ours-sqlite': '#56B4E9',
  socketio: '#E69F00',
  ws: '#009E73',
  'ws-history': '#CC79A7',
  'ws-sqlite': '#D55E00',
  'ws-receipts': '#F0E442',
};

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A group of horizontal bars: one panel of a chart. */
interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly { readonly server: string; readonly value: number; readonly label: string }[];
}

/**
 * Draws panels of horizontal bars, one bar per server, side by side.
 *
 * @param title - the chart's title
 * @param subtitle - a line under it
 * @param panels - the panels, left to right
 * @returns the SVG document
 */
export function renderBars(title: string, subtitle: string, panels: readonly Panel[]): string {
  const panelWidth = 380;
  const labelWidth = 150;
  const barHeight = 26;
  const gap = 12;
  const top = 96;
  const rows = Math.max(1, ...panels.map((p) => p.bars.length));
  const width = 20 + panels.length * panelWidth;
  const height = top + rows * (barHeight + gap) + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      'font-family="Helvetica, Arial, sans-serif" font-size="13">',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${escape(title)}</text>`,
    `<text x="${width / 2}" y="40" text-anchor="middle" fill="#444444">${escape(subtitle)}</text>`,
  ];
  panels.forEach((panel, p) => {
    const x0 = 10 + p * panelWidth;
    const barX = x0 + labelWidth;
    const barMax = panelWidth - labelWidth - 70;
    const max = Math.max(...panel.bars.map((b) => b.value), 1e-9);
    out.push(
      `<text x="${x0 + panelWidth / 2}" y="${top - 26}" text-anchor="middle" font-weight="bold">` +
        `${escape(panel.title)}</text>`,
      `<text x="${x0 + panelWidth / 2}" y="${top - 10}" text-anchor="middle" fill="#444444">` +
        `${escape(panel.unit)}</text>`,
    );
    panel.bars.forEach((bar, i) => {
      const y = top + i * (barHeight + gap);
      const w = Math.max(1, (bar.value / max) * barMax);
      out.push(
        `<text x="${barX - 8}" y="${y + barHeight / 2 + 4}" text-anchor="end">${escape(LABELS[bar.server] ?? bar.server)}</text>`,
        `<rect class="bar" data-server="${escape(bar.server)}" x="${barX}" y="${y}" width="${w.toFixed(1)}" ` +
          `height="${barHeight}" fill="${COLOURS[bar.server] ?? '#999999'}"/>`,
        `<text x="${(barX + w + 6).toFixed(1)}" y="${y + barHeight / 2 + 4}">${escape(bar.label)}</text>`,
      );
    });
  });
  out.push('</svg>', '');
  return out.join('\n');
}

const thousands = (x: number): string => `${(x / 1000).toFixed(1)}k`;
const kib = (x: number): string => `${(x / 1024).toFixed(1)} KiB`;
/** Three significant figures at most, so a long bar's label stays inside the panel. */
const ms = (x: number): string => `${x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2)} ms`;

/** The throughput chart: messages per second (load) and p99 at the paced rate, if measured. */
export function throughputChart(results: BenchResults): string | undefined {
  const load = results.throughput;
  if (load === undefined) return undefined;
  const panels: Panel[] = [
    {
      title: 'delivered messages per second',
      unit: 'higher is better',
      bars: load.summary.map((s) => ({
        server: s.server,
        value: s.deliveredPerSecond,
        label: thousands(s.deliveredPerSecond),
      })),
    },
    {
      title: 'p99 latency under load',
      unit: 'ms, lower is better',
      bars: load.summary.map((s) => ({
        server: s.server,
        value: s.p99Ms,
        label: `${s.p99Ms.toFixed(0)} ms`,
      })),
    },
  ];
  const paced = results.paced;
  if (paced !== undefined) {
    panels.push({
      title: `p99 at ${paced.params.rate} msg/s`,
      unit: 'ms, lower is better',
      bars: paced.summary.map((s) => ({
        server: s.server,
        value: s.p99Ms,
        label: ms(s.p99Ms),
      })),
    });
  }
  const p = load.params;
  return renderBars(
    'chat-room against Socket.IO and a raw ws relay: 1:1 messages',
    `${p.clients} clients in pairs, ${p.inFlight} in flight each, ${p.textBytes}-byte texts, median of ${p.rounds} ` +
      `rounds × ${p.seconds} s — ${load.machine.cpu}, Node ${load.machine.node}`,
    panels,
  );
}

/** The memory chart: heap and RSS per idle connection. */
export function memoryChart(results: BenchResults): string | undefined {
  const memory = results.memory;
  if (memory === undefined) return undefined;
  return renderBars(
    'Memory per idle connection',
    `${memory.params.connections} idle WebSocket connections, after forced GC — ${memory.machine.cpu}, Node ${memory.machine.node}`,
    [
      {
        title: 'heap per connection',
        unit: 'lower is better',
        bars: memory.summary.map((s) => ({
          server: s.server,
          value: s.heapPerConnection,
          label: kib(s.heapPerConnection),
        })),
      },
      {
        title: 'RSS per connection',
        unit: 'lower is better',
        bars: memory.summary.map((s) => ({
          server: s.server,
          value: s.rssPerConnection,
          label: kib(s.rssPerConnection),
        })),
      },
    ],
  );
}

/** Formats JSON as the repository's Prettier would, so `prettier --check` stays clean after a rerun. */
async function prettyJson(file: string, value: unknown): Promise<string> {
  const { format, resolveConfig } = await import('prettier');
  const config = (await resolveConfig(file)) ?? {};
  return format(JSON.stringify(value, null, 2), { ...config, filepath: file });
}

/** Reads the results file (empty if absent). */
export function readResults(file = RESULTS_FILE): BenchResults {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BenchResults) : {};
}

/** Redraws the charts from the results. */
export function drawCharts(results: BenchResults): void {
  const throughput = throughputChart(results);
  if (throughput !== undefined) writeFileSync(join(DOCS, 'benchmarks-throughput.svg'), throughput);
  const memory = memoryChart(results);
  if (memory !== undefined) writeFileSync(join(DOCS, 'benchmarks-memory.svg'), memory);
}

/** Writes sections into the results file (keeping the others) and redraws the charts. */
export async function recordResults(sections: BenchResults, file = RESULTS_FILE): Promise<void> {
  const results = { ...readResults(file), ...sections };
  writeFileSync(file, await prettyJson(file, results));
  drawCharts(results);
}

if (require.main === module) drawCharts(readResults());
