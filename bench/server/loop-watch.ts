/**
 * How late an event loop runs: a 1 ms timer's delays (`monitorEventLoopDelay`), in the server host and in the load
 * generator, so a paced run says whose stalls make its latency tail.
 *
 * @module
 */
import type { IntervalHistogram } from 'node:perf_hooks';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 1;

/**
 * How late a 1 ms timer ran, in ms past its due time: the stalls of an event loop (a collection, a long callback,
 * the core lent to another thread).
 */
export interface LoopDelay {
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** Watches an event loop from one call to the next: each call returns what the previous one started watching. */
export class LoopWatch {
  #histogram: IntervalHistogram | undefined;

  /**
   * Ends the current watch, if any, and returns what it saw; with `again`, starts a new one.
   *
   * @param again - whether to go on watching
   */
  next(again: boolean): LoopDelay | undefined {
    const h = this.#histogram;
    this.#histogram = undefined;
    let seen: LoopDelay | undefined;
    if (h !== undefined) {
      h.disable();
      // The histogram holds the time between two runs of the timer; its period is not a stall.
      const late = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
      seen = { p999Ms: late(h.percentile(99.9)), maxMs: late(h.max) };
    }
    if (again) {
      this.#histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      this.#histogram.enable();
    }
    return seen;
  }
}
