import { FramePacer } from '../../src/util/frame-pacer';

const none = (): number => 0;

describe('FramePacer', () => {
  it('after refusing a frame, refuses every other one until that frame comes back, so order holds', () => {
    const pacer = new FramePacer({ frames: 2, perMs: 1_000 }, 0);
    expect(pacer.admit('r1', 0, none)).toBe(0);
    expect(pacer.admit('r2', 0, none)).toBe(0);
    expect(pacer.admit('r3', 0, none)).toBe(500); // the bucket is empty
    // r4 was on its way: at 600 ms a token is there, but r3 must go first.
    expect(pacer.admit('r4', 600, none)).toBeGreaterThan(0);
    expect(pacer.admit('r3', 600, none)).toBe(0);
    expect(pacer.admit('r4', 1_100, none)).toBe(0);
  });

  it('a refused frame without a ref holds nothing up; a frame that never comes back is waited for 5 s', () => {
    const pacer = new FramePacer({ frames: 1, perMs: 1_000 }, 0);
    expect(pacer.admit(undefined, 0, none)).toBe(0);
    expect(pacer.admit(undefined, 0, none)).toBe(1_000);
    expect(pacer.admit('a', 1_000, none)).toBe(0);
    expect(pacer.admit('b', 1_000, none)).toBe(1_000); // refused: now awaited
    expect(pacer.admit('c', 4_000, none)).toBeGreaterThan(0);
    expect(pacer.admit('c', 6_000, none)).toBe(0);
  });

  it('charges the shared budget only when the connection’s own lets the frame through', () => {
    const pacer = new FramePacer({ frames: 1, perMs: 1_000 }, 0);
    let charged = 0;
    const shared = (): number => {
      charged += 1;
      return 0;
    };
    expect(pacer.admit('a', 0, shared)).toBe(0);
    expect(pacer.admit('b', 0, shared)).toBeGreaterThan(0);
    expect(charged).toBe(1);
  });
});
