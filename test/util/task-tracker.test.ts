import { TaskTracker } from '../../src/util/task-tracker';

/** A promise and the means to settle it from outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('TaskTracker', () => {
  it('is idle at once with nothing in flight', async () => {
    const tasks = new TaskTracker();
    await expect(tasks.idle()).resolves.toBeUndefined();
    expect(tasks.size).toBe(0);
  });

  it('waits for every tracked task, and for one a finishing task starts while it waits', async () => {
    const tasks = new TaskTracker();
    const first = deferred();
    const second = deferred();
    const late = deferred();
    tasks.track(first.promise);
    // When the second settles, its continuation starts another task before the system is quiet.
    tasks.track(second.promise.then(() => void tasks.track(late.promise)));
    expect(tasks.size).toBe(2);
    let idle = false;
    const waiting = tasks.idle().then(() => (idle = true));
    first.resolve();
    second.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    expect(tasks.size).toBe(1);
    late.resolve();
    await waiting;
    expect(idle).toBe(true);
    expect(tasks.size).toBe(0);
  });

  it('counts a rejected task as settled and leaves the rejection to the caller', async () => {
    const tasks = new TaskTracker();
    const failing = deferred();
    const tracked = tasks.track(failing.promise);
    expect(tracked).toBe(failing.promise);
    failing.reject(new Error('boom'));
    await expect(tracked).rejects.toThrow('boom');
    await tasks.idle();
    expect(tasks.size).toBe(0);
  });
});
