/**
 * Charts presence pushes per second against the number of users, one line per fanout policy, on log-log axes:
 * runs the simulator (bench/presence/sim.ts) for 1k … 100k users with 200 friends, records the figures in
 * docs/presence-results.json, and draws docs/presence-pushes.svg (hand-written SVG, no dependencies).
 *
 *   npm run presence:chart                                       # simulate every size, write both files
 *   npm run presence:chart -- --from docs/presence-results.json  # redraw the SVG from recorded figures
 *
 * Options: `--users` (comma list, default 1000,2000,5000,10000,20000,50000,100000), `--friends` (200),
 * `--minutes` (10), `--seed` (1), `--jobs` (as for the simulator), `--from` (a results file to draw from,
 * without simulating), `--results` (where to write the results, default docs/presence-results.json), `--svg`
 * (where to write the chart, default docs/presence-pushes.svg).
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SimResult } from './sim';
import { simulate } from './sim';

/** The sizes charted by default. */
export const CHART_USERS: readonly number[] = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000];

/** What docs/presence-results.json holds. */
export interface ResultsFile {
  /** The command that wrote it. */
  readonly generatedBy: string;
  /** One simulator run per size. */
  readonly runs: readonly SimResult[];
}

/** One policy's line: pushes per second at each size. */
export interface ChartSeries {
  readonly policy: string;
  readonly points: readonly { readonly users: number; readonly pushesPerSecond: number }[];
}

/**
 * The lines to draw, one per policy, from simulator runs.
 *
 * @param runs - runs at several sizes
 */
export function seriesOf(runs: readonly SimResult[]): ChartSeries[] {
  const policies = [...new Set(runs.flatMap((r) => r.policies.map((p) => p.policy)))];
  const sorted = [...runs].sort((a, b) => a.params.users - b.params.users);
  return policies.map((policy) => ({
    policy,
    points: sorted.flatMap((run) => {
      const figures = run.policies.find((p) => p.policy === policy);
      return figures === undefined
        ? []
        : [{ users: run.params.users, pushesPerSecond: figures.pushesPerSecond }];
    }),
  }));
}

const WIDTH = 800;
const HEIGHT = 500;
const PLOT = { left: 80, right: 610, top: 50, bottom: 420 };
/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
const COLOURS = ['#D55E00', '#E69F00', '#009E73', '#0072B2', '#CC79A7', '#56B4E9', '#000000'];
const DASHES = ['', '8 4', '2 3', '10 3 2 3', ''];

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `1k`, `20k`, `0.1`: a short label for a power-of-ten-ish value. */
function shortNumber(x: number): string {
  if (x >= 1e6) return `${x / 1e6}M`;
  if (x >= 1e3) return `${x / 1e3}k`;
  return String(Number(x.toPrecision(3)));
}

/**
 * Draws pushes per second against users, log-log, one path per series, with a legend.
 *
 * @param series - the lines (points with a value ≤ 0 are left out: a log axis cannot show them)
 * @param subtitle - a line under the title (the workload)
 * @returns the SVG document
 */
