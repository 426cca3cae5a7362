import type { TimerHandle } from 'chat-room';
import { ManualClock, seededRandom, ValidationError } from 'chat-room';

describe('ManualClock', () => {
  it('shows the start time and moves only when advanced', () => {
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
    expect(new ManualClock().now()).toBe(0);
  });

  it('runs timers in due order, each at its due time', () => {
    const clock = new ManualClock(0);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`c@${clock.now()}`), 300);
    clock.setTimeout(() => ran.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => ran.push(`b@${clock.now()}`), 200);
    clock.advance(1_000);
    expect(ran).toEqual(['a@100', 'b@200', 'c@300']);
    expect(clock.now()).toBe(1_000);
  });

  it('runs timers due at the same time in the order they were set', () => {
    const clock = new ManualClock(0);
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) clock.setTimeout(() => ran.push(i), 50);
    clock.advance(50);
    expect(ran).toEqual([0, 1, 2, 3, 4]);
  });

  it('runs nothing before it is due, and a timer due exactly at the end runs', () => {
    const clock = new ManualClock(0);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push('due'), 100);
    clock.advance(99);
    expect(ran).toEqual([]);
    expect(clock.pending).toBe(1);
    clock.advance(1);
    expect(ran).toEqual(['due']);
    expect(clock.pending).toBe(0);
  });

  it('runs each timer once', () => {
    const clock = new ManualClock(0);
    let runs = 0;
    clock.setTimeout(() => runs++, 10);
    clock.advance(10);
    clock.advance(10_000);
    expect(runs).toBe(1);
  });

  it('runs a timer set during advance if it falls due before the end', () => {
    const clock = new ManualClock(0);
    const ran: string[] = [];
    clock.setTimeout(() => {
      ran.push(`outer@${clock.now()}`);
      clock.setTimeout(() => ran.push(`inner@${clock.now()}`), 50);
      clock.setTimeout(() => ran.push(`late@${clock.now()}`), 500);
    }, 100);
    clock.setTimeout(() => ran.push(`other@${clock.now()}`), 200);
    clock.advance(300);
    expect(ran).toEqual(['outer@100', 'inner@150', 'other@200']);
    clock.advance(300);
    expect(ran).toEqual(['outer@100', 'inner@150', 'other@200', 'late@600']);
  });

  it('a timer set for 0 ms inside a callback runs in the same advance, at that moment', () => {
    const clock = new ManualClock(0);
    const ran: string[] = [];
    clock.setTimeout(() => clock.setTimeout(() => ran.push(`now@${clock.now()}`), 0), 40);
    clock.advance(40);
    expect(ran).toEqual(['now@40']);
  });

  it('clearTimeout cancels a timer; cancelling again or after it ran does nothing', () => {
    const clock = new ManualClock(0);
    const ran: string[] = [];
    const a = clock.setTimeout(() => ran.push('a'), 100);
    const b = clock.setTimeout(() => ran.push('b'), 100);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    clock.advance(100);
    expect(ran).toEqual(['b']);
    clock.clearTimeout(b);
    clock.advance(100);
    expect(ran).toEqual(['b']);
    expect(clock.pending).toBe(0);
  });

  it('counts pending timers, whatever is cancelled twice, cancelled after running or not a timer at all', () => {
    const clock = new ManualClock(0);
    const a = clock.setTimeout(() => undefined, 10);
    const b = clock.setTimeout(() => undefined, 20);
    clock.setTimeout(() => undefined, 30);
    expect(clock.pending).toBe(3);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    expect(clock.pending).toBe(2);
    clock.advance(20);
    expect(clock.pending).toBe(1);
    clock.clearTimeout(b);
    clock.clearTimeout({});
    expect(clock.pending).toBe(1);
    clock.advance(10);
    expect(clock.pending).toBe(0);
  });

  it('a callback can cancel a later timer before it falls due', () => {
    const clock = new ManualClock(0);
    const ran: string[] = [];
    const later = clock.setTimeout(() => ran.push('later'), 200);
    clock.setTimeout(() => clock.clearTimeout(later), 100);
    clock.advance(1_000);
    expect(ran).toEqual([]);
  });

  it('refuses to go back in time', () => {
    const clock = new ManualClock(500);
    expect(() => clock.advance(-1)).toThrow(ValidationError);
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(ValidationError);
    expect(() => clock.advance(Number.NaN)).toThrow(ValidationError);
    expect(clock.now()).toBe(500);
  });

  it.each([1, 7, 99])(
    'seed %i: thousands of timers set, cancelled and advanced at random run as a sorted list would',
    (seed) => {
      const random = seededRandom(seed);
      const clock = new ManualClock(0);
      const ran: Array<{ id: number; at: number }> = [];
      // The model: every timer with its due time and set order; a timer runs at most once, in (due, order) order.
      const model = new Map<number, { due: number; handle: TimerHandle }>();
      const expected: Array<{ id: number; at: number }> = [];
      let nextId = 0;
      const schedule = (delay: number): void => {
        const id = nextId++;
        const due = clock.now() + delay;
        const handle = clock.setTimeout(() => {
          ran.push({ id, at: clock.now() });
          // Timers set from inside a callback must be honoured too.
          if (random() < 0.2) schedule(Math.floor(random() * 30));
        }, delay);
        model.set(id, { due, handle });
      };
      for (let step = 0; step < 3000; step++) {
        const op = random();
        if (op < 0.55) schedule(Math.floor(random() * 200));
        else if (op < 0.7 && model.size > 0) {
          const ids = [...model.keys()];
          const id = ids[Math.floor(random() * ids.length)] as number;
          clock.clearTimeout((model.get(id) as { handle: TimerHandle }).handle);
          model.delete(id);
        } else {
          const end = clock.now() + Math.floor(random() * 60);
          // Run the model: drain what falls due, in (due, id) order; callbacks may add more as they run.
          const before = ran.length;
          clock.advance(end - clock.now());
          for (;;) {
            const due = [...model.entries()]
              .filter(([, t]) => t.due <= end)
              .sort(([ia, a], [ib, b]) => a.due - b.due || ia - ib)[0];
            if (due === undefined) break;
            expected.push({ id: due[0], at: due[1].due });
            model.delete(due[0]);
          }
          expect(ran.slice(before)).toEqual(expected.slice(before));
          expect(clock.now()).toBe(end);
        }
        expect(clock.pending).toBe(model.size);
      }
      expect(ran.length).toBeGreaterThan(500);
    },
  );
});
