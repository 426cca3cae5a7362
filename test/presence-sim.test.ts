/**
 * The presence simulator (bench/presence): deterministic for a seed, the policies in the order of their cost,
 * the chart renderer drawing one line per policy, and docs/presence.md showing exactly the recorded figures.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PRESENCE_POLICIES } from 'chat-room';
import type { ResultsFile } from '../bench/presence/chart';
import { renderChart } from '../bench/presence/chart';
import type { SimOptions, SimResult } from '../bench/presence/sim';
import { TABLE_HEADER, formulaLine, simulate, tableRows } from '../bench/presence/sim';
import { buildFriendGraph, maySee } from '../bench/presence/workload';

const ROOT = resolve(__dirname, '..');
const SMALL: SimOptions = { users: 1_000, friends: 50, minutes: 5, seed: 1 };
const counters = (r: SimResult): unknown =>
  r.policies.map(({ policy, pushes, frames, bytes }) => ({ policy, pushes, frames, bytes }));

describe('the simulator at 1 000 users × 50 friends × 5 minutes', () => {
  let first: SimResult;
  beforeAll(async () => {
    first = await simulate(SMALL);
  }, 30_000);

  test('gives identical figures for the same seed, and different ones for another seed', async () => {
    const again = await simulate(SMALL);
    expect(again).toEqual(first);
    const other = await simulate({ ...SMALL, seed: 2 });
    expect(counters(other)).not.toEqual(counters(first));
    expect(other.command).toContain('--seed 2');
  }, 30_000);

  test('runs all five policies, and every one of them pushes something', () => {
    expect(first.policies.map((p) => p.policy)).toEqual([...PRESENCE_POLICIES]);
    for (const p of first.policies) expect(p.pushes).toBeGreaterThan(0);
  });

  test('orders the policies by cost: naive ≥ online-friends ≥ batched ≥ debounced ≥ interest pushes', () => {
    const pushes = first.policies.map((p) => p.pushes);
    for (let i = 1; i < pushes.length; i++) expect(pushes[i]).toBeLessThanOrEqual(pushes[i - 1]!);
    expect(Math.min(...pushes)).toBe(first.policies.find((p) => p.policy === 'interest')!.pushes);
    // Batching merges frames; it never adds any.
    const batched = first.policies.find((p) => p.policy === 'batched')!;
    expect(batched.frames).toBeLessThanOrEqual(batched.pushes);
  });

  test("puts the seed's formula beside the measured naive figure, and they agree", () => {
    const f = first.formula!;
    expect(f.friends).toBe(50);
    expect(f.pushesPerSecond).toBeCloseTo(f.friends * f.onlineUsers * f.churn, 6);
    // Every naive change goes to every friend, so the estimate is within a few percent of the measurement.
    expect(Math.abs(f.pushesPerSecond / f.measuredNaivePushesPerSecond - 1)).toBeLessThan(0.1);
    expect(formulaLine(first)).toContain('measured naive');
  });

  test('keeps about 20% of the users online, with 30% of the sessions flaps', () => {
    const share = first.measured.onlineUsers / SMALL.users;
    expect(share).toBeGreaterThan(0.14);
    expect(share).toBeLessThan(0.26);
    const { flaps, sessionsOpened } = first.measured.stats;
    expect(flaps / sessionsOpened).toBeGreaterThan(0.1);
    expect(flaps / sessionsOpened).toBeLessThan(0.5);
    expect(first.graph.averageFriends).toBe(50);
  });

  test('gives the same figures when the policies run in worker threads', async () => {
    const options: SimOptions = { users: 400, friends: 20, minutes: 1, seed: 3, warmupMinutes: 1 };
    const policies = ['naive', 'interest'] as const;
    const inline = await simulate({ ...options, policies });
    const workers = await simulate({ ...options, policies, jobs: 2 });
    expect(workers).toEqual(inline);
  }, 60_000);
});

describe('the friend graph', () => {
  test('is symmetric, without self-friendship or repeats, with the asked average degree', () => {
    const g = buildFriendGraph(300, 20, 7);
    expect(g.friendships).toBe(3_000);
    for (let i = 0; i < g.ids.length; i++) {
      const friends = g.friendIds[i]!;
      expect(new Set(friends).size).toBe(friends.length);
      expect(friends).not.toContain(g.ids[i]);
      for (const f of friends) expect(g.friendIds[Number(f.slice(1))]).toContain(g.ids[i]);
    }
  });

  test('hides only users whose last seen is "nobody" from their friends', () => {
    const g = buildFriendGraph(300, 20, 7);
    for (let i = 0; i < g.ids.length; i++) {
      const friend = g.friendIds[i]![0]!;
      expect(maySee(g, friend, g.ids[i]!)).toBe(g.privacy[i] !== 2);
    }
  });
});

describe('the chart renderer', () => {
  const series = PRESENCE_POLICIES.map((policy, i) => ({
    policy,
    points: [1_000, 10_000, 100_000].map((users) => ({ users, pushesPerSecond: (users / 10) * 0.2 ** i })),
  }));
  const svg = renderChart(series, 'a test');

  test('draws one path per policy, with a legend and labelled axes', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="500"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(PRESENCE_POLICIES.length);
    for (const policy of PRESENCE_POLICIES) {
      expect(svg).toContain(`data-policy="${policy}"`);
      expect(svg).toContain(`>${policy}</text>`);
    }
    expect(svg).toContain('>users</text>');
    expect(svg).toContain('>pushes per second</text>');
  });

  test('leaves out points a log axis cannot show', () => {
    const withZero = renderChart([{ policy: 'interest', points: [{ users: 1_000, pushesPerSecond: 0 }] }]);
    expect(withZero.match(/<path /g)).toHaveLength(1);
    expect(withZero).not.toContain('NaN');
    expect(withZero).not.toContain('Infinity');
  });
});

describe('docs/presence.md', () => {
  const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

  /** The cells of the first Markdown table after `from`. */
  const tableAfter = (doc: string, from: number): string[][] => {
    const lines = doc.slice(from).split('\n');
    const start = lines.findIndex((line) => line.trim().startsWith('|'));
    const rows: string[][] = [];
    for (let i = start; i >= 0 && i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
      if (/^\s*\|[\s:|-]+\|\s*$/.test(lines[i]!)) continue;
      rows.push(
        lines[i]!.trim()
          .replace(/^\||\|$/g, '')
          .split('|')
          .map((cell) => cell.trim()),
      );
    }
    return rows;
  };

  test.each([10_000, 100_000])('shows the recorded figures for %i users with 200 friends', (users) => {
    const doc = read('docs/presence.md');
    const results = JSON.parse(read('docs/presence-results.json')) as ResultsFile;
    const run = results.runs.find((r) => r.params.users === users && r.params.friends === 200);
    expect(run).toBeDefined();
    const at = doc.indexOf(run!.command);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(tableAfter(doc, at)).toEqual([[...TABLE_HEADER], ...tableRows(run!)]);
    expect(doc.slice(at)).toContain(formulaLine(run!));
  });

  test('links the chart', () => {
    expect(read('docs/presence.md')).toMatch(/!\[[^\]]+\]\(presence-pushes\.svg\)/);
  });
});