export function renderChart(series: readonly ChartSeries[], subtitle = ''): string {
  const points = series.flatMap((s) => s.points).filter((p) => p.users > 0 && p.pushesPerSecond > 0);
  const xs = points.map((p) => p.users);
  const ys = points.map((p) => p.pushesPerSecond);
  const xMin = 10 ** Math.floor(Math.log10(Math.min(...xs, 1_000)));
  const xMax = 10 ** Math.ceil(Math.log10(Math.max(...xs, 10_000)));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 10)));
  const x = (v: number): number =>
    PLOT.left + ((Math.log10(v) - Math.log10(xMin)) / Math.log10(xMax / xMin)) * (PLOT.right - PLOT.left);
  const y = (v: number): number =>
    PLOT.bottom - ((Math.log10(v) - Math.log10(yMin)) / Math.log10(yMax / yMin)) * (PLOT.bottom - PLOT.top);
  const f = (v: number): string => v.toFixed(1);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">` +
      `Presence pushes per second by fanout policy</text>`,
  ];
  if (subtitle !== '') {
    out.push(`<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#444444">${escape(subtitle)}</text>`);
  }

  // Grid and ticks: every decade labelled, 2× and 5× as minor lines (x: labelled too).
  out.push('<g stroke-width="1">');
  for (let decade = xMin; decade <= xMax; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const v = decade * m;
      if (v > xMax) break;
      const px = f(x(v));
      out.push(
        `<line x1="${px}" y1="${PLOT.top}" x2="${px}" y2="${PLOT.bottom}" stroke="${m === 1 ? '#cccccc' : '#eeeeee'}"/>`,
        `<text x="${px}" y="${PLOT.bottom + 18}" text-anchor="middle" stroke="none"` +
          `${m === 1 ? '' : ' fill="#666666"'}>${shortNumber(v)}</text>`,
      );
    }
  }
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const v = decade * m;
      if (v > yMax) break;
      const py = f(y(v));
      out.push(
        `<line x1="${PLOT.left}" y1="${py}" x2="${PLOT.right}" y2="${py}" stroke="${m === 1 ? '#cccccc' : '#eeeeee'}"/>`,
      );
      if (m === 1) {
        out.push(
          `<text x="${PLOT.left - 8}" y="${f(y(v) + 4)}" text-anchor="end" stroke="none">${shortNumber(v)}</text>`,
        );
      }
    }
  }
  out.push('</g>');
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" ` +
      `fill="none" stroke="#333333"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 44}" text-anchor="middle" font-size="14">users</text>`,
    `<text x="22" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle" font-size="14" ` +
      `transform="rotate(-90 22 ${(PLOT.top + PLOT.bottom) / 2})">pushes per second</text>`,
  );

  // One path per series, its points marked; then the legend.
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const dash = DASHES[i % DASHES.length]!;
    const shown = s.points.filter((p) => p.users > 0 && p.pushesPerSecond > 0);
    const d = shown
      .map((p, k) => `${k === 0 ? 'M' : 'L'}${f(x(p.users))} ${f(y(p.pushesPerSecond))}`)
      .join(' ');
    out.push(
      `<path class="series" data-policy="${escape(s.policy)}" d="${d}" fill="none" stroke="${colour}" ` +
        `stroke-width="2.5"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`,
    );
    for (const p of shown) {
      out.push(`<circle cx="${f(x(p.users))}" cy="${f(y(p.pushesPerSecond))}" r="3.5" fill="${colour}"/>`);
    }
  });
  const legendX = PLOT.right + 20;
  out.push(`<text x="${legendX}" y="${PLOT.top + 12}" font-weight="bold">policy</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const dash = DASHES[i % DASHES.length]!;
    const ly = PLOT.top + 36 + i * 24;
    out.push(
      `<line x1="${legendX}" y1="${ly}" x2="${legendX + 34}" y2="${ly}" stroke="${colour}" stroke-width="2.5"` +
        `${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`,
      `<circle cx="${legendX + 17}" cy="${ly}" r="3.5" fill="${colour}"/>`,
      `<text x="${legendX + 42}" y="${ly + 4}">${escape(s.policy)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}

/**
 * The subtitle for a set of runs: what they share.
 *
 * @param runs - the runs charted
 */
export function subtitleOf(runs: readonly SimResult[]): string {
  const first = runs[0];
  if (first === undefined) return '';
  const { friends, minutes, seed, warmupMinutes } = first.params;
  return (
    `${friends} friends on average, ${minutes} min measured after ${warmupMinutes} min warm-up, seed ${seed} ` +
    '(bench/presence/sim.ts)'
  );
}

/** Formats JSON as the repository's Prettier would, so `prettier --check` stays clean after a rerun. */
async function prettyJson(file: string, value: unknown): Promise<string> {
  // Loaded here, not at the top: Prettier's CommonJS entry starts a dynamic import that Jest cannot run.
  const { format, resolveConfig } = await import('prettier');
  const config = (await resolveConfig(file)) ?? {};
  return format(JSON.stringify(value, null, 2), { ...config, filepath: file });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      users: { type: 'string', default: CHART_USERS.join(',') },
      friends: { type: 'string', default: '200' },
      minutes: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      jobs: { type: 'string', default: String(availableParallelism()) },
      from: { type: 'string' },
      results: { type: 'string', default: 'docs/presence-results.json' },
      svg: { type: 'string', default: 'docs/presence-pushes.svg' },
    },
    strict: true,
  });
  let runs: readonly SimResult[];
  if (values.from !== undefined) {
    runs = (JSON.parse(readFileSync(values.from, 'utf8')) as ResultsFile).runs;
  } else {
    const users = values.users.split(',').map(Number);
    const started = performance.now();
    const done: SimResult[] = [];
    for (const n of users) {
      const t = performance.now();
      done.push(
        await simulate({
          users: n,
          friends: Number(values.friends),
          minutes: Number(values.minutes),
          seed: Number(values.seed),
          jobs: Number(values.jobs),
        }),
      );
      process.stderr.write(
        `[presence:chart] ${n} users in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
      );
    }
    runs = done;
    const file: ResultsFile = {
      generatedBy:
        `npm run presence:chart -- --users ${users.join(',')} --friends ${values.friends} ` +
        `--minutes ${values.minutes} --seed ${values.seed}`,
      runs,
    };
    writeFileSync(values.results, await prettyJson(resolve(values.results), file));
    process.stderr.write(
      `[presence:chart] wrote ${values.results} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
  writeFileSync(values.svg, renderChart(seriesOf(runs), subtitleOf(runs)));
  process.stderr.write(`[presence:chart] wrote ${values.svg}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
